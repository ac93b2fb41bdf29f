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

/**
 * How long each engine runs a workload at least before the timed runs (once at the scale of
 * `--quick`). Engines that compile a module in tiers (V8's TurboFan over Liftoff, in the
 * background) reach their steady code after a while that varies by host and load: in headless
 * Chromium the wasm tier's `contract` took 5 runs of 130-165 ms to get there on a quiet machine
 * and 20 under load, against 2 in Deno. So the warm-up also goes on, up to
 * {@linkcode WARM_UP_MAX_MS}, until a run takes at most {@linkcode STEADY} times the fastest so far.
 */
export const WARM_UP_MS = 1000;
/** The longest warm-up. */
export const WARM_UP_MAX_MS = 10_000;
/** How close to the fastest warm-up run the last must be for the warm-up to end. */
export const STEADY = 1.2;

/**
 * `runs` times of `run` (which returns the ms it timed), after warming up with it
 * ({@linkcode WARM_UP_MS}; once at the scale of `--quick`, `runs` 1).
 */
function warmThenTime(runs: number, run: () => number): number[] {
  const start = performance.now();
  const least = start + (runs > 1 ? WARM_UP_MS : 0), most = start + WARM_UP_MAX_MS;
  let fastest = Infinity, last;
  do {
    last = run();
    fastest = Math.min(fastest, last);
  } while (performance.now() < least || (last > STEADY * fastest && performance.now() < most));
  return Array.from({ length: runs }, run);
}

/** Throws unless `result` is the self-check's success (0); `what`: engine and workload. */
function check(result: number, what: string): void {
  if (result !== 0) {
    throw new Error(`${what}: the workload failed its self-check (result ${result})`);
  }
}

/**
 * `run(scale)` of the workload in `bytes` (an ELF file) on an rvbox tier,
 * `runs` times after warming up ({@linkcode WARM_UP_MS}). Also in the browser
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
  let instructions = 0;
  const times = warmThenTime(runs, () => {
    using instance = program.instantiate(IMPORTS, { tier, gas });
    const t = performance.now();
    const result = instance.exports.run(scale) as number;
    const ms = performance.now() - t;
    check(result, what);
    instructions = gas - instance.gas;
    return ms;
  });
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
  const times = warmThenTime(runs, () => {
    const instance = new WebAssembly.Instance(module, WASM_IMPORTS);
    const run = instance.exports.run as (scale: number) => number;
    const t = performance.now();
    const result = run(scale);
    const ms = performance.now() - t;
    check(result, what);
    return ms;
  });
  return { times };
}
