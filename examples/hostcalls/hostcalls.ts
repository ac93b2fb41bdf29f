/**
 * Runs the hostcalls guest: `deno run --allow-read examples/hostcalls/hostcalls.ts [rv32em|rv32imac]`.
 * @module
 */
import { Program } from "../../mod.ts";

const isa = Deno.args[0] ?? "rv32em";
const program = await Program.fromFile(new URL(`./hostcalls.${isa}.elf`, import.meta.url));

// Arguments arrive as unsigned 32-bit numbers; the result goes back in a0.
let calls = 0;
const instance = program.instantiate({
  host_add: (_ctx, a, b) => {
    calls++;
    return (a + b) >>> 0;
  },
}, { gas: 1_000_000_000 });

// loop(n) returns the sum of 0..n-1, computed by n host calls.
const sum = instance.exports.loop(1000) >>> 0;
console.log(`loop(1000) = ${sum} after ${calls} host calls${sum === 499500 ? "" : " (WRONG)"}`);
if (sum !== 499500) Deno.exitCode = 1;

// main makes a million host calls and checks the sum itself.
calls = 0;
const start = performance.now();
const exitCode = instance.run();
const ms = performance.now() - start;
console.log(`exit code ${exitCode}: ${calls} host calls in ${ms.toFixed(0)} ms`);
if (exitCode !== 0) Deno.exitCode = exitCode;
