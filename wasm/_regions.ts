/**
 * The wasm tier's view of the program's control flow, by block (blocks are
 * numbered in address order): the regions, each translated to a
 * WebAssembly function of its own, and the loops within them.
 *
 * A region starts at the first block, at every call target (the target of
 * a `JAL` that links) and after a return (`JALR x0, 0(ra)`, after which
 * another function most likely begins) once it has
 * {@linkcode MIN_REGION_BLOCKS}: a guest function or several, so that a
 * loop rarely crosses regions. Small functions compile much faster than
 * large ones (V8's compilers take time superlinear in a function's size).
 *
 * A loop is made at the target of every backward branch or jump within a
 * region, reaching to its last source, and widened until every two loops
 * nest or are disjoint.
 * @module
 */
import { type DecodedCode, Flow } from "../abi/code.ts";
import { Op } from "../abi/isa.ts";

/**
 * Most blocks one region may have: V8 accepts a `br_table` of at most
 * 65520 targets, and a block's index within its region takes 16 bits.
 */
export const MAX_REGION_BLOCKS = 65519;
/**
 * Most instructions one region may have: its function stays below V8's
 * 7,654,321 bytes (an instruction takes at most about 700, a call with
 * every register to save and load again; a function of 20,000 such calls
 * was refused).
 */
const MAX_REGION_INSTRUCTIONS = 1 << 13;
/**
 * Fewest blocks a region takes in before the next function may start
 * another: V8 moves a function to its optimizing compiler once it has run a
 * budget of code of its own, which a small function called a few thousand
 * times never does. Measured on contract (1024 functions of a few blocks,
 * called through a table): one function each 3x slower than 16 blocks, 64
 * blocks 1.35x faster again (export calls reach optimized code after 200,000
 * calls instead of 300,000); 256 made matrix 1.5x slower.
 */
const MIN_REGION_BLOCKS = 64;
/** `start` of a call target (2), which starts a region whatever its size; 1 after a return. */
const CALLED = 2;
/** A block's dispatch index is its region's number shifted by this, plus its index in the region. */
export const REGION_SHIFT = 16;
/** Most regions: dispatch indexes stay positive int32. */
export const MAX_REGIONS = 0x7fff;
/** Loops nested deeper than this are not made: their back edges dispatch. */
const MAX_DEPTH = 8;

/** The regions and loops of one translation, by block. */
export interface Regions {
  /** Number of blocks. */
  readonly blocks: number;
  /** First block of each region, then the number of blocks. */
  readonly starts: Int32Array;
  /** Per block: one past the last block of the loop it heads, 0 when it heads none. */
  readonly loopEnd: Int32Array;
  /** Per block: the header of the innermost loop holding it (its own for a header), -1 for none. */
  readonly innermost: Int32Array;
  /** Per loop header: the header of the loop around it, -1 for none. */
  readonly parent: Int32Array;
  /**
   * Per loop header: 1 when the loop may be entered elsewhere than at its
   * head (it holds a call, a return site, an indirect jump or another loop,
   * or a branch from outside lands inside): its head then dispatches. 0 for
   * a closed loop, which only its head enters.
   */
  readonly entered: Uint8Array;
  /** Per block: 1 unless it lies inside a closed loop (past its head). */
  readonly dispatchable: Uint8Array;
}

/**
 * Finds the regions and loops of `code`, whose leaders are numbered by
 * `blockOf` (-1 for other instructions); `blocks` of them.
 */
export function findRegions(code: DecodedCode, blockOf: Int32Array, blocks: number): Regions {
  const { count, flow, target, rd } = code;
  const start = new Uint8Array(blocks);
  start[0] = 1;
  const { op, rs1 } = code;
  for (let i = 0; i < count; i++) {
    // After a return, another function most likely begins.
    if (op[i] === Op.JALR && rd[i] === 0 && rs1[i] === 1 && i + 1 < count) {
      start[blockOf[i + 1]] ||= 1;
    }
    if (flow[i] === Flow.JUMP && target[i] >= 0 && rd[i] !== 0) start[blockOf[target[i]]] = CALLED;
  }
  const starts = cut(code, blockOf, start);
  const loopEnd = new Int32Array(blocks);
  let block = -1;
  let first = 0;
  for (let i = 0; i < count; i++) {
    if (blockOf[i] >= 0) {
      block = blockOf[i];
      if (start[block] === 1) first = block;
    }
    const f = flow[i];
    if (f < Flow.BRANCH || target[i] < 0) continue;
    const to = blockOf[target[i]];
    if (to > block || to < first || (f === Flow.JUMP && rd[i] !== 0)) continue;
    if (block >= loopEnd[to]) loopEnd[to] = block + 1;
  }
  const region = { blocks, starts: Int32Array.from(starts), loopEnd };
  widen(loopEnd);
  const loops = { ...region, ...nest(region) };
  return { ...loops, ...entries(code, blockOf, loops) };
}

/** Which loops are entered elsewhere than at their head, and so which blocks may be dispatched to. */
function entries(
  code: DecodedCode,
  blockOf: Int32Array,
  { blocks, loopEnd, innermost, parent }: Pick<
    Regions,
    "blocks" | "loopEnd" | "innermost" | "parent"
  >,
): Pick<Regions, "entered" | "dispatchable"> {
  const { count, flow, target, rd } = code;
  const entered = new Uint8Array(blocks);
  let block = -1;
  for (let i = 0; i < count; i++) {
    if (blockOf[i] >= 0) block = blockOf[i];
    const f = flow[i];
    if (f === Flow.NONE) continue;
    if ((f === Flow.END || (f === Flow.JUMP && rd[i] !== 0)) && innermost[block] >= 0) {
      entered[innermost[block]] = 1;
    }
    if (f < Flow.BRANCH || target[i] < 0) continue;
    // The loops around the target but not the branch: entered at their head, or not.
    const to = blockOf[target[i]];
    for (let h = innermost[to]; h >= 0 && !(h <= block && block < loopEnd[h]); h = parent[h]) {
      if (h !== to) entered[h] = 1;
    }
  }
  // Only innermost loops stay closed: from inside one, the interpreter reaches a
  // block it may leave to (its head, or one after it) within one iteration.
  for (let h = blocks - 1; h >= 0; h--) {
    if (loopEnd[h] !== 0 && parent[h] >= 0) entered[parent[h]] = 1;
  }
  const dispatchable = new Uint8Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let closed = -1; // the outermost closed loop around b
    for (let h = innermost[b]; h >= 0; h = parent[h]) if (entered[h] === 0) closed = h;
    dispatchable[b] = closed < 0 || closed === b ? 1 : 0;
  }
  return { entered, dispatchable };
}

/**
 * The regions' first blocks, then the number of blocks: a region starts at
 * each call target marked in `start`, and at each other block marked once
 * it has {@linkcode MIN_REGION_BLOCKS} (`start` is updated to the chosen
 * starts); merged with the next while there would be more than
 * {@linkcode MAX_REGIONS}, and cut where one
 * reaches {@linkcode MAX_REGION_BLOCKS} blocks or
 * {@linkcode MAX_REGION_INSTRUCTIONS} instructions.
 */
function cut(code: DecodedCode, blockOf: Int32Array, start: Uint8Array): Int32Array {
  const blocks = start.length;
  let marked = 0;
  for (let b = 0; b < blocks; b++) marked += start[b] === 0 ? 0 : 1;
  // With too many, a region takes in the next ones until it has this many blocks.
  const crowded = marked > MAX_REGIONS / 2;
  const least = crowded ? Math.ceil((2 * blocks) / MAX_REGIONS) : MIN_REGION_BLOCKS;
  const starts: number[] = [];
  let first = 0, firstInstruction = 0;
  for (let i = 0; i < code.count; i++) {
    const b = blockOf[i];
    if (b < 0) continue;
    const open = b === 0 || (start[b] === CALLED && !crowded)
      || (start[b] !== 0 && b - first >= least)
      || b - first >= MAX_REGION_BLOCKS || i - firstInstruction >= MAX_REGION_INSTRUCTIONS;
    start[b] = open ? 1 : 0;
    if (!open) continue;
    starts.push(b);
    first = b;
    firstInstruction = i;
  }
  starts.push(blocks);
  return Int32Array.from(starts);
}

/** Widens overlapping loops until they nest: inner loops first, each then skips those inside it. */
function widen(loopEnd: Int32Array): void {
  for (let h = loopEnd.length - 1; h >= 0; h--) {
    let e = loopEnd[h];
    for (let j = h + 1; j < e;) {
      if (loopEnd[j] === 0) j++;
      else {
        if (loopEnd[j] > e) e = loopEnd[j];
        j = loopEnd[j];
      }
    }
    loopEnd[h] = e;
  }
}

/**
 * The nesting of the loops (dropping those too deep, and those a region
 * boundary would cut, which widening may make).
 */
function nest(
  { blocks, starts, loopEnd }: Pick<Regions, "blocks" | "starts" | "loopEnd">,
): Pick<Regions, "innermost" | "parent"> {
  const innermost = new Int32Array(blocks);
  const parent = new Int32Array(blocks);
  const open: number[] = [];
  let region = 0;
  for (let b = 0; b < blocks; b++) {
    if (b === starts[region + 1]) {
      region++;
      open.length = 0;
    }
    while (open.length > 0 && loopEnd[open[open.length - 1]] <= b) open.pop();
    if (loopEnd[b] !== 0) {
      if (open.length >= MAX_DEPTH || loopEnd[b] > starts[region + 1]) loopEnd[b] = 0;
      else {
        parent[b] = open.length > 0 ? open[open.length - 1] : -1;
        open.push(b);
      }
    }
    innermost[b] = open.length > 0 ? open[open.length - 1] : -1;
  }
  return { innermost, parent };
}
