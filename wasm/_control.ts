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
import type { ByteWriter } from "./_binary.ts";
import { REGION_SHIFT, type Regions } from "./_regions.ts";

// Opcodes.
const BLOCK = 0x02, LOOP = 0x03, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, BR_TABLE = 0x0e;
const GET = 0x20, SET = 0x21, TEE = 0x22, I32_CONST = 0x41, EQ = 0x46, LT_U = 0x49, SUB = 0x6b;
const VOID = 0x40, I32 = 0x7f;

/** Local indexes: the parameters, the guest registers (see {@linkcode reg}), then the rest. */
export const Local = Object.freeze({
  /** The block's index in the region to dispatch on, {@linkcode NONE} when none is pending. */
  DISPATCH: 0,
  /** How many calls deep this function runs (0: called by the driver). */
  DEPTH: 1,
  /** The return address its caller expects (-1 for the driver, which expects none). */
  RETURN_TO: 2,
  T0: 34,
  T1: 35,
  T2: 36,
  /**
   * What the function returns: the dispatch index of the block to go on
   * with, {@linkcode RETURNED}, or minus the exit reason.
   */
  RESULT: 37,
  EXIT_PC: 38,
  AUX: 39,
  WRITE: 40,
  /** The index while a level's `br_table` dispatches on it. */
  TARGET: 41,
  /** The state block's fields from READ_START to BIAS, those a function reads (see `fieldLocal`). */
  FIELDS: 42,
  /** The only i64 local. */
  GAS: 51,
});
/** A function's result when it returned to the address its caller expects. */
export const RETURNED = 0x7fffffff;
/** The local of guest register `r` (1-31). */
export const reg = (r: number): number => r + 2;

/** `DISPATCH` when no dispatch is pending. */
const NONE = -1;
/** Label of the function's outermost `block`, whose end leads to the epilogue. */
export const LEAVE_LABEL = 1;
/** Label of the `block` inside it an exit branches to: its end stores the exit's details. */
export const TRAP_LABEL = 2;
/** Labels of the exits shared by the function's code (see wasm/_jumps.ts), inside those. */
export const STUB_LABEL = 3;
/** How many labels {@linkcode ControlFlow.begin} opens before the region's level. */
const STUBS = 6;
/** The type index of a block yielding two i32s (wasm/translate.ts declares it). */
export const I32_PAIR_TYPE = 3;
/**
 * The stubs whose labels take values: the pc and gas of the block the interpreter runs the
 * rest of, the pc of the block that ran out of gas, the pc of the jump to no block. A
 * `br_if` carrying them is a check without an `if`, whose state of every local V8's
 * baseline compiler copies.
 */
export const VALUED_STUBS = [STUB_LABEL, STUB_LABEL + 1, STUB_LABEL + 4] as const;
const STUB_TYPES = [I32_PAIR_TYPE, I32, I32];

/** Emits the structure of one region's function: levels, labels, branches and dispatches. */
export class ControlFlow {
  readonly w: ByteWriter;
  /** Labels open around the code being emitted (a label's number is the depth it opened at). */
  depth = 0;
  /** Depth at the start of the current block: a jump from there to the next block falls through. */
  blockDepth = 0;
  /** Index of the block being lowered. */
  current = 0;
  /** Index of the instruction being lowered. */
  instruction = 0;
  /** Instruction index that follows the one being lowered in the region (-1 after its last). */
  next = -1;
  /** Instruction index that follows the one being lowered (-1 after the last). */
  nextInstruction = -1;
  /** Block index of each instruction that starts a block, -1 elsewhere. */
  readonly blockOf: Int32Array;
  /** The region being emitted: its number and blocks. */
  region = 0;
  first = 0;
  last = 0;
  readonly #regions: Regions;
  /** Per block: label of the `block` ending where its item (the block, or the loop it heads) starts. */
  readonly #itemLabel: Int32Array;
  /** Per loop header: its `loop` label. */
  readonly #loopLabel: Int32Array;
  /** The function's dispatch loop's label. */
  #topLabel = 0;
  /** Headers of the loops open, innermost last. */
  readonly #open: number[] = [];
  /** The items of the level being opened, their labels, and their trampolines' labels. */
  readonly #items: Int32Array;
  readonly #labels: Int32Array;
  readonly #trampolines: Int32Array;

  constructor(w: ByteWriter, blockOf: Int32Array, regions: Regions) {
    this.w = w;
    this.blockOf = blockOf;
    this.#regions = regions;
    const n = regions.blocks;
    this.#itemLabel = new Int32Array(n);
    this.#loopLabel = new Int32Array(n);
    this.#items = new Int32Array(n);
    this.#labels = new Int32Array(n);
    this.#trampolines = new Int32Array(n);
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

  /** Branches to `label` if the value on the stack is true. */
  brIf(label: number): void {
    this.w.u8(BR_IF);
    this.w.uleb(this.depth - label);
  }

  /** Opens the exit label and the level of region `r` (before its first block). */
  begin(r: number): void {
    this.region = r;
    this.first = this.#regions.starts[r];
    this.last = this.#regions.starts[r + 1];
    this.depth = 0;
    for (let label = 1; label <= 2 + STUBS; label++) {
      const valued = (VALUED_STUBS as readonly number[]).indexOf(label);
      this.open(BLOCK, valued < 0 ? VOID : STUB_TYPES[valued]);
    }
    this.#level(-1);
  }

  /** Ends the loops still open and the region's level (after its last block). */
  finish(): void {
    while (this.#open.length > 0) {
      this.#open.pop();
      this.close();
    }
    this.close();
  }

  /** Emits what comes between the previous block and block `b`; `b` is lowered next. */
  enter(b: number): void {
    const end = this.#regions.loopEnd;
    const open = this.#open;
    while (open.length > 0 && end[open[open.length - 1]] <= b) {
      open.pop();
      this.close();
    }
    if (b > this.first) this.close(); // the label of b's item
    if (end[b] !== 0) this.#level(b);
    this.current = b;
    this.blockDepth = this.depth;
  }

  /** Continues at instruction `target` (a leader): falls through, branches, or dispatches. */
  goto(target: number): void {
    if (target === this.next && this.depth === this.blockDepth) return;
    const to = this.blockOf[target];
    if (to < this.first || to >= this.last) return this.jumpOut(to);
    const from = this.current;
    const { loopEnd, innermost, parent } = this.#regions;
    if (to <= from) {
      if (loopEnd[to] > from) this.br(this.#loopLabel[to]);
      // No index pending, the function's head goes on with its first block (a recursive call).
      else if (to === this.first) this.br(this.#topLabel);
      else this.dispatch(to);
      return;
    }
    // The outermost loop that holds the target but not this block: entered at its head.
    let outer = -1;
    for (let h = innermost[to]; h > from; h = parent[h]) outer = h;
    if (outer < 0) return this.br(this.#itemLabel[to]);
    if (outer !== to) this.#pend(to - this.first);
    this.br(this.#itemLabel[outer]);
  }

  /** The dispatch index of block `b`: its region's number, then its index there. */
  dispatchIndex(b: number): number {
    const starts = this.#regions.starts;
    let lo = 0, hi = starts.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= b) lo = mid;
      else hi = mid - 1;
    }
    return (lo << REGION_SHIFT) + b - starts[lo];
  }

  /** Dispatches to block `b` of this region from the function's head. */
  dispatch(b: number): void {
    this.#pend(b - this.first);
    this.br(this.#topLabel);
  }

  /**
   * Goes on at the dispatch index on the stack: from the head of the
   * innermost loop around this block that holds it, else of the region, or
   * returning it to the driver.
   */
  dispatchPopped(): void {
    const w = this.w;
    w.u8x2(TEE, Local.RESULT);
    w.u8(I32_CONST);
    w.sleb32(this.region << REGION_SHIFT);
    w.u8(SUB);
    w.u8x2(SET, Local.DISPATCH);
    const { loopEnd, innermost, parent } = this.#regions;
    for (let h = innermost[this.current], k = 0; h >= 0 && k < 2; h = parent[h], k++) {
      this.#within(h, loopEnd[h]);
      w.u8(BR_IF);
      w.uleb(this.depth - this.#loopLabel[h]);
    }
    this.#within(this.first, this.last);
    w.u8(BR_IF);
    w.uleb(this.depth - this.#topLabel);
    this.br(LEAVE_LABEL);
  }

  /** Pushes whether DISPATCH indexes a block in `[from, to)`. */
  #within(from: number, to: number): void {
    this.w.u8x2(GET, Local.DISPATCH);
    this.#from(from);
    this.w.u8(I32_CONST);
    this.w.sleb32(to - from);
    this.w.u8(LT_U);
  }

  /** Makes the block index on the stack relative to block `from` of the region. */
  #from(from: number): void {
    if (from === this.first) return;
    this.w.u8(I32_CONST);
    this.w.sleb32(from - this.first);
    this.w.u8(SUB);
  }

  /** Continues at block `to` of another region. */
  jumpOut(to: number): void {
    this.leave(this.dispatchIndex(to));
  }

  /** Leaves the function with RESULT if the value on the stack is true. */
  leaveIf(): void {
    this.w.u8(BR_IF);
    this.w.uleb(this.depth - LEAVE_LABEL);
  }

  /** Leaves the function for the block of dispatch index `index` (in another region). */
  leave(index: number): void {
    this.w.u8(I32_CONST);
    this.w.sleb32(index);
    this.w.u8x2(SET, Local.RESULT);
    this.br(LEAVE_LABEL);
  }

  #pend(index: number): void {
    this.w.u8(I32_CONST);
    this.w.sleb32(index);
    this.w.u8x2(SET, Local.DISPATCH);
  }

  /**
   * Opens the level of the loop headed by block `h` (-1: the region's):
   * its loop, a `block` per item after the first, and its head: with an
   * index pending, a `br_table` over its blocks.
   */
  #level(h: number): void {
    const w = this.w;
    const end = this.#regions.loopEnd;
    const first = h < 0 ? this.first : h;
    const last = h < 0 ? this.last : end[h];
    const label = this.open(LOOP);
    if (h < 0) this.#topLabel = label;
    else {
      this.#loopLabel[h] = label;
      this.#open.push(h);
    }
    const items = this.#items;
    const labels = this.#labels;
    const trampolines = this.#trampolines;
    let m = 0;
    for (let j = first; j < last; j = end[j] !== 0 && j !== h ? end[j] : j + 1) items[m++] = j;
    for (let k = m - 1; k > 0; k--) this.#itemLabel[items[k]] = labels[k] = this.open(BLOCK);
    if (h >= 0 && this.#regions.entered[h] === 0) return; // a closed loop: entered at its head only
    const head = labels[0] = this.open(BLOCK);
    w.u8x2(GET, Local.DISPATCH);
    w.u8x2(I32_CONST, NONE & 0x7f);
    w.u8(EQ);
    w.u8(BR_IF);
    w.uleb(this.depth - head);
    // A trampoline per nested loop: the index goes on to the loop's own dispatch.
    const entered = this.#regions.entered;
    const nested = (j: number) => end[j] !== 0 && j !== h && entered[j] === 1;
    for (let k = 0; k < m; k++) if (nested(items[k])) trampolines[k] = this.open(BLOCK);
    w.u8x2(GET, Local.DISPATCH);
    w.u8x2(TEE, Local.TARGET);
    w.u8x2(I32_CONST, NONE & 0x7f);
    w.u8x2(SET, Local.DISPATCH);
    this.#from(first);
    w.u8(BR_TABLE);
    w.uleb(last - first);
    for (let k = 0; k < m; k++) {
      const j = items[k];
      const to = this.depth - (nested(j) ? trampolines[k] : labels[k]);
      const blocks = end[j] !== 0 && j !== h ? end[j] - j : 1;
      for (let b = 0; b < blocks; b++) w.uleb(to);
    }
    w.uleb(this.depth - head);
    for (let k = m - 1; k >= 0; k--) {
      if (!nested(items[k])) continue;
      this.close();
      w.u8x2(GET, Local.TARGET);
      w.u8x2(SET, Local.DISPATCH);
      this.br(labels[k]);
    }
    this.close();
  }
}
