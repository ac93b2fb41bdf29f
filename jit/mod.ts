/**
 * The native tier: translates the whole program to machine code in one pass
 * and runs it through the runtime's FFI (Deno's, or koffi under Node). Importing this module registers the tier
 * with every program (abi/tiers.ts) and does nothing else: no library
 * is opened and no permission is asked until an instance is created with
 * the native tier.
 * @module
 */
import type { EngineInit } from "../abi/engine.ts";
import type { ProgramImage } from "../abi/load.ts";
import type { GuestMemory, MemoryOptions } from "../abi/memory.ts";
import { ResourceLimitError } from "../abi/resources.ts";
import { type NativeSupport, registerTier } from "../abi/tiers.ts";
import { retireCompiled } from "./_compiled.ts";
import { ffiSupport } from "./_ffi.ts";
import { NativeEngine } from "./engine.ts";
import { nativeResources } from "./native_memory.ts";

export type { NativeSupport } from "../abi/tiers.ts";

/**
 * Checks platform and permission without prompting: Deno's FFI (no library
 * opened yet), or koffi under Node (loaded, no library opened).
 */
export function nativeSupport(): NativeSupport {
  const { ok, reason } = ffiSupport();
  return { ok, reason };
}

/**
 * Creates the memory and the native engine of one instance.
 * @throws {ResourceLimitError} when a native resource limit would be exceeded.
 */
export function createNativeEngine(
  image: ProgramImage,
  options: MemoryOptions,
  init: (memory: NativeEngine["memory"]) => Omit<EngineInit, "image">,
  moving?: GuestMemory,
): NativeEngine {
  const resources = nativeResources(image, options, moving);
  try {
    return new NativeEngine({ image, ...init(resources.memory) }, resources);
  } catch (error) {
    moving?.detach(); // it lives in the space now: no access may reach it unmapped
    resources.space.dispose();
    throw error;
  }
}

/** `Program.dispose()`: frees the program's native code once no instance uses it. */
export function disposeNativeCode(image: ProgramImage): void {
  retireCompiled(image);
}

registerTier("native", {
  support: nativeSupport,
  createEngine: createNativeEngine,
  limitOf: (error) => error instanceof ResourceLimitError ? error.limit : undefined,
  disposeCode: disposeNativeCode,
});
