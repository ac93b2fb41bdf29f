/**
 * The benchmark's page in headless Chromium (bundled by bench/_browser.ts):
 * the workloads on rvbox's wasm tier and on Chromium's own WebAssembly,
 * then the cycle figures of both, as the Deno run measures them. Reads what
 * to run from `/input.json` and the guests from `/guests/`; leaves its
 * results in `window.benchResult` (or `window.benchError`).
 * @module
 */
import { type Cycle, rvboxCycle, wasmCycle } from "./_cycle.ts";
import { measureRvbox, measureWasm, type Timing } from "./_measure.ts";

/** What the page runs. */
export interface BrowserInput {
  /** Workloads with their `run(scale)`, the contract last. */
  workloads: { name: string; scale: number; }[];
  /** Timed runs per workload. */
  runs: number;
  /** The `--quick` run: fewer rounds everywhere. */
  quick: boolean;
}

/** What the page measured: timings by engine and workload, cycle figures by engine. */
export interface BrowserOutput {
  timings: Record<string, Record<string, Timing>>;
  cycles: Record<string, Cycle>;
  userAgent: string;
}

const bytesOf = async (path: string) =>
  new Uint8Array(await (await fetch(path)).arrayBuffer()) as Uint8Array<ArrayBuffer>;

async function bench(): Promise<BrowserOutput> {
  const input = await (await fetch("/input.json")).json() as BrowserInput;
  const elves = await Promise.all(
    input.workloads.map((w) => bytesOf(`/guests/${w.name}.rv32imac.elf`)),
  );
  const modules = await Promise.all(input.workloads.map((w) => bytesOf(`/guests/${w.name}.wasm`)));
  const rvbox: Record<string, Timing> = {}, v8: Record<string, Timing> = {};
  for (const [i, { name, scale }] of input.workloads.entries()) {
    rvbox[name] = measureRvbox(elves[i], "wasm", scale, input.runs, `rvbox wasm ${name}`);
    v8[name] = await measureWasm(modules[i], scale, input.runs, `V8 wasm ${name}`);
  }
  const contract = elves[elves.length - 1];
  return {
    timings: { "rvbox wasm rv32imac": rvbox, "V8 wasm": v8 },
    cycles: {
      "rvbox wasm rv32imac": rvboxCycle("wasm", elves, contract, input.quick),
      "V8 wasm": await wasmCycle(modules, input.quick),
    },
    userAgent: navigator.userAgent,
  };
}

const page = globalThis as unknown as { benchResult?: BrowserOutput; benchError?: string; };
try {
  page.benchResult = await bench();
} catch (error) {
  page.benchError = String((error as Error)?.stack ?? error);
}
