/**
 * The translation driver: one linear pass over the decoded program. No IR,
 * no register allocator: O(n) in the program size. A backend either runs
 * its own loop over every instruction (x86-64: one tight loop, for
 * translation speed) or is visited one instruction at a time
 * ({@linkcode InstructionVisitor}, AArch64). The block and gas facts come
 * from abi/code.ts.
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import { FALLS_THROUGH } from "./_lower.ts";

/** What a backend has emitted for a whole program. */
export interface Emitted {
  /** Machine code; offset 0 is the entry routine (a view of a buffer it may reuse). */
  readonly bytes: Uint8Array;
  /** Where the code after the last instruction (cold paths) starts. */
  readonly coldOffset: number;
}

/** What a backend implements. */
export interface Backend {
  /**
   * Emits the routines every program needs (entry, exit, lookups), then
   * every instruction in program order, then the deferred cold code.
   * `startOffset[i]` must be set before any jump to instruction `i` is
   * emitted and `bodyOffset[i]` once it is emitted (see {@linkcode Translation}).
   */
  emit(startOffset: Uint32Array, bodyOffset: Uint32Array): Emitted;
}

/** A backend visited one instruction at a time, in program order, by {@linkcode visitProgram}. */
export interface InstructionVisitor {
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

/** Both offset tables, reused: allocating typed arrays costs microseconds per program. */
let offsets = new Uint32Array(8192);

/** Translates every instruction of `code` with `backend` (made for `code`). */
export function translate(code: DecodedCode, backend: Backend): Translation {
  const count = code.count;
  if (offsets.length < 2 * count) offsets = new Uint32Array(2 * count + 8192);
  const bodyOffset = offsets.subarray(0, count);
  const startOffset = offsets.subarray(count, 2 * count);
  const { bytes, coldOffset } = backend.emit(startOffset, bodyOffset);
  return { bytes, bodyOffset, startOffset, coldOffset };
}

/** {@linkcode Backend.emit} for a visitor: visits every instruction of `code` with `v`. */
export function visitProgram(
  code: DecodedCode,
  v: InstructionVisitor,
  startOffset: Uint32Array,
  bodyOffset: Uint32Array,
): Emitted {
  const { count, leader, segmentEnd, op } = code;
  v.begin(startOffset);
  for (let i = 0; i < count; i++) {
    startOffset[i] = v.offset;
    if (leader[i]) v.blockStart(i);
    bodyOffset[i] = v.offset;
    v.instruction(i);
    if (segmentEnd[i] && FALLS_THROUGH[op[i]]) v.fallOff(i);
  }
  const coldOffset = v.offset;
  return { bytes: v.finish(), coldOffset };
}
