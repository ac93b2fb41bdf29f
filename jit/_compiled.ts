/**
 * Which native translation each program uses: a program is translated once
 * per process however many times its bytes are loaded. Programs with the
 * same translation inputs (./_code_key.ts) share one translation while any
 * of them or of their instances uses it; it is freed the moment none does,
 * so `Program.dispose()` and the resource accounting behave as if each
 * program had its own. Its bytes then go to the code cache of unused
 * translations (./code_cache.ts), from which a later load maps them again.
 * @module
 */
import type { ProgramImage } from "../abi/load.ts";
import { CodeKey } from "./_code_key.ts";
import { type CompiledProgram, installProgram, translateProgram } from "./_native_code.ts";
import { type OnUnused } from "./_native_code.ts";
import { keep, keeping, type Retained, takeKept } from "./code_cache.ts";

export { type CompiledProgram, instructionAtSite } from "./_native_code.ts";

/** Translations in use, by key hash (a colliding key with other inputs is simply not shared). */
const live = new Map<number, CompiledProgram>();
/** The translation each program (image) holds. */
const held = new WeakMap<ProgramImage, CompiledProgram>();
/** Releases the hold of a program collected without `dispose()`. */
const collected = new FinalizationRegistry<CompiledProgram>((compiled) => compiled.detach());

/** A translation is no longer used: it stops being shared, and its bytes may be kept. */
const unused: OnUnused = (compiled, retained) => {
  if (live.get(compiled.key.hash) === compiled) live.delete(compiled.key.hash);
  if (keeping()) {
    const entry = retained();
    if (entry !== undefined) keep(entry);
  }
};

/**
 * The native code of `image`, translated on its first use by any program
 * with the same code; the program holds it until `retireCompiled`.
 * @throws {ResourceLimitError} when its code would exceed a resource limit.
 */
export function compiledProgram(image: ProgramImage): CompiledProgram {
  let compiled = held.get(image);
  if (compiled !== undefined) return compiled;
  const key = CodeKey.of(image);
  compiled = live.get(key.hash);
  if (compiled === undefined || !compiled.key.equals(key)) {
    compiled = install(image, key);
    if (!live.has(key.hash)) live.set(key.hash, compiled);
  }
  compiled.attach();
  held.set(image, compiled);
  collected.register(image, compiled, image);
  return compiled;
}

/** Maps a kept translation of `key`, or translates `image`. */
function install(image: ProgramImage, key: CodeKey): CompiledProgram {
  const code = image.code;
  const kept: Retained | undefined = takeKept(key);
  if (kept === undefined) {
    return installProgram(code, translateProgram(code, key.detached()), unused);
  }
  try {
    return installProgram(code, kept, unused);
  } catch (error) {
    keep(kept); // refused by a resource limit: still good for later
    throw error;
  }
}

/** `Program.dispose()`: the program's hold ends; the code goes once no instance uses it either. */
export function retireCompiled(image: ProgramImage): void {
  const compiled = held.get(image);
  if (compiled === undefined) return;
  held.delete(image);
  collected.unregister(image);
  compiled.detach();
}
