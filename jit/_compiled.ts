/**
 * A program translated to native code once and shared by all its instances
 * (the code refers to instance state only through the base register), with
 * the per-slot tables that indirect jumps and host re-entries use.
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import type { ProgramImage } from "../abi/load.ts";
import { A64Backend } from "./a64/backend.ts";
import { createEntry } from "./entry.ts";
import { ExecutableCode } from "./exec_memory.ts";
import { translate } from "./translate.ts";
import { X64Backend } from "./x64/backend.ts";

/** The native form of a program. */
export interface CompiledProgram {
  /** The decoded program it was translated from. */
  readonly code: DecodedCode;
  /** The jump table (see `State.JUMP_TABLE`) as u32 words: address low, high, cost low, high. */
  readonly jumpWords: Uint32Array;
  /** Host address of the jump table, for the state block. */
  readonly jumpTablePointer: bigint;
  /** Machine code size in bytes. */
  readonly codeSize: number;
  /** Calls the entry routine with the host address of guest address 0. */
  readonly enter: (base: Deno.PointerValue) => void;
  /** Keeps the code mapped while the program lives. */
  readonly executable: ExecutableCode;
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

/** Translates `image` on first use; later instances share the result. */
export function compiledProgram(image: ProgramImage): CompiledProgram {
  let compiled = cache.get(image);
  if (!compiled) {
    compiled = compile(image.code);
    cache.set(image, compiled);
  }
  return compiled;
}

function compile(code: DecodedCode): CompiledProgram {
  const backend = Deno.build.arch === "aarch64" ? new A64Backend(code) : new X64Backend(code);
  const translation = translate(code, backend);
  const executable = new ExecutableCode(translation.bytes);
  // Host addresses are below 2^53, so Number arithmetic is exact (and much faster than BigInt).
  const base = Number(executable.address);
  const slots = (code.end - code.start + 1) >>> 1;
  const table = new BigUint64Array(2 * slots);
  const words = new Uint32Array(table.buffer);
  for (let i = 0; i < code.count; i++) {
    const s = (code.pc[i] - code.start) >>> 1;
    const address = base + translation.bodyOffset[i];
    words[4 * s] = address % 2 ** 32;
    words[4 * s + 1] = Math.floor(address / 2 ** 32);
    words[4 * s + 2] = code.entryCost[i];
  }
  const pointer = (a: BufferSource) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a)));
  return {
    code,
    jumpWords: words,
    jumpTablePointer: pointer(table),
    codeSize: translation.bytes.length,
    enter: createEntry(executable),
    executable,
  };
}
