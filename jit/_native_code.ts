/**
 * A translated program mapped executable, with the per-slot table that
 * indirect jumps and host re-entries use, and the lifetime of both: shared
 * by the programs with the same code and their instances (./_compiled.ts),
 * freed when the last of them is done with it (generated code never runs
 * after it is unmapped).
 * @module
 */
import { holdCode, releaseCode } from "../abi/_recycle.ts";
import { CHUNK_SLOTS, type DecodedCode, instructionAt } from "../abi/code.ts";
import { drainingPool, refusedMapping, ResourceClaim } from "../abi/resources.ts";
import type { CodeKey } from "./_code_key.ts";
import { ffi, type HostPointer } from "./_ffi.ts";
import { nativeView } from "./_libc.ts";
import { A64Backend } from "./a64/backend.ts";
import type { Retained } from "./code_cache.ts";
import { createEntry } from "./entry.ts";
import { ExecutableCode, pooledMapping, unusedMapping } from "./exec_memory.ts";
import { LazyPages } from "./lazy_pages.ts";
import { translate } from "./translate.ts";
import { X64Backend } from "./x64/backend.ts";

/** What a compiled program holds outside the JavaScript heap. */
interface NativeParts {
  readonly executable: ExecutableCode;
  readonly table: LazyPages;
  readonly claim: ResourceClaim;
}

/**
 * Called when a compiled program is no longer used, before its native code
 * is freed; `retained` copies its translation out (for the code cache).
 */
export type OnUnused = (compiled: CompiledProgram, retained: () => Retained | undefined) => void;

/** Bytes per jump-table entry: native address (u64) and entry charge (u64). */
const ENTRY_BYTES = 16;
const PAGE = 4096;

/** The native form of a program. */
export class CompiledProgram {
  /** The decoded program it was translated from (any of those with its key). */
  readonly code: DecodedCode;
  /** What the translation depends on. */
  readonly key: CodeKey;
  /**
   * The jump table (see `State.JUMP_TABLE`) as u32 words: address low, high,
   * cost low, high. Empty once the code is freed.
   */
  jumpWords: Uint32Array;
  /** Host address of the jump table, for the state block. */
  readonly jumpTablePointer: number;
  /** Machine code size in bytes. */
  readonly codeSize: number;
  /** Calls the entry routine with the host address of guest address 0. */
  readonly enter: (base: HostPointer) => void;
  #parts: NativeParts | undefined;
  /** Programs holding the code and instances running it. */
  #users = 0;
  readonly #onUnused: OnUnused;

  /** Where each instruction's code starts, from the start of the code. */
  readonly #bodyOffset: Uint32Array;
  /** Host address of the code, low and high 32 bits. */
  readonly #low: number;
  readonly #high: number;

  constructor(
    code: DecodedCode,
    key: CodeKey,
    codeSize: number,
    parts: NativeParts,
    bodyOffset: Uint32Array,
    onUnused: OnUnused,
  ) {
    this.code = code;
    this.key = key;
    this.codeSize = codeSize;
    this.jumpWords = new Uint32Array(parts.table.view());
    this.#bodyOffset = bodyOffset;
    const address = Number(parts.executable.address);
    this.#low = address % 2 ** 32;
    this.#high = Math.floor(address / 2 ** 32);
    this.jumpTablePointer = ffi().address(parts.table.pointer);
    this.enter = createEntry(parts.executable);
    this.#parts = parts;
    this.#onUnused = onUnused;
    holdCode(code); // until freed: traps, host calls and late entries read its tables
  }

  /**
   * Fills the jump-table entry of the instruction at `pc` (entries are
   * filled on first use: a program that runs a little of its code touches a
   * little of its table). Returns false where no instruction starts, where
   * the entry is already there, and once the code is freed.
   */
  resolve(pc: number): boolean {
    const i = instructionAt(this.code, pc);
    if (i < 0 || this.#parts === undefined) return false;
    const words = this.jumpWords;
    const s = (pc - this.code.start) >>> 1;
    if (words[4 * s] !== 0 || words[4 * s + 1] !== 0) return false;
    // Host addresses are below 2^53 and the code is far smaller than 4 GiB: the
    // low word of each address is the base's plus the offset, carried into the high.
    const lowSum = this.#low + this.#bodyOffset[i];
    words[4 * s + 2] = this.code.entryCost[i];
    words[4 * s + 1] = lowSum >= 2 ** 32 ? this.#high + 1 : this.#high;
    words[4 * s] = lowSum; // a u32 store keeps the low 32 bits
    return true;
  }

  /** Host address of instruction `i`'s code. */
  address(i: number): number {
    return this.#low + this.#high * 2 ** 32 + this.#bodyOffset[i];
  }

  /** A program or an instance starts using the code. */
  attach(): void {
    if (this.#parts === undefined) throw new Error("the program's native code has been freed");
    this.#users++;
  }

  /** A program or an instance is done with the code (disposed, or collected). */
  detach(): void {
    if (--this.#users === 0) this.#free();
  }

  #free(): void {
    const parts = this.#parts;
    if (parts === undefined) return;
    this.#onUnused(this, () => this.#retained(parts));
    this.#parts = undefined;
    this.jumpWords = new Uint32Array(0); // no view of unmapped memory (dropped, never detached)
    parts.claim.release(); // first: the code's mapping may be pooled, and counted as such
    parts.executable.dispose();
    parts.table.dispose();
    releaseCode(this.code);
  }

  /** Copies the translation out of the mappings (code, and body offsets from the jump table). */
  #retained({ executable }: NativeParts): Retained {
    const pointer = executable.pointer;
    const bytes = new Uint8Array(nativeView(pointer, this.codeSize))
      .slice();
    const bodyOffset = this.#bodyOffset;
    const byteLength = bytes.length + bodyOffset.byteLength + this.key.byteLength;
    return { key: this.key, bytes, bodyOffset, byteLength };
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
  const { code } = program;
  const address = (i: number) => program.address(i);
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

let translations = 0;

/** @internal For tests: how many programs this process has translated. */
export function translationCount(): number {
  return translations;
}

/** Translates `code` (whose inputs `key` describes) with this machine's backend. */
export function translateProgram(code: DecodedCode, key: CodeKey): Retained {
  translations++;
  const backend = ffi().arch === "aarch64" ? new A64Backend(code) : new X64Backend(code);
  const { bytes, bodyOffset } = translate(code, backend);
  return { key, bytes, bodyOffset, byteLength: bytes.length + bodyOffset.byteLength };
}

/**
 * Maps a translation of `code` executable and builds its jump table
 * (nothing of `translation` is kept: it may be a view of reused buffers).
 * @throws {ResourceLimitError} when its code would exceed a resource limit.
 */
export function installProgram(
  code: DecodedCode,
  translation: Retained,
  onUnused: OnUnused,
): CompiledProgram {
  const { bytes, bodyOffset } = translation;
  const reused = pooledMapping(bytes.length);
  const codeBytes = reused?.length ?? ExecutableCode.lengthFor(bytes.length);
  const tableBytes = LazyPages.lengthFor(ENTRY_BYTES * ((code.end - code.start + 1) >>> 1));
  let claim: ResourceClaim;
  try {
    claim = drainingPool(() =>
      new ResourceClaim("this program's native code", {
        programs: 1,
        reserved: codeBytes + tableBytes,
        committed: codeBytes,
        code: codeBytes,
        mappings: 2,
      })
    );
  } catch (error) {
    if (reused !== undefined) unusedMapping(reused);
    throw error;
  }
  let executable: ExecutableCode | undefined;
  let table: LazyPages;
  try {
    executable = new ExecutableCode(bytes, reused);
    table = new LazyPages(tableBytes);
  } catch (error) {
    claim.release();
    executable?.dispose();
    throw refusedMapping(error, "this program's native code");
  }
  claim.commit(tablePages(code) * PAGE);
  const parts = { executable, table, claim };
  const entries = bodyOffset.slice(0, code.count); // translation may be a view of reused buffers
  return new CompiledProgram(code, translation.key, bytes.length, parts, entries, onUnused);
}

/**
 * Pages of the jump table that hold entries of instructions (each page the
 * entries of 256 slots, 512 bytes of code): the most that filling entries
 * on use can commit, claimed up front so that no limit can refuse it later.
 */
function tablePages(code: DecodedCode): number {
  const { chunks, slots } = code;
  const SLOTS_PER_PAGE = PAGE / ENTRY_BYTES;
  let pages = 0;
  for (const base of chunks) {
    if (base < 0) continue;
    for (let from = base; from < base + CHUNK_SLOTS; from += SLOTS_PER_PAGE) {
      for (let s = from; s < from + SLOTS_PER_PAGE; s++) {
        if (slots[s] >= 0) {
          pages++;
          break;
        }
      }
    }
  }
  return pages;
}
