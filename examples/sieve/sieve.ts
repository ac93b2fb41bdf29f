/**
 * Runs the sieve guest: `deno run --allow-read examples/sieve/sieve.ts [rv32em|rv32imac]`.
 * @module
 */
import { Program } from "../../mod.ts";

const isa = Deno.args[0] ?? "rv32em";
const program = await Program.fromFile(new URL(`./sieve.${isa}.elf`, import.meta.url));
const instance = program.instantiate({}, { gas: 1_000_000_000 });

// The export reuses the 4 MB array in .bss; results are known values of pi(n).
const known: [number, number][] = [[100, 25], [10_000, 1229], [1_000_000, 78498]];
for (const [n, expected] of known) {
  const count = instance.exports.count_primes(n);
  console.log(
    `count_primes(${n}) = ${count}${count === expected ? "" : ` (WRONG, want ${expected})`}`,
  );
  if (count !== expected) Deno.exitCode = 1;
}
console.log(
  `count_primes(5000000) = ${instance.exports.count_primes(5_000_000)} (above the limit)`,
);

// main sieves up to 4,000,000 and checks the count itself.
const before = instance.gas;
const start = performance.now();
const exitCode = instance.run();
const ms = performance.now() - start;
console.log(`exit code ${exitCode}: ${before - instance.gas} instructions in ${ms.toFixed(0)} ms`);
if (exitCode !== 0) Deno.exitCode = exitCode;
