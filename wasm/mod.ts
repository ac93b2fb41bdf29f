/**
 * The wasm tier: translates the whole program to a WebAssembly module (a
 * function per guest function or group of small ones) and runs it in the
 * host's own engine, for hosts that allow WebAssembly but no FFI.
 * Importing this module registers the tier with every program
 * (abi/tiers.ts) and does nothing else: nothing is compiled until an
 * instance is created with the wasm tier.
 * @module
 */
import type { EngineInit } from "../abi/engine.ts";
import type { ProgramImage } from "../abi/load.ts";
import { GuestMemory, type MemoryOptions, memoryPlan } from "../abi/memory.ts";
import { ResourceLimitError } from "../abi/resources.ts";
import { type NativeSupport, PreparationNeeded, registerTier } from "../abi/tiers.ts";
import { WasmEngine } from "./engine.ts";
import { compileWasmProgram, wasmProgram } from "./program.ts";
import { freeSpace, instanceClaim, preparedSpace, WasmHold, type WasmSpace } from "./space.ts";
import { wasmSpace } from "./space.ts";
import { WasmLimitError } from "./translate.ts";

export { wasmProgram } from "./program.ts";

/** The smallest valid module: compiling it tells whether WebAssembly may be compiled here. */
const EMPTY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
let support: NativeSupport | undefined;

/** Whether the wasm tier can run here (checked once). */
export function wasmSupport(): NativeSupport {
  if (support !== undefined) return support;
  if (typeof WebAssembly !== "object") {
    return support = { ok: false, reason: "WebAssembly is not available (e.g. --jitless)" };
  }
  try {
    new WebAssembly.Module(EMPTY_MODULE);
  } catch (error) {
    return support = {
      ok: false,
      reason: `WebAssembly cannot be compiled here: ${(error as Error).message}`,
    };
  }
  return support = { ok: true, reason: "WebAssembly is available" };
}

const zeroBytes = (bytes: Uint8Array, start: number, end: number) => bytes.fill(0, start, end);

/**
 * Creates the memory and the wasm engine of one instance; with `moving`, an
 * interpreter's memory, moves it into a WebAssembly memory (tier-up); with
 * `prepared` (from {@linkcode prepareWasm}), runs on that space.
 * @throws {WasmLimitError} when the program is too large for the wasm tier.
 * @throws {ResourceLimitError} when a resource limit would be exceeded.
 * @throws {PreparationNeeded} when the host refuses to compile or instantiate
 *   the module synchronously (then {@linkcode prepareWasm}).
 */
export function createWasmEngine(
  image: ProgramImage,
  options: MemoryOptions,
  init: (memory: GuestMemory) => Omit<EngineInit, "image">,
  moving?: GuestMemory,
  prepared?: unknown,
): WasmEngine {
  const plan = moving?.plan ?? memoryPlan(image, options); // invalid options throw here
  const program = wasmProgram(image);
  const instance = instanceClaim();
  let space: WasmSpace;
  try {
    const given = prepared as WasmSpace | undefined;
    if (given?.plan === plan && given.program === program) space = given;
    else {
      if (given !== undefined) freeSpace(given); // prepared for another layout (options changed)
      space = wasmSpace(plan, program);
    }
  } catch (error) {
    instance.release();
    throw error;
  }
  const hold = new WasmHold(space, instance);
  // The hold as owner: a Memory kept by the host keeps the space from its next instance.
  const backing = { bytes: space.bytes, owner: hold, zero: zeroBytes };
  let memory = moving;
  try {
    if (moving === undefined) memory = new GuestMemory(image, options, backing);
    else {
      space.commitHeap(moving.heapEnd);
      moving.moveTo(backing);
    }
    return new WasmEngine({ image, ...init(memory!) }, space, hold);
  } catch (error) {
    moving?.detach(); // it lives in the space now, which goes to the next instance
    hold.release();
    throw error;
  }
}

/**
 * Compiles the program's module and instantiates a space for it
 * asynchronously, for {@linkcode createWasmEngine}'s `prepared`.
 */
export async function prepareWasm(image: ProgramImage, options: MemoryOptions): Promise<unknown> {
  const plan = memoryPlan(image, options);
  return await preparedSpace(plan, await compileWasmProgram(image));
}

registerTier("wasm", {
  support: wasmSupport,
  createEngine: createWasmEngine,
  prepare: prepareWasm,
  limitOf: (error) =>
    error instanceof WasmLimitError || error instanceof PreparationNeeded
      ? `the wasm tier refused it (${error.message})`
      : error instanceof ResourceLimitError
      ? error.limit
      : undefined,
});
