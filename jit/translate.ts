/**
 * The translation driver: one linear pass over the decoded program, handing
 * each instruction to a backend (a visitor that emits machine code for it).
 * No IR, no register allocator: O(n) in the program size. Backends differ
 * only in how they encode; the block and gas facts come from abi/code.ts.
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import { Op, OPS } from "../abi/isa.ts";

/** What a backend implements; the driver calls it in program order. */
export interface Backend {
  /** Bytes emitted so far. */
  readonly offset: number;
  /**
   * Emits the routines every program needs (entry, exit, lookups).
   * `starts` is the driver's table of instruction start offsets: entry `i`
   * is set before `blockStart(i)` and `instruction(i)` run, so a jump to an
   * instruction already emitted can be encoded at once.
   */
  begin(starts: Uint32Array): void;
  /** Starts basic block `i` (binds its label, charges its entry cost). */
  blockStart(i: number): void;
  /** Emits instruction `i`. */
  instruction(i: number): void;
  /** Execution would run past the end of a code segment after instruction `i`. */
  fallOff(i: number): void;
  /** Emits deferred cold code and resolves labels. */
  finish(): Uint8Array;
}

/** A translated program, before it is mapped executable. */
export interface Translation {
  /**
   * Machine code; offset 0 is the entry routine. It may be a view of a
   * buffer the backend reuses for its next translation: copy it (as
   * jit/exec_memory.ts does) before translating again.
   */
  readonly bytes: Uint8Array;
  /**
   * Per instruction: offset of its body (after any block charge). Like
   * `bytes` and `startOffset`, a view of a table reused by the next
   * translation.
   */
  readonly bodyOffset: Uint32Array;
  /** Per instruction: offset of its first byte (its block charge, if it starts a block). */
  readonly startOffset: Uint32Array;
  /** Where the code after the last instruction (cold paths) starts. */
  readonly coldOffset: number;
}

/** Whether control can continue to the next instruction without an exit. */
function fallsThrough(op: number): boolean {
  return op !== Op.JAL && op !== Op.JALR && op !== Op.ECALL && op !== Op.EBREAK
    && OPS[op].kind !== "invalid";
}

/** Both offset tables, reused: allocating typed arrays costs microseconds per program. */
let offsets = new Uint32Array(8192);

/** Translates every instruction of `code` with `backend`. */
export function translate(code: DecodedCode, backend: Backend): Translation {
  const { count, leader, segmentEnd, op } = code;
  if (offsets.length < 2 * count) offsets = new Uint32Array(2 * count + 8192);
  const bodyOffset = offsets.subarray(0, count);
  const startOffset = offsets.subarray(count);
  backend.begin(startOffset);
  for (let i = 0; i < count; i++) {
    startOffset[i] = backend.offset;
    if (leader[i]) backend.blockStart(i);
    bodyOffset[i] = backend.offset;
    backend.instruction(i);
    if (segmentEnd[i] && fallsThrough(op[i])) backend.fallOff(i);
  }
  const coldOffset = backend.offset;
  return { bytes: backend.finish(), bodyOffset, startOffset, coldOffset };
}
