/**
 * A program translated to native code once and shared by all its instances
 * (the code refers to instance state only through the base register), with
 * the per-slot tables that indirect jumps and host re-entries use, and the
 * lifetime of that code: freed by `Program.dispose()` once no instance uses
 * it, or by a finalizer when the program and its instances are collected.
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import type { ProgramImage } from "../abi/load.ts";
import { A64Backend } from "./a64/backend.ts";
import { createEntry } from "./entry.ts";
import { ExecutableCode } from "./exec_memory.ts";
import { LazyPages } from "./lazy_pages.ts";
import { refusedMapping, ResourceClaim } from "./resources.ts";
import { translate } from "./translate.ts";
import { X64Backend } from "./x64/backend.ts";

/** What a compiled program holds outside the JavaScript heap. */
interface NativeParts {
  readonly executable: ExecutableCode;
  readonly table: LazyPages;
  readonly claim: ResourceClaim;
}

function free({ executable, table, claim }: NativeParts): void {
  executable.dispose();
  table.dispose();
  claim.release();
}

// Frees the code of programs collected undisposed (their instances hold them, so none is left).
const registry = new FinalizationRegistry<NativeParts>(free);

/** Bytes per jump-table entry: native address (u64) and entry charge (u64). */
const ENTRY_BYTES = 16;
const PAGE = 4096;

/** The native form of a program. */
export class CompiledProgram {
  /** The decoded program it was translated from. */
  readonly code: DecodedCode;
  /**
   * The jump table (see `State.JUMP_TABLE`) as u32 words: address low, high,
   * cost low, high. Empty once the code is freed.
   */
  jumpWords: Uint32Array;
  /** Host address of the jump table, for the state block. */
  readonly jumpTablePointer: bigint;
  /** Machine code size in bytes. */
  readonly codeSize: number;
  /** Calls the entry routine with the host address of guest address 0. */
  readonly enter: (base: Deno.PointerValue) => void;
  #parts: NativeParts | undefined;
  #instances = 0;
  #retired = false;
  readonly #token = {};

  constructor(code: DecodedCode, codeSize: number, parts: NativeParts, words: Uint32Array) {
    this.code = code;
    this.codeSize = codeSize;
    this.jumpWords = words;
    this.jumpTablePointer = Deno.UnsafePointer.value(parts.table.pointer);
    this.enter = createEntry(parts.executable);
    this.#parts = parts;
    registry.register(this, parts, this.#token);
  }

  /** An instance starts using the code. */
  attach(): void {
    if (this.#parts === undefined) throw new Error("the program's native code has been freed");
    this.#instances++;
  }

  /** An instance is done with the code (disposed, or collected). */
  detach(): void {
    if (--this.#instances === 0 && this.#retired) this.#free();
  }

  /**
   * The program is disposed: frees the code now, or when its last instance
   * is done with it (generated code never runs after it is unmapped).
   */
  retire(): void {
    this.#retired = true;
    if (this.#instances === 0) this.#free();
  }

  #free(): void {
    const parts = this.#parts;
    if (parts === undefined) return;
    this.#parts = undefined;
    this.jumpWords = new Uint32Array(0); // no view of unmapped memory (dropped, never detached)
    registry.unregister(this.#token);
    free(parts);
  }
}

/**
 * The instruction an exit names by native address (`State.EXIT_SITE`): for a
 * block charge (`blockEntry`), the block's first instruction, whose body
 * starts at `site`; otherwise the instruction whose body holds `site` (after
 * its first byte, at most one past its last). Native code is laid out in
 * program order, so the jump table's addresses ascend with the instruction
 * index and a binary search finds it.
 */
export function instructionAtSite(
  program: CompiledProgram,
  site: number,
  blockEntry: boolean,
): number {
  const { code, jumpWords } = program;
  const address = (i: number) => {
    const slot = (code.pc[i] - code.start) >>> 1;
    return jumpWords[4 * slot] + jumpWords[4 * slot + 1] * 2 ** 32;
  };
  let lo = 0, hi = code.count; // the first instruction at or after `site`
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (address(mid) < site) lo = mid + 1;
    else hi = mid;
  }
  const i = blockEntry ? lo : lo - 1;
  if (i < 0 || i >= code.count || (blockEntry && address(i) !== site)) {
    throw new Error(`native code exited from an unknown site 0x${site.toString(16)}`);
  }
  return i;
}

const cache = new WeakMap<ProgramImage, CompiledProgram>();

/**
 * Translates `image` on first use; later instances share the result.
 * @throws {ResourceLimitError} when its code would exceed a resource limit.
 */
export function compiledProgram(image: ProgramImage): CompiledProgram {
  let compiled = cache.get(image);
  if (!compiled) {
    compiled = compile(image.code);
    cache.set(image, compiled);
  }
  return compiled;
}

/** `Program.dispose()`: the image's code is freed once no instance uses it. */
export function retireCompiled(image: ProgramImage): void {
  const compiled = cache.get(image);
  if (compiled === undefined) return;
  cache.delete(image);
  compiled.retire();
}

function compile(code: DecodedCode): CompiledProgram {
  const backend = Deno.build.arch === "aarch64" ? new A64Backend(code) : new X64Backend(code);
  const translation = translate(code, backend);
  const codeBytes = ExecutableCode.lengthFor(translation.bytes.length);
  const tableBytes = LazyPages.lengthFor(ENTRY_BYTES * ((code.end - code.start + 1) >>> 1));
  const claim = new ResourceClaim("this program's native code", {
    programs: 1,
    reserved: codeBytes + tableBytes,
    committed: codeBytes,
    code: codeBytes,
    mappings: 2,
  });
  let executable: ExecutableCode | undefined;
  let table: LazyPages;
  try {
    executable = new ExecutableCode(translation.bytes);
    table = new LazyPages(tableBytes);
  } catch (error) {
    executable?.dispose();
    claim.release();
    throw refusedMapping(error, "this program's native code");
  }
  const words = new Uint32Array(table.view());
  // Host addresses are below 2^53, so Number arithmetic is exact (and much faster than BigInt).
  const base = Number(executable.address);
  let pages = 0;
  for (let i = 0, page = -1; i < code.count; i++) {
    const s = (code.pc[i] - code.start) >>> 1;
    const address = base + translation.bodyOffset[i];
    words[4 * s] = address % 2 ** 32;
    words[4 * s + 1] = Math.floor(address / 2 ** 32);
    words[4 * s + 2] = code.entryCost[i];
    // Slots ascend with i: count each table page written once.
    if ((s * ENTRY_BYTES) >>> 12 !== page) {
      page = (s * ENTRY_BYTES) >>> 12;
      pages++;
    }
  }
  claim.commit(pages * PAGE);
  return new CompiledProgram(code, translation.bytes.length, { executable, table, claim }, words);
}
