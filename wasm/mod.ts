/**
 * The wasm tier: translates the whole program to a WebAssembly module (a
 * function per guest function or group of small ones) and runs it in the
 * host's own engine, for hosts that allow WebAssembly but no FFI.
 * Importing this module registers the tier with every program
 * (abi/tiers.ts) and does nothing else: nothing is compiled until an
 * instance is created with the wasm tier.
 * @module
 */
import { onCodeRecycled } from "../abi/_recycle.ts";
import type { DecodedCode } from "../abi/code.ts";
import type { EngineInit } from "../abi/engine.ts";
import type { ProgramImage } from "../abi/load.ts";
import type { GuestMemory, MemoryOptions } from "../abi/memory.ts";
import { type NativeSupport, registerWasmTier } from "../abi/tiers.ts";
import { WasmEngine, wasmMemory } from "./engine.ts";
import { translateWasm, WasmLimitError, type WasmProgram } from "./translate.ts";

// By the program's code: the stream is recycled with it (abi/_recycle.ts).
const translated = new WeakMap<DecodedCode, WasmProgram>();

/** The program's translation, made on its first wasm instance and shared by the rest. */
export function wasmProgram(image: ProgramImage): WasmProgram {
  let program = translated.get(image.code);
  if (program === undefined) {
    program = translateWasm(image.code);
    translated.set(image.code, program);
  }
  return program;
}

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

/**
 * Creates the memory and the wasm engine of one instance; with `moving`, an
 * interpreter's memory, moves it into a WebAssembly memory (tier-up).
 * @throws {WasmLimitError} when the program is too large for the wasm tier.
 */
export function createWasmEngine(
  image: ProgramImage,
  options: MemoryOptions,
  init: (memory: GuestMemory) => Omit<EngineInit, "image">,
  moving?: GuestMemory,
): WasmEngine {
  const program = wasmProgram(image);
  const { memory, wasm } = wasmMemory(image, options, program, moving);
  return new WasmEngine({ image, ...init(memory) }, program, wasm);
}

registerWasmTier({
  support: wasmSupport,
  createEngine: createWasmEngine,
  limitOf: (error) =>
    error instanceof WasmLimitError ? `the wasm tier refused it (${error.message})` : undefined,
});
onCodeRecycled((code) => translated.delete(code));
