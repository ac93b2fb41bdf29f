/**
 * The whole cycle around execution: loading (validate + decode, or
 * `WebAssembly.compile`), native translation, instantiating and calling a
 * small export, and the host-call round trip, for rvbox tiers and V8.
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import { type Backend, translate } from "../jit/translate.ts";
import { X64Backend } from "../jit/x64/backend.ts";
import { Program } from "../mod.ts";
import { type Tier } from "../mod.ts";
import { HostCalled, WASM_PAGE } from "../wasm/_layout.ts";
import { REGION_SHIFT } from "../wasm/_regions.ts";
import { emitWasm } from "../wasm/translate.ts";
import { type Clock, clock, perCallNs } from "./_clock.ts";
import { IMPORTS, WASM_IMPORTS } from "./_measure.ts";

/** Whole-cycle figures of one engine. */
export interface Cycle {
  /** Program bytes loaded (validated and decoded, or compiled) per second, MB/s. */
  loadMBps: number;
  /**
   * Guest code translated to native code (or to WebAssembly, compiled by
   * the engine's first tier) per second once the translator is warm, MB/s
   * (translating tiers only).
   */
  translateMBps?: number;
  /** The same for the compute workloads alone (without the contract), MB/s. */
  computeTranslateMBps?: number;
  /** The same for the first translation of each program in the process (V8 still warming up). */
  firstTranslateMBps?: number;
  /** Instantiate plus one call of a small export, µs. */
  instantiateCallUs: number;
  /**
   * The contract's bytes loaded again, instantiated and one small export
   * called, µs: the whole cycle in a warm process for a program seen before
   * (rvbox's native tier maps its translation from the code cache, the wasm
   * tier reuses its module; V8 compiles the module again).
   */
  reloadCallUs?: number;
  /** One call of a small export on a live instance, ns. */
  callNs: number;
  /** One host-call round trip, ns. */
  hostCallNs: number;
  /** What the per-call figures' clock counted (bench/_clock.ts). */
  clock?: Clock["kind"];
}

/** Host calls per timed batch (~0.25 ms on the wasm tier). */
const HOST_CALLS = 20_000;
/** Calls of the small export per timed batch (each of its 1024 functions 4 times). */
const EXPORT_CALLS = 4096;
/** Timed batches of each per-call figure. */
const BATCHES = (quick: boolean) => quick ? 5 : 41;

/** Runs `f` repeatedly for `ms` milliseconds, so that V8 has optimized what it runs. */
function warmUp(ms: number, f: () => void): void {
  const until = performance.now() + ms;
  while (performance.now() < until) f();
}

/** Median of `runs` timings of `f`, ms. */
export function medianMs(runs: number, f: () => void): number {
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}

/**
 * Translation speed over `codes` in MB of guest code per second: the first
 * translation of each in this process (V8 still optimizing the translator),
 * and, after warming up for 3 s (0.5 s when `runs` < 10), the mean over `4 * runs` rounds (garbage collection
 * included: it is part of the cost), for all of them and for those
 * `selected` (all by default).
 */
export function translationSpeed(
  codes: DecodedCode[],
  backend: (code: DecodedCode) => Backend,
  runs: number,
  selected: (index: number) => boolean = () => true,
): { firstMBps: number; warmMBps: number; selectedMBps: number; } {
  return translatorSpeed(codes, (code) => translate(code, backend(code)), runs, selected);
}

/**
 * {@linkcode translationSpeed} of any translator (the wasm tier's: translate
 * and compile), over `rounds` rounds after warming up for `warmMs`.
 */
export function translatorSpeed(
  codes: DecodedCode[],
  translateOne: (code: DecodedCode) => unknown,
  runs: number,
  selected: (index: number) => boolean = () => true,
  { warmMs = runs >= 10 ? 3000 : 500, rounds = runs * 4 } = {},
): { firstMBps: number; warmMBps: number; selectedMBps: number; } {
  let firstMs = 0;
  const bytes = codes.map((code) => code.end - code.start);
  for (const code of codes) firstMs += medianMs(1, () => translateOne(code));
  // V8 needs several hundred translations of these programs before the
  // translator runs at its steady speed (measured: ~800): warm up by time.
  warmUp(warmMs, () => codes.forEach((code) => translateOne(code)));
  const meanMs = codes.map(() => 0);
  for (let k = 0; k < rounds; k++) {
    codes.forEach((code, i) => {
      const start = performance.now();
      translateOne(code);
      meanMs[i] += (performance.now() - start) / rounds;
    });
  }
  const sum = (values: number[], only: (i: number) => boolean) =>
    values.reduce((total, v, i) => (only(i) ? total + v : total), 0);
  const mbps = (only: (i: number) => boolean) => sum(bytes, only) / (sum(meanMs, only) * 1000);
  return {
    firstMBps: sum(bytes, () => true) / (firstMs * 1000),
    warmMBps: mbps(() => true),
    selectedMBps: mbps(selected),
  };
}

/** Scratch memories by size, for {@linkcode wasmTranslateAndCompile}. */
const scratch = new Map<number, WebAssembly.Memory>();
/** Makes each module measured unique (see {@linkcode wasmTranslateAndCompile}). */
let serial = 0;

/**
 * The wasm tier's translation of `code` down to code that can run: the
 * translation, the module compiled, and its functions compiled by the
 * engine's first tier, which V8 does lazily, at each one's first call (so
 * the module is instantiated over a scratch memory and each region's
 * function entered at its first block: with no gas in the state block, the
 * block's charge exits at once). V8 shares the compiled code of modules
 * with the same bytes in a process: each module gets a custom section of its
 * own, or every translation after the first would measure that cache.
 */
export function wasmTranslateAndCompile(code: DecodedCode): void {
  const { bytes, guestOffset, dispatchOf } = emitWasm(code);
  const unique = new Uint8Array(bytes.length + 8);
  unique.set(bytes);
  // A custom section (id 0) of 6 bytes: a name of one byte ("n"), then a 4-byte serial.
  unique.set([0, 6, 1, 0x6e], bytes.length);
  new DataView(unique.buffer).setUint32(bytes.length + 4, serial++, true);
  const module = new WebAssembly.Module(unique);
  const pages = Math.ceil(guestOffset / WASM_PAGE);
  let memory = scratch.get(pages);
  if (memory === undefined) scratch.set(pages, memory = new WebAssembly.Memory({ initial: pages }));
  // Without gas, the code exits before any host call; one would leave too.
  const host = () => HostCalled.LEAVE;
  const instance = new WebAssembly.Instance(module, { env: { memory, host } });
  const run = instance.exports.run as (dispatch: number) => number;
  // The first block of each region (a dispatch index is the region's number, then the block's).
  const firsts = new Map<number, number>();
  for (const d of dispatchOf) {
    const region = d >>> REGION_SHIFT;
    if (d >= 0 && !(d >= (firsts.get(region) ?? Infinity))) firsts.set(region, d);
  }
  for (const d of firsts.values()) run(d);
}

/**
 * rvbox figures for `tier`: `programs` are the workloads' ELF files,
 * `contract` the contract's (one of them, the same array).
 */
export function rvboxCycle(
  tier: Exclude<Tier, "auto">,
  programs: Uint8Array[],
  contract: Uint8Array,
  quick: boolean,
): Cycle {
  const runs = quick ? 3 : 15;
  let bytes = 0, loadMs = 0;
  const codes = programs.map((elf) => Program.fromBytes(elf).image.code);
  // Warm the loader up first: the first row measured would otherwise time V8 compiling it.
  warmUp(quick ? 50 : 500, () => programs.forEach((elf) => Program.fromBytes(elf)));
  for (const elf of programs) {
    bytes += elf.length;
    loadMs += medianMs(runs, () => Program.fromBytes(elf));
  }
  const compute = (i: number) => programs[i] !== contract;
  const translation = tier === "native"
    ? translationSpeed(codes, (code) => new X64Backend(code), runs, compute)
    : tier === "wasm"
    // Fewer rounds: the engine compiling the modules takes most of the time, not the translator.
    ? translatorSpeed(codes, wasmTranslateAndCompile, runs, compute, {
      warmMs: quick ? 0 : 1000,
      rounds: quick ? 1 : 4,
    })
    : undefined;
  const program = Program.fromBytes(contract);
  program.instantiate(IMPORTS, { tier }).dispose(); // translation happens once per program
  if (tier === "wasm" && !quick) {
    // V8 compiles the module's one function again, optimized, in the background after its first
    // calls (seconds for the contract's): the figures below are of that code, as the native
    // tier's are of its only code.
    using warm = program.instantiate(IMPORTS, { tier, gas: 1e13 });
    warmUp(3000, () => {
      warm.exports.small(1);
      warm.exports.ping(1000);
    });
  }
  const instances = quick ? 20 : 500;
  const t = performance.now();
  for (let k = 0; k < instances; k++) {
    using instance = program.instantiate(IMPORTS, { tier });
    instance.exports.small(k);
  }
  const instantiateCallUs = ((performance.now() - t) * 1000) / instances;
  const reloads = quick ? 5 : 200;
  const reloadCallUs = medianMs(5, () => {
    for (let k = 0; k < reloads; k++) {
      using again = Program.fromBytes(contract);
      using instance = again.instantiate(IMPORTS, { tier });
      instance.exports.small(k);
    }
  }) * 1000 / reloads;
  using instance = program.instantiate(IMPORTS, { tier, gas: 1e13 });
  // Steady state: a new program's first calls can run while V8 re-optimizes
  // the call path for it (measured: the second program's first million host
  // calls took twice as long).
  // Every one of `small`'s 1024 functions, as the timed loop calls them: it measures calls,
  // not the engine compiling the functions it has not run yet.
  warmUp(quick ? 20 : 300, () => {
    for (let k = 0; k < 1024; k++) instance.exports.small(k);
    instance.exports.ping(1000);
  });
  const small = instance.exports.small, ping = instance.exports.ping;
  const callNs = perCallNs(BATCHES(quick), EXPORT_CALLS, quick, (calls) => {
    for (let k = 0; k < calls; k++) small(k);
  });
  const hostCallNs = perCallNs(BATCHES(quick), HOST_CALLS, quick, (calls) => ping(calls));
  return {
    loadMBps: bytes / (loadMs * 1000),
    translateMBps: translation?.warmMBps,
    computeTranslateMBps: translation?.selectedMBps,
    firstTranslateMBps: translation?.firstMBps,
    instantiateCallUs,
    reloadCallUs,
    callNs,
    hostCallNs,
    clock: clock.kind,
  };
}

/** V8 figures for the wasm modules (the last one is the contract), in this process. */
export async function wasmCycle(modules: Uint8Array<ArrayBuffer>[], quick = false): Promise<Cycle> {
  const runs = quick ? 3 : 15;
  let bytes = 0, loadMs = 0;
  for (const wasm of modules) {
    bytes += wasm.length;
    await WebAssembly.compile(wasm);
    const times: number[] = [];
    for (let k = 0; k < runs; k++) {
      const t = performance.now();
      await WebAssembly.compile(wasm);
      times.push(performance.now() - t);
    }
    loadMs += times.sort((a, b) => a - b)[runs >> 1];
  }
  const contract = modules[modules.length - 1];
  const module = await WebAssembly.compile(contract);
  const imports = WASM_IMPORTS;
  const exportsOf = (i: WebAssembly.Instance) => i.exports as Record<string, (x: number) => number>;
  const instances = quick ? 20 : 500;
  const t = performance.now();
  for (let k = 0; k < instances; k++) exportsOf(new WebAssembly.Instance(module, imports)).small(k);
  const instantiateCallUs = ((performance.now() - t) * 1000) / instances;
  const reloads = quick ? 3 : 10;
  let reloadMs = 0;
  for (let k = 0; k < reloads; k++) {
    const start = performance.now();
    exportsOf((await WebAssembly.instantiate(contract, imports)).instance).small(k);
    reloadMs += performance.now() - start;
  }
  const live = exportsOf(new WebAssembly.Instance(module, imports));
  warmUp(quick ? 20 : 300, () => {
    for (let k = 0; k < 1024; k++) live.small(k);
    live.ping(1000);
  }); // as rvbox's (above)
  const callNs = perCallNs(BATCHES(quick), EXPORT_CALLS, quick, (calls) => {
    for (let k = 0; k < calls; k++) live.small(k);
  });
  const hostCallNs = perCallNs(BATCHES(quick), HOST_CALLS, quick, (calls) => live.ping(calls));
  return {
    loadMBps: bytes / (loadMs * 1000),
    instantiateCallUs,
    reloadCallUs: (reloadMs * 1000) / reloads,
    callNs,
    hostCallNs,
    clock: clock.kind,
  };
}
