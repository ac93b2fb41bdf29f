/**
 * The seam between programs and the tiers: `Program` (abi/program.ts)
 * imports no tier; each registers itself here when its module is imported —
 * the interpreter from the portable entry point (portable.ts), the native
 * tier from the full one (mod.ts), so that the portable one loads no
 * code-generating or FFI code at all.
 * @module
 */
import type { Engine, EngineInit } from "./engine.ts";
import type { ProgramImage } from "./load.ts";
import type { GuestMemory, MemoryOptions } from "./memory.ts";

/** Whether the native tier can run here, and why (not). */
export interface NativeSupport {
  /** True when instances can use the native tier. */
  readonly ok: boolean;
  /** A sentence for `instance.tierReason` and error messages. */
  readonly reason: string;
}

/** What a translating tier (native, wasm) provides. */
export interface TranslatingTier {
  /** Checks platform and permission without prompting. */
  support(): NativeSupport;
  /**
   * Creates the memory and engine of one instance; with `moving`, an
   * interpreter's memory of the same program and options, moves that memory
   * into the tier's own instead (tier-up, abi/_tiered.ts).
   * @throws {RangeError} with `limitOf(error)` defined when a limit refuses it.
   */
  createEngine(
    image: ProgramImage,
    options: MemoryOptions,
    init: (memory: GuestMemory) => Omit<EngineInit, "image">,
    moving?: GuestMemory,
    prepared?: unknown,
  ): Engine;
  /**
   * Does asynchronously what `createEngine` refused to do synchronously
   * ({@linkcode PreparationNeeded}); resolves to what to pass it as
   * `prepared`, for one engine. Absent when a tier never refuses so.
   */
  prepare?(image: ProgramImage, options: MemoryOptions): Promise<unknown>;
  /** The limit a refusal names, or undefined when `error` is not a limit's refusal. */
  limitOf(error: unknown): string | undefined;
}

/**
 * `createEngine` cannot create this engine synchronously here, but
 * `prepare` can make it possible: browsers refuse to compile or instantiate
 * a WebAssembly module over 8 MB on their main thread.
 */
export class PreparationNeeded extends RangeError {
  override name = "RangeError";
}

/** What the native tier provides. */
export interface NativeTier extends TranslatingTier {
  /** `Program.dispose()`: frees the program's native code once no instance uses it. */
  disposeCode(image: ProgramImage): void;
}

/** What the wasm tier provides (its support: whether WebAssembly may be compiled here). */
export type WasmTier = TranslatingTier;

/** The translating tiers, by name. */
export interface TranslatingTiers {
  /** The native tier (jit/mod.ts). */
  native: NativeTier;
  /** The wasm tier (wasm/mod.ts). */
  wasm: WasmTier;
}

const translating: Partial<TranslatingTiers> = {};

/** Makes a translating tier available to every program (its module calls it once, at import). */
export function registerTier<K extends keyof TranslatingTiers>(
  name: K,
  tier: TranslatingTiers[K],
): void {
  translating[name] = tier;
}

/** The registered tier `name`, or undefined (the portable entry point registers none). */
export function translatingTier<K extends keyof TranslatingTiers>(
  name: K,
): TranslatingTiers[K] | undefined {
  return translating[name];
}

/** Why tier `name` cannot run when it is not loaded. */
export function notLoaded(name: keyof TranslatingTiers): NativeSupport {
  return {
    ok: false,
    reason: `the ${name} tier is not loaded (rvbox's portable entry point has none)`,
  };
}

let interpreter: ((init: EngineInit) => Engine) | undefined;

/** Makes the interpreter available (interpreter/mod.ts calls it once, at import). */
export function registerInterpreter(create: (init: EngineInit) => Engine): void {
  interpreter = create;
}

/**
 * Creates an interpreter engine.
 * @throws {Error} when no entry point has registered the interpreter (abi/ imported alone).
 */
export function createInterpreter(init: EngineInit): Engine {
  if (interpreter === undefined) {
    throw new Error("no interpreter registered: import rvbox from mod.ts or portable.ts");
  }
  return interpreter(init);
}
