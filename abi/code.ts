/**
 * The decoded program: every instruction of every code segment, decoded once
 * into flat typed arrays, with the basic-block and gas facts of
 * abi/README.md §4 precomputed. Every tier translates from this one stream.
 * @module
 */
import { Slab } from "./_recycle.ts";
import {
  decodeInstruction,
  ENDS_BLOCK,
  narrowSlot,
  newDecodedInstruction,
  wideSlot,
} from "./decode.ts";
import { GAS_COST } from "./gas.ts";
import { Op, OPS } from "./isa.ts";

/** Bytes of one executable segment. */
export interface CodeSegment {
  /** Address of the first byte. */
  readonly start: number;
  /** The segment's file bytes (its zero-filled tail is not code). */
  readonly bytes: Uint8Array;
}

/**
 * The slot index is two-level, in chunks of this many bytes of code address
 * space, so that its size follows the code and not the address span it
 * covers (code segments may lie far apart).
 */
export const CHUNK_SHIFT = 12;
/** 2-byte slots per chunk. */
export const CHUNK_SLOTS = 1 << (CHUNK_SHIFT - 1);

/** The operand fields of every instruction, indexed like {@linkcode DecodedCode}. */
export interface DecodedOperands {
  /** Op number (abi/isa.ts). */
  readonly op: Uint8Array;
  /** Destination register. */
  readonly rd: Uint8Array;
  /** First source register. */
  readonly rs1: Uint8Array;
  /** Second source register. */
  readonly rs2: Uint8Array;
  /** Immediate (branch/jump offsets are relative to the instruction). */
  readonly imm: Int32Array;
}

/** How an instruction ends a basic block (`DecodedCode.flow`). */
export const Flow = {
  /** It does not. */
  NONE: 0,
  /** As a terminator without a static target: JALR, ECALL, EBREAK. */
  END: 1,
  /** As a conditional branch. */
  BRANCH: 2,
  /** As a JAL. */
  JUMP: 3,
} as const;

/** {@linkcode Flow} of each op. */
export const OP_FLOW: Uint8Array = Uint8Array.from(
  OPS,
  (info) =>
    info.kind === "branch"
      ? Flow.BRANCH
      : info.kind === "jal"
      ? Flow.JUMP
      : info.terminator
      ? Flow.END
      : Flow.NONE,
);

/**
 * Instructions in address order. Index `i` describes the instruction at
 * `pc[i]`. The block structure (abi/README.md §4) is known as soon as the
 * code is loaded; the operand fields may be decoded only when first read
 * (`operands` decodes a range without the rest): a call that runs a few
 * functions of a large program then decodes only those.
 */
export interface DecodedCode extends DecodedOperands {
  /** Number of instructions. */
  readonly count: number;
  /** Guest address of each instruction. */
  readonly pc: Uint32Array;
  /** Encoded length in bytes (2 or 4). */
  readonly size: Uint8Array;
  /** {@linkcode Flow} of each instruction. */
  readonly flow: Uint8Array;
  /**
   * For a direct branch or JAL: the index of the instruction its target
   * starts, or -1 when no instruction starts there. Undefined elsewhere.
   */
  readonly target: Int32Array;
  /** 1 when the instruction starts a basic block. */
  readonly leader: Uint8Array;
  /** 1 when the instruction is the last of its code segment. */
  readonly segmentEnd: Uint8Array;
  /**
   * Gas charged when execution enters at this instruction (cost to the end
   * of its block). Reading it computes every instruction's; `costs` computes
   * a range without the rest.
   */
  readonly entryCost: Uint32Array;
  /** For ECALL: the import number of the site, else -1 (filled by the loader). */
  readonly hostcall: Int32Array;
  /** Lowest code address. */
  readonly start: number;
  /** One past the highest code address. */
  readonly end: number;
  /**
   * For each chunk of `[start, end)` (`CHUNK_SHIFT`): where its `CHUNK_SLOTS`
   * slots begin in `slots`, or -1 when no code lies in it.
   */
  readonly chunks: Int32Array;
  /** Instruction index for each 2-byte slot of the chunks that hold code, -1 where none starts. */
  readonly slots: Int32Array;
  /**
   * The operand arrays with at least instructions `[from, to)` decoded (the
   * same arrays the fields above return, which decode everything).
   */
  operands(from: number, to: number): DecodedOperands;
  /**
   * `entryCost` with at least instructions `[from, to)` computed. The blocks
   * must be final ({@linkcode computeBlocks} has run).
   */
  costs(from: number, to: number): Uint32Array;
  /** How many instructions have their operands decoded so far (`count` once all have). */
  readonly decoded: number;
  /**
   * The memory of all these arrays, given back for the next program once
   * nothing can use them (`Program.dispose` with no instance left).
   */
  readonly slabs: readonly Slab[];
}

/**
 * The value `table` (laid out like `DecodedCode.slots`) holds for the slot at
 * `offset` bytes into code of `length` bytes indexed by `chunks`, or -1 where
 * no instruction starts.
 */
export function slotValue(
  chunks: Int32Array,
  table: Int32Array,
  length: number,
  offset: number,
): number {
  if (offset < 0 || offset >= length || (offset & 1) !== 0) return -1;
  const chunk = chunks[offset >>> CHUNK_SHIFT];
  return chunk < 0 ? -1 : table[chunk + ((offset & ((1 << CHUNK_SHIFT) - 1)) >>> 1)];
}

/** Returns the index of the instruction starting at `pc`, or -1. */
export function instructionAt(code: DecodedCode, pc: number): number {
  return slotValue(code.chunks, code.slots, code.end - code.start, pc - code.start);
}

/** The arrays of a {@linkcode DecodedCode}, before it knows its instruction count. */
export type CodeArrays =
  & Omit<DecodedCode, "count" | "leader" | "operands" | "costs" | "decoded" | "slabs">
  & {
    /** The leader array, one longer than the code: `leaders[i + 1]` may be written for any `i`. */
    readonly leaders: Uint8Array;
    /** Where the arrays live. */
    readonly slabs: Slab[];
  };

/**
 * Allocates the arrays for up to `count` instructions over `segments`
 * (non-empty, sorted, apart), those the sweep does not write (`late`) for
 * `late` instructions: `hostcall` all -1, and the slot index ready to
 * fill: CHUNK_SLOTS slots, all -1, for each chunk that holds code bytes,
 * numbered in address order. Separate arrays, not views of one buffer: a
 * short-lived buffer of half a megabyte grows and trims the C heap on every
 * load (measured ~0.4 ms per 512 KiB allocation, in page faults), while
 * arrays of a few dozen kilobytes reuse freed memory.
 */
export function allocateArrays(
  segments: readonly CodeSegment[],
  count: number,
  late: number = count,
): CodeArrays {
  const start = segments[0].start;
  const last = segments[segments.length - 1];
  const end = last.start + last.bytes.length;
  const chunkOf = (address: number) => (address - start) >>> CHUNK_SHIFT;
  const chunkCount = chunkOf(end - 1) + 1;
  // Only a segment's first chunk can be its predecessor's last.
  let used = 0, previous = -1;
  for (const s of segments) {
    const first = chunkOf(s.start), lastChunk = chunkOf(s.start + s.bytes.length - 1);
    used += lastChunk - first + (first === previous ? 0 : 1);
    previous = lastChunk;
  }
  const slotCount = used * CHUNK_SLOTS;
  const slab = new Slab(
    Slab.size(4 * count, 4 * chunkCount, 4 * slotCount, count, count, count) + Slab.size(count + 1),
  );
  const pc = slab.u32(count);
  const chunks = slab.i32(chunkCount).fill(-1);
  const slots = slab.i32(slotCount).fill(-1);
  const size = slab.u8(count);
  const segmentEnd = slab.u8(count);
  const flow = slab.u8(count);
  const leaders = slab.u8(count + 1);
  let next = 0;
  for (const s of segments) {
    for (let c = chunkOf(s.start); c <= chunkOf(s.start + s.bytes.length - 1); c++) {
      if (chunks[c] < 0) chunks[c] = CHUNK_SLOTS * next++;
    }
  }
  const lateArrays = late === 0 ? undefined : allocateLate(late);
  return {
    ...{ start, end, pc, size, flow, leaders, segmentEnd, chunks, slots },
    ...(lateArrays ?? EMPTY_LATE),
    slabs: lateArrays ? [slab, lateArrays.slab] : [slab],
  };
}

/** The arrays nothing writes while the code is swept: allocated for the exact count. */
function allocateLate(count: number) {
  const slab = new Slab(4 * Slab.size(4 * count) + 4 * Slab.size(count));
  return {
    slab,
    entryCost: slab.u32(count),
    target: slab.i32(count),
    hostcall: slab.i32(count).fill(-1),
    op: slab.u8(count),
    rd: slab.u8(count),
    rs1: slab.u8(count),
    rs2: slab.u8(count),
    imm: slab.i32(count),
  };
}

const EMPTY_LATE = (({ slab: _, ...arrays }) => arrays)(allocateLate(0));

/** Instructions decoded together when operands are first read. */
const GROUP_SHIFT = 6;

/** Every cost equal (today: 1): entry costs then need no op, only the block structure. */
const UNIFORM_COST = GAS_COST.every((c) => c === GAS_COST[0]) ? GAS_COST[0] : -1;

/** Code whose operands are decoded in groups, on first use. */
class LazyCode implements DecodedCode {
  readonly count: number;
  readonly start: number;
  readonly end: number;
  readonly pc: Uint32Array;
  readonly size: Uint8Array;
  readonly flow: Uint8Array;
  readonly target: Int32Array;
  readonly leader: Uint8Array;
  readonly segmentEnd: Uint8Array;
  readonly hostcall: Int32Array;
  readonly chunks: Int32Array;
  readonly slots: Int32Array;
  readonly slabs: readonly Slab[];
  readonly #operands: DecodedOperands;
  readonly #entryCost: Uint32Array;
  /** Per group: 1 once every entry cost in it is computed. */
  readonly #costed: Uint8Array;
  #allCosted = false;
  readonly #segments: readonly CodeSegment[];
  readonly #rve: boolean;
  /** Per group of 2^GROUP_SHIFT instructions: 1 once decoded. */
  readonly #decoded: Uint8Array;
  #all = false;
  #groups = 0;

  constructor(
    arrays: CodeArrays,
    count: number,
    segments: readonly CodeSegment[],
    rve: boolean,
  ) {
    const cut = <T extends { subarray(from: number, to: number): T; }>(a: T) =>
      a.subarray(0, count);
    this.count = count;
    this.start = arrays.start;
    this.end = arrays.end;
    this.pc = cut(arrays.pc);
    this.size = cut(arrays.size);
    this.flow = cut(arrays.flow);
    this.target = cut(arrays.target);
    this.leader = cut(arrays.leaders);
    this.segmentEnd = cut(arrays.segmentEnd);
    this.#entryCost = cut(arrays.entryCost);
    this.#costed = new Uint8Array((count >>> GROUP_SHIFT) + 1);
    this.hostcall = cut(arrays.hostcall);
    this.chunks = arrays.chunks;
    this.slots = arrays.slots;
    this.slabs = arrays.slabs;
    this.#operands = {
      op: cut(arrays.op),
      rd: cut(arrays.rd),
      rs1: cut(arrays.rs1),
      rs2: cut(arrays.rs2),
      imm: cut(arrays.imm),
    };
    this.#segments = segments;
    this.#rve = rve;
    this.#decoded = new Uint8Array((count >>> GROUP_SHIFT) + 1);
  }

  get entryCost(): Uint32Array {
    return this.costs(0, this.count);
  }

  costs(from: number, to: number): Uint32Array {
    if (this.#allCosted) return this.#entryCost;
    const costed = this.#costed;
    for (let g = from >>> GROUP_SHIFT; g < costed.length && g << GROUP_SHIFT < to; g++) {
      if (costed[g] === 0) {
        this.#costFrom(g << GROUP_SHIFT, Math.min(this.count, (g + 1) << GROUP_SHIFT));
      }
    }
    if (from === 0 && to === this.count) this.#allCosted = true;
    return this.#entryCost;
  }

  /** Blocks changed (new leaders): every cost is computed again when next asked for. */
  forgetCosts(): void {
    this.#costed.fill(0);
    this.#allCosted = false;
  }

  /**
   * Computes the costs of `[from, to)` (`from` starts a group): back from
   * the end of the block holding `to - 1`, or from the first instruction of
   * a group already computed, so that a long block is walked once.
   */
  #costFrom(from: number, to: number): void {
    const { count, flow, segmentEnd, leader } = this;
    const costs = this.#entryCost;
    const costed = this.#costed;
    const ends = (j: number) =>
      flow[j] !== 0 || segmentEnd[j] === 1 || (j + 1 < count && leader[j + 1] === 1);
    let last = to - 1;
    let cost = 0;
    while (!ends(last)) {
      const next = last + 1;
      if ((next & ((1 << GROUP_SHIFT) - 1)) === 0 && costed[next >>> GROUP_SHIFT] === 1) {
        cost = costs[next];
        break;
      }
      last = next;
    }
    const op = UNIFORM_COST < 0 ? this.operands(from, last + 1).op : undefined;
    for (let j = last; j >= from; j--) {
      const own = op === undefined ? UNIFORM_COST : GAS_COST[op[j]];
      cost = ends(j) ? own : own + cost;
      costs[j] = cost;
    }
    // Every group [from, last] covers whole is done (the last one too when it ends the code).
    const end = last + 1 === count ? costed.length : (last + 1) >>> GROUP_SHIFT;
    for (let g = from >>> GROUP_SHIFT; g < end; g++) costed[g] = 1;
  }

  get decoded(): number {
    return this.#all ? this.count : Math.min(this.count, this.#groups << GROUP_SHIFT);
  }

  get op(): Uint8Array {
    return this.#everything().op;
  }
  get rd(): Uint8Array {
    return this.#everything().rd;
  }
  get rs1(): Uint8Array {
    return this.#everything().rs1;
  }
  get rs2(): Uint8Array {
    return this.#everything().rs2;
  }
  get imm(): Int32Array {
    return this.#everything().imm;
  }

  #everything(): DecodedOperands {
    if (!this.#all) {
      this.operands(0, this.count);
      this.#all = true;
    }
    return this.#operands;
  }

  operands(from: number, to: number): DecodedOperands {
    if (this.#all) return this.#operands;
    if (from < 0 || to > this.count || from > to) {
      throw new RangeError(`instructions [${from}, ${to}) of ${this.count}`);
    }
    for (let g = from >>> GROUP_SHIFT; g < this.#decoded.length && g << GROUP_SHIFT < to; g++) {
      if (this.#decoded[g] === 0) {
        this.#decodeGroup(g << GROUP_SHIFT, Math.min(this.count, (g + 1) << GROUP_SHIFT));
        this.#decoded[g] = 1;
        this.#groups++;
      }
    }
    return this.#operands;
  }

  #decodeGroup(from: number, to: number): void {
    const { op, rd, rs1, rs2, imm } = this.#operands;
    const { pc, size } = this;
    const segments = this.#segments;
    const d = newDecodedInstruction();
    let s = 0;
    while (segments[s].start + segments[s].bytes.length <= pc[from]) s++;
    for (let i = from; i < to; i++) {
      while (segments[s].start + segments[s].bytes.length <= pc[i]) s++;
      const bytes = segments[s].bytes;
      const offset = pc[i] - segments[s].start;
      if (offset + size[i] > bytes.length) {
        // An instruction cut off by the end of the segment's code can never execute.
        d.op = Op.INVALID;
        d.rd =
          d.rs1 =
          d.rs2 =
          d.imm =
            0;
      } else {
        decodeInstruction(
          bytes[offset] | (bytes[offset + 1] << 8),
          size[i] === 4 ? bytes[offset + 2] | (bytes[offset + 3] << 8) : 0,
          this.#rve,
          d,
        );
      }
      op[i] = d.op;
      rd[i] = d.rd;
      rs1[i] = d.rs1;
      rs2[i] = d.rs2;
      imm[i] = d.imm;
    }
  }
}

/**
 * Sweeps the code segments (sorted by address, non-overlapping) for
 * instruction starts and the block structure (abi/README.md §4, leaders of
 * entries excepted: {@linkcode computeBlocks} adds them). Only instructions
 * that may end a block are decoded here; the rest when their operands are
 * first read.
 */
export function decodeCode(segments: readonly CodeSegment[], rve: boolean): DecodedCode {
  segments = segments.filter((s) => s.bytes.length > 0);
  if (segments.length === 0) throw new RangeError("no code to decode");
  let capacity = 0;
  for (const s of segments) capacity += (s.bytes.length + 1) >>> 1;
  const swept = allocateArrays(segments, capacity, 0);
  const start = swept.start;
  const { pc, size, flow, leaders: leader, segmentEnd, chunks, slots } = swept;
  const chunkMask = (1 << CHUNK_SHIFT) - 1;
  const d = newDecodedInstruction();
  const direct: number[] = []; // direct branches and JALs and their target addresses, in pairs
  let count = 0;
  for (const segment of segments) {
    const bytes = segment.bytes;
    const n = bytes.length;
    leader[count] = 1;
    let offset = 0;
    while (offset < n) {
      const lo = offset + 1 < n ? bytes[offset] | (bytes[offset + 1] << 8) : bytes[offset];
      const wide = (lo & 3) === 3;
      const length = wide ? 4 : 2;
      const address = segment.start + offset;
      pc[count] = address;
      size[count] = length;
      const at = address - start;
      slots[chunks[at >>> CHUNK_SHIFT] + ((at & chunkMask) >>> 1)] = count;
      if (
        offset + length <= n
        && ENDS_BLOCK[wide ? wideSlot(lo) : 256 + narrowSlot(lo)] === 1
      ) {
        const hi = wide ? bytes[offset + 2] | (bytes[offset + 3] << 8) : 0;
        const f = OP_FLOW[decodeInstruction(lo, hi, rve, d).op];
        flow[count] = f;
        if (f !== Flow.NONE) leader[count + 1] = 1;
        // Its target's instruction index is known once every start is.
        if (f >= Flow.BRANCH) direct.push(count, (address + d.imm) >>> 0);
      }
      count++;
      offset += length;
    }
    segmentEnd[count - 1] = 1;
  }
  const { slab: lateSlab, ...late } = allocateLate(count);
  const code = new LazyCode(
    { ...swept, ...late, slabs: [...swept.slabs, lateSlab] },
    count,
    segments,
    rve,
  );
  const { target } = code;
  for (let k = 0; k < direct.length; k += 2) {
    const t = instructionAt(code, direct[k + 1]);
    target[direct[k]] = t;
    if (t >= 0) leader[t] = 1;
  }
  return code;
}

/**
 * Marks the leaders of `entries` (the entry point and export addresses, all
 * instruction starts): with them the blocks of abi/README.md §4 are final,
 * and entry costs are computed from them when first read.
 */
export function computeBlocks(code: DecodedCode, entries: Iterable<number>): void {
  const { leader } = code;
  for (const address of entries) leader[instructionAt(code, address)] = 1;
  if (code instanceof LazyCode) code.forgetCosts();
}
