/**
 * Runs in a child Deno under `--v8-flags=--jitless` (V8 without its JIT,
 * Ignition bytecode only, as where a process may not map executable memory):
 * times the interpreter, which picks its steps loop there, and prints the
 * timing as JSON.
 *
 *   <workload> <scale> <runs> <rv32em|rv32imac>
 * @module
 */
import { rvboxEngine } from "./_engines.ts";
import type { WorkloadName } from "./guests/build.ts";

const [workload, scale, runs, isa] = Deno.args;
const engine = rvboxEngine("interpreter", isa as "rv32em" | "rv32imac");
console.log(
  JSON.stringify(await engine.measure(workload as WorkloadName, Number(scale), Number(runs))),
);
