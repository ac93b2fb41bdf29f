/**
 * Runs in a child Deno (e.g. with `--v8-flags=--liftoff-only`) so that V8
 * flags apply to it alone; prints JSON on standard output.
 *
 *   measure <workload> <scale> <runs>   run(scale) timings
 *   cycle                               compile time per module, per-call and host-call costs
 * @module
 */
import { wasmCycle } from "./_cycle.ts";
import { guestBytes, wasmEngine } from "./_engines.ts";
import { type WorkloadName, WORKLOADS } from "./guests/build.ts";

const [command, workload, scale, runs] = Deno.args;
if (command === "measure") {
  const timing = await wasmEngine.measure(workload as WorkloadName, Number(scale), Number(runs));
  console.log(JSON.stringify(timing));
} else if (command === "cycle") {
  console.log(JSON.stringify(await wasmCycle(WORKLOADS.map((w) => guestBytes(w, "wasm")))));
} else {
  console.error("usage: _wasm_child.ts measure <workload> <scale> <runs> | cycle");
  Deno.exit(2);
}
