/**
 * The wasm tier's control flow over the program's blocks (in address
 * order): every backward branch or jump becomes a WebAssembly `loop` at its
 * target (loops that would overlap are widened until they nest), every
 * forward one a `br` to the end of a `block` that closes where its target
 * starts. A level (the function, or a loop) opens one such `block` per
 * item (block or nested loop) at its start, so that a branch reaches any
 * later item of its own or an enclosing level.
 *
 * Everything else is dispatched on a block index in the `DISPATCH` local:
 * entries from the engine, indirect jumps, calls backward and branches into
 * the middle of a loop. The function's level is itself a loop, entered with
 * the index: a `br_table` at its head branches to the item holding the
 * block; a loop's head, when an index is pending, does the same over its own
 * items (through a small trampoline for a nested loop, which takes the
 * index on). A loop entered normally finds no index pending (`NONE`) and
 * goes straight on.
 * @module
 */
import { type DecodedCode, Flow } from "../abi/code.ts";
import type { ByteWriter } from "./_binary.ts";

// Opcodes.
const BLOCK = 0x02, LOOP = 0x03, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, BR_TABLE = 0x0e;
const GET = 0x20, SET = 0x21, TEE = 0x22, I32_CONST = 0x41, EQ = 0x46, SUB = 0x6b, VOID = 0x40;

/** The parameter: the block index to dispatch on, {@linkcode NONE} when none is pending. */
export const DISPATCH = 0;
/** The local the index is kept in while a level's `br_table` dispatches on it. */
export const TARGET = 49;
/** `DISPATCH` when no dispatch is pending. */
const NONE = -1;
/** Loops nested deeper than this are not made: their back edges dispatch. */
const MAX_DEPTH = 8;
/** Label of the function's outermost `block`, whose end leads to the epilogue. */
export const EXIT_LABEL = 1;

/** The loops of one translation, by block index. */
export interface Loops {
  /** Per block: one past the last block of the loop it heads, 0 when it heads none. */
  readonly end: Int32Array;
  /** Per block: the header of the innermost loop holding it (its own for a header), -1 for none. */
  readonly innermost: Int32Array;
  /** Per loop header: the header of the loop around it, -1 for none. */
  readonly parent: Int32Array;
}

/**
 * Finds the loops of `code`, whose `blocks` blocks are numbered by
 * `dispatchOf`: one per target of a backward branch or jump (a call, a
 * `JAL` that links, is dispatched instead), reaching to its last source,
 * widened until every two loops nest or are disjoint.
 */
export function findLoops(code: DecodedCode, dispatchOf: Int32Array, blocks: number): Loops {
  const { count, flow, target, leader, rd } = code;
  const end = new Int32Array(blocks);
  let block = -1;
  for (let i = 0; i < count; i++) {
    if (leader[i]) block++;
    const f = flow[i];
    if (f < Flow.BRANCH || target[i] < 0) continue;
    const to = dispatchOf[target[i]];
    if (to > block || (f === Flow.JUMP && rd[i] !== 0)) continue;
    if (block >= end[to]) end[to] = block + 1;
  }
  // Inner loops first: each then skips the loops inside it, already final.
  for (let h = blocks - 1; h >= 0; h--) {
    let e = end[h];
    for (let j = h + 1; j < e;) {
      if (end[j] === 0) j++;
      else {
        if (end[j] > e) e = end[j];
        j = end[j];
      }
    }
    end[h] = e;
  }
  const innermost = new Int32Array(blocks);
  const parent = new Int32Array(blocks);
  const open: number[] = [];
  for (let b = 0; b < blocks; b++) {
    while (open.length > 0 && end[open[open.length - 1]] <= b) open.pop();
    const around = open.length > 0 ? open[open.length - 1] : -1;
    if (end[b] !== 0) {
      if (open.length >= MAX_DEPTH) end[b] = 0;
      else {
        parent[b] = around;
        open.push(b);
      }
    }
    innermost[b] = open.length > 0 ? open[open.length - 1] : -1;
  }
  return { end, innermost, parent };
}

/** Emits the structure of one translation: levels, labels, branches and dispatches. */
export class ControlFlow {
  readonly w: ByteWriter;
  /** Labels open around the code being emitted (a label's number is the depth it opened at). */
  depth = 0;
  /** Depth at the start of the current block: a jump from there to the next block falls through. */
  blockDepth = 0;
  /** Index of the block being lowered. */
  current = 0;
  /** Instruction index that follows the one being lowered (-1 after the last). */
  next = -1;
  /** Block index of each instruction that starts a block, -1 elsewhere. */
  readonly dispatchOf: Int32Array;
  readonly #blocks: number;
  readonly #loops: Loops;
  /** Per block: label of the `block` ending where its item (the block, or the loop it heads) starts. */
  readonly #itemLabel: Int32Array;
  /** Per loop header: its `loop` label. */
  readonly #loopLabel: Int32Array;
  /** The function's dispatch loop's label. */
  #topLabel = 0;
  /** Headers of the loops open, innermost last. */
  readonly #open: number[] = [];
  /** The items of the level being opened, then their labels. */
  readonly #items: Int32Array;
  readonly #labels: Int32Array;

  constructor(w: ByteWriter, dispatchOf: Int32Array, blocks: number, loops: Loops) {
    this.w = w;
    this.dispatchOf = dispatchOf;
    this.#blocks = blocks;
    this.#loops = loops;
    this.#itemLabel = new Int32Array(blocks);
    this.#loopLabel = new Int32Array(blocks);
    this.#items = new Int32Array(blocks);
    this.#labels = new Int32Array(blocks);
  }

  /** Opens a `block`, `loop` or `if` (`opcode`) of `type`; returns its label. */
  open(opcode: number, type = VOID): number {
    this.w.u8x2(opcode, type);
    return ++this.depth;
  }

  /** Ends the innermost construct. */
  close(): void {
    this.w.u8(END);
    this.depth--;
  }

  /** Branches to `label`. */
  br(label: number): void {
    this.w.u8(BR);
    this.w.uleb(this.depth - label);
  }

  /** Opens the exit label and the function's level (before the first block). */
  begin(): void {
    this.open(BLOCK);
    this.#level(-1);
  }

  /** Ends the loops still open and the function's level (after the last block). */
  finish(): void {
    while (this.#open.length > 0) {
      this.#open.pop();
      this.close();
    }
    this.close();
  }

  /** Emits what comes between the previous block and block `b`; `b` is lowered next. */
  enter(b: number): void {
    const end = this.#loops.end;
    const open = this.#open;
    while (open.length > 0 && end[open[open.length - 1]] <= b) {
      open.pop();
      this.close();
    }
    if (b > 0) this.close(); // the label of b's item
    if (end[b] !== 0) this.#level(b);
    this.current = b;
    this.blockDepth = this.depth;
  }

  /** Continues at instruction `target` (a leader): falls through, branches, or dispatches. */
  goto(target: number): void {
    if (target === this.next && this.depth === this.blockDepth) return;
    const to = this.dispatchOf[target];
    const from = this.current;
    const { end, innermost, parent } = this.#loops;
    if (to <= from) {
      if (end[to] > from) this.br(this.#loopLabel[to]);
      else this.dispatch(to);
      return;
    }
    // The outermost loop that holds the target but not this block: entered at its head.
    let outer = -1;
    for (let h = innermost[to]; h > from; h = parent[h]) outer = h;
    if (outer < 0) return this.br(this.#itemLabel[to]);
    if (outer !== to) this.#pend(to);
    this.br(this.#itemLabel[outer]);
  }

  /** Dispatches to block `b` from the function's head. */
  dispatch(b: number): void {
    this.#pend(b);
    this.br(this.#topLabel);
  }

  /** Branches from the function's head with the block index on the stack. */
  dispatchPopped(): void {
    this.w.u8x2(SET, DISPATCH);
    this.br(this.#topLabel);
  }

  #pend(b: number): void {
    this.w.u8(I32_CONST);
    this.w.sleb32(b);
    this.w.u8x2(SET, DISPATCH);
  }

  /**
   * Opens the level of the loop headed by block `h` (-1: the function's):
   * its loop, a `block` per item after the first, and its head: with an
   * index pending, a `br_table` over its blocks.
   */
  #level(h: number): void {
    const w = this.w;
    const end = this.#loops.end;
    const first = h < 0 ? 0 : h;
    const last = h < 0 ? this.#blocks : end[h];
    const label = this.open(LOOP);
    if (h < 0) this.#topLabel = label;
    else {
      this.#loopLabel[h] = label;
      this.#open.push(h);
    }
    const items = this.#items;
    const labels = this.#labels;
    let m = 0;
    for (let j = first; j < last; j = end[j] !== 0 && j !== h ? end[j] : j + 1) items[m++] = j;
    for (let k = m - 1; k > 0; k--) this.#itemLabel[items[k]] = labels[k] = this.open(BLOCK);
    const head = labels[0] = this.open(BLOCK);
    w.u8x2(GET, DISPATCH);
    w.u8x2(I32_CONST, NONE & 0x7f);
    w.u8(EQ);
    w.u8(BR_IF);
    w.uleb(this.depth - head);
    // A trampoline per nested loop: the index goes on to the loop's own dispatch.
    const nested = (j: number) => end[j] !== 0 && j !== h;
    const trampoline = new Int32Array(m);
    for (let k = 0; k < m; k++) if (nested(items[k])) trampoline[k] = this.open(BLOCK);
    w.u8x2(GET, DISPATCH);
    w.u8x2(TEE, TARGET);
    w.u8x2(I32_CONST, NONE & 0x7f);
    w.u8x2(SET, DISPATCH);
    w.u8(I32_CONST);
    w.sleb32(first);
    w.u8(SUB);
    w.u8(BR_TABLE);
    w.uleb(last - first);
    for (let k = 0; k < m; k++) {
      const j = items[k];
      if (!nested(j)) w.uleb(this.depth - labels[k]);
      else for (let b = j; b < end[j]; b++) w.uleb(this.depth - trampoline[k]);
    }
    w.uleb(this.depth - head);
    for (let k = m - 1; k >= 0; k--) {
      if (!nested(items[k])) continue;
      this.close();
      w.u8x2(GET, TARGET);
      w.u8x2(SET, DISPATCH);
      this.br(labels[k]);
    }
    this.close();
  }
}
