/**
 * The wasm tier's translations: a program is translated and compiled once
 * per process, and the module is shared by its instances and, through the
 * module cache, by every program loaded later with the same code (keyed like
 * the native tier's code cache by what a translation depends on,
 * jit/_code_key.ts). Compiled synchronously where the host allows it, else
 * asynchronously: browsers refuse to compile a module over 8 MB on their
 * main thread (`PreparationNeeded`, then `compileWasmProgram`).
 * @module
 */
import { onCodeRecycled } from "../abi/_recycle.ts";
import type { DecodedCode } from "../abi/code.ts";
import type { ProgramImage } from "../abi/load.ts";
import { PreparationNeeded } from "../abi/tiers.ts";
import { CodeKey } from "../jit/_code_key.ts";
import { cacheLimit, followCacheLimit } from "../jit/code_cache.ts";
import { emitWasm, WasmLimitError, type WasmProgram, type WasmTranslation } from "./translate.ts";

/** Each program's module, by its code (recycled with it: abi/_recycle.ts). */
const byCode = new WeakMap<DecodedCode, WasmProgram>();
/** Asynchronous compilations under way, by code. */
const compiling = new WeakMap<DecodedCode, Promise<WasmProgram>>();

/** A module kept for programs loaded later with the same code. */
interface Cached {
  /** Its inputs (over a copy of the code). */
  readonly key: CodeKey;
  readonly program: WasmProgram;
  /** Bytes counted for it: the module's and the key's. */
  readonly byteLength: number;
}

/** The module cache by key hash, least recently used first (Map order). */
const cache = new Map<number, Cached>();
let cachedBytes = 0;

/** Drops the least recently used modules until `room` more bytes fit under the limit. */
function trim(room: number, limit = cacheLimit()): void {
  for (const [hash, entry] of cache) {
    if (cachedBytes + room <= limit) return;
    cache.delete(hash);
    cachedBytes -= entry.byteLength;
  }
}

followCacheLimit({
  trim: (limit) => trim(0, limit),
  usage: () => ({ modules: cache.size, bytes: cachedBytes }),
});

/** The cached module for `key`, marked as used most recently, if any. */
function cached(key: CodeKey): WasmProgram | undefined {
  const entry = cache.get(key.hash);
  if (entry === undefined || !entry.key.equals(key)) return undefined;
  cache.delete(key.hash);
  cache.set(key.hash, entry);
  return entry.program;
}

/** Keeps `program` for later programs with the same inputs, when it fits. */
function remember(key: CodeKey, program: WasmProgram): void {
  const byteLength = program.size + key.byteLength;
  if (byteLength > cacheLimit()) return;
  const old = cache.get(key.hash);
  if (old !== undefined) {
    cache.delete(key.hash);
    cachedBytes -= old.byteLength;
  }
  trim(byteLength);
  cache.set(key.hash, { key: key.detached(), program, byteLength });
  cachedBytes += byteLength;
}

/** The module of a program already compiled, or undefined. */
function known(image: ProgramImage): { program?: WasmProgram; key?: CodeKey; } {
  const program = byCode.get(image.code);
  if (program !== undefined) return { program };
  const key = CodeKey.of(image);
  const hit = cached(key);
  if (hit !== undefined) byCode.set(image.code, hit);
  return { program: hit, key };
}

const compileError = (error: unknown) =>
  new WasmLimitError(`the wasm tier cannot compile this program: ${(error as Error).message}`);

/**
 * Programs whose module the host refused to compile synchronously: it is
 * compiled asynchronously from then on (started at the refusal).
 */
const refusedSync = new WeakSet<DecodedCode>();

/**
 * The program's module, translated and compiled on first need.
 * @throws {WasmLimitError} when the program is too large or the engine refuses the module.
 * @throws {PreparationNeeded} when the host refuses to compile it synchronously (a
 *   browser's main thread, for a module over 8 MB): it is compiled asynchronously then
 *   ({@linkcode compileWasmProgram}).
 */
export function wasmProgram(image: ProgramImage): WasmProgram {
  const code = image.code;
  const { program, key } = known(image);
  if (program !== undefined) return program;
  if (refusedSync.has(code)) throw notSynchronously("it is being compiled asynchronously");
  const translation = emitWasm(code);
  let module;
  try {
    module = new WebAssembly.Module(translation.bytes);
  } catch (error) {
    // A RangeError is the host's limit on synchronous compilation (an invalid module, or
    // one over the engine's limits, is a CompileError): compiling asynchronously may work.
    if (!(error instanceof RangeError)) throw compileError(error);
    refusedSync.add(code);
    compile(code, key!, translation).catch(() => {}); // whoever waits for it sees the error
    throw notSynchronously(error.message);
  }
  return compiled(code, key!, module, translation);
}

/** Records the module of `code`, or the one compiled meanwhile; returns it. */
function compiled(
  code: DecodedCode,
  key: CodeKey,
  module: WebAssembly.Module,
  { dispatchOf, guestOffset, bytes }: WasmTranslation,
): WasmProgram {
  const program = byCode.get(code) ?? { module, dispatchOf, guestOffset, size: bytes.length };
  remember(key, program);
  byCode.set(code, program);
  return program;
}

/** The refusal to compile or instantiate synchronously, and what to do instead. */
export function notSynchronously(why: string): PreparationNeeded {
  return new PreparationNeeded(
    `the wasm tier cannot compile or instantiate this program synchronously here (${why}): `
      + "use `await program.instantiateAsync(...)`",
  );
}

/** Compiles `translation` of `code` asynchronously (`WebAssembly.compile`). */
function compile(
  code: DecodedCode,
  key: CodeKey,
  translation: WasmTranslation,
): Promise<WasmProgram> {
  // A copy: the translator reuses the buffer it returns.
  const copy = { ...translation, bytes: translation.bytes.slice() };
  const compilation = WebAssembly.compile(copy.bytes).then(
    (module) => compiled(code, key, module, copy),
    (error) => {
      throw compileError(error);
    },
  );
  compiling.set(code, compilation);
  const done = () => compiling.delete(code);
  compilation.then(done, done);
  return compilation;
}

/**
 * The program's module, compiled asynchronously if it is not compiled yet.
 * @throws {WasmLimitError} (rejected) when the program is too large or the engine refuses it.
 */
export function compileWasmProgram(image: ProgramImage): Promise<WasmProgram> {
  const pending = compiling.get(image.code);
  if (pending !== undefined) return pending;
  try {
    const { program, key } = known(image);
    return program !== undefined
      ? Promise.resolve(program)
      : compile(image.code, key!, emitWasm(image.code));
  } catch (error) {
    return Promise.reject(error);
  }
}

onCodeRecycled((code) => byCode.delete(code));
