/**
 * Runs the fib guest: `deno run --allow-read examples/fib/fib.ts [rv32em|rv32imac]`.
 * @module
 */
import { Program } from "../../mod.ts";

const isa = Deno.args[0] ?? "rv32em";
const program = await Program.fromFile(new URL(`./fib.${isa}.elf`, import.meta.url));
const instance = program.instantiate({}, { gas: 1_000_000_000 });

// Call the export directly: arguments go to a0-a5, the result comes from a0.
for (const n of [10, 20, 25]) {
  const before = instance.gas;
  console.log(`fib(${n}) = ${instance.exports.fib(n)} (${before - instance.gas} instructions)`);
}

// Run main as a command: it prints fib(32) and checks it (exit code 1 if wrong).
const before = instance.gas;
const start = performance.now();
const exitCode = instance.run();
const ms = performance.now() - start;
const instructions = before - instance.gas;
console.log(
  `exit code ${exitCode}: ${instructions} instructions in ${ms.toFixed(0)} ms `
    + `(${(instructions / ms / 1000).toFixed(0)} MIPS)`,
);
Deno.exitCode = exitCode;
