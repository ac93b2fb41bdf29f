/**
 * Running a workload and the host functions the guests import: what the
 * engines of bench/_engines.ts measure with, in Deno and in the browser
 * (bench/_browser_page.ts), so it imports nothing that needs Deno.
 * @module
 */
import { type Imports, Program } from "../mod.ts";

/** Timings of several runs. */
export interface Timing {
  /** Wall time of each run, ms. */
  times: number[];
  /** Guest instructions per run (rvbox tiers: gas used). */
  instructions?: number;
}

/** The host functions the guests import (the contract workload's `host_inc`). */
export const IMPORTS: Imports = { host_inc: (_ctx, x) => (x + 1) | 0 };
/** The same for the workloads' WebAssembly modules. */
export const WASM_IMPORTS = { env: { host_inc: (x: number) => (x + 1) | 0 } };

/** Throws unless `result` is the self-check's success (0); `what`: engine and workload. */
function check(result: number, what: string): void {
  if (result !== 0) {
    throw new Error(`${what}: the workload failed its self-check (result ${result})`);
  }
}

/**
 * `run(scale)` of the workload in `bytes` (an ELF file) on an rvbox tier,
 * `runs` times after a first run that warms up. Also in the browser
 * (bench/_browser_page.ts).
 */
export function measureRvbox(
  bytes: Uint8Array,
  tier: "interpreter" | "wasm" | "native",
  scale: number,
  runs: number,
  what: string,
): Timing {
  const program = Program.fromBytes(bytes);
  const gas = 1e13;
  const times: number[] = [];
  let instructions = 0;
  for (let k = 0; k <= runs; k++) { // the first run warms up
    using instance = program.instantiate(IMPORTS, { tier, gas });
    const t = performance.now();
    const result = instance.exports.run(scale) as number;
    const ms = performance.now() - t;
    check(result, what);
    instructions = gas - instance.gas;
    if (k > 0) times.push(ms);
  }
  return { times, instructions };
}

/** `run(scale)` of a WebAssembly module as {@linkcode measureRvbox} runs an ELF file. */
export async function measureWasm(
  bytes: Uint8Array<ArrayBuffer>,
  scale: number,
  runs: number,
  what: string,
): Promise<Timing> {
  const module = await WebAssembly.compile(bytes);
  const times: number[] = [];
  for (let k = 0; k <= runs; k++) {
    const instance = new WebAssembly.Instance(module, WASM_IMPORTS);
    const run = instance.exports.run as (scale: number) => number;
    const t = performance.now();
    const result = run(scale);
    const ms = performance.now() - t;
    check(result, what);
    if (k > 0) times.push(ms);
  }
  return { times };
}
