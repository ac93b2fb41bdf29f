/**
 * The decoded program: every instruction of every code segment, decoded once
 * into flat typed arrays, with the basic-block and gas facts of
 * abi/README.md §4 precomputed. Every tier translates from this one stream.
 * @module
 */
import { decodeInstruction, newDecodedInstruction } from "./decode.ts";
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

/**
 * Instructions in address order. Index `i` describes the instruction at
 * `pc[i]`; fields follow {@linkcode DecodedInstruction}.
 */
export interface DecodedCode {
  /** Number of instructions. */
  readonly count: number;
  /** Guest address of each instruction. */
  readonly pc: Uint32Array;
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
  /** Encoded length in bytes (2 or 4). */
  readonly size: Uint8Array;
  /** 1 when the instruction starts a basic block. */
  readonly leader: Uint8Array;
  /** 1 when the instruction is the last of its code segment. */
  readonly segmentEnd: Uint8Array;
  /** Gas charged when execution enters at this instruction (cost to the end of its block). */
  readonly entryCost: Float64Array;
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

/** Allocates the chunks that hold code (all slots -1). */
function slotIndex(
  segments: readonly CodeSegment[],
  start: number,
  end: number,
): { chunks: Int32Array; slots: Int32Array; } {
  const chunks = new Int32Array(((end - start - 1) >>> CHUNK_SHIFT) + 1).fill(-1);
  let used = 0;
  for (const s of segments) {
    if (s.bytes.length === 0) continue;
    const first = (s.start - start) >>> CHUNK_SHIFT;
    const last = (s.start + s.bytes.length - 1 - start) >>> CHUNK_SHIFT;
    for (let c = first; c <= last; c++) {
      if (chunks[c] < 0) chunks[c] = CHUNK_SLOTS * used++;
    }
  }
  return { chunks, slots: new Int32Array(CHUNK_SLOTS * used).fill(-1) };
}

/** Decodes the code segments (sorted by address, non-overlapping). */
export function decodeCode(segments: readonly CodeSegment[], rve: boolean): DecodedCode {
  segments = segments.filter((s) => s.bytes.length > 0);
  if (segments.length === 0) throw new RangeError("no code to decode");
  const start = segments[0].start;
  const last = segments[segments.length - 1];
  const end = last.start + last.bytes.length;
  let capacity = 0;
  for (const s of segments) capacity += (s.bytes.length + 1) >>> 1;

  const pc = new Uint32Array(capacity);
  const op = new Uint8Array(capacity);
  const rd = new Uint8Array(capacity);
  const rs1 = new Uint8Array(capacity);
  const rs2 = new Uint8Array(capacity);
  const imm = new Int32Array(capacity);
  const size = new Uint8Array(capacity);
  const segmentEnd = new Uint8Array(capacity);
  const { chunks, slots } = slotIndex(segments, start, end);
  const chunkMask = (1 << CHUNK_SHIFT) - 1;
  const d = newDecodedInstruction();
  let count = 0;
  for (const segment of segments) {
    const bytes = segment.bytes;
    const n = bytes.length;
    let offset = 0;
    while (offset < n) {
      const lo = offset + 1 < n ? bytes[offset] | (bytes[offset + 1] << 8) : bytes[offset];
      const isLong = (lo & 3) === 3;
      if (offset + (isLong ? 4 : 2) > n) {
        // An instruction cut off by the end of the segment's code can never execute.
        d.op = Op.INVALID;
        d.rd =
          d.rs1 =
          d.rs2 =
          d.imm =
            0;
        d.size = isLong ? 4 : 2;
      } else {
        const hi = isLong ? bytes[offset + 2] | (bytes[offset + 3] << 8) : 0;
        decodeInstruction(lo, hi, rve, d);
      }
      const address = segment.start + offset;
      pc[count] = address;
      op[count] = d.op;
      rd[count] = d.rd;
      rs1[count] = d.rs1;
      rs2[count] = d.rs2;
      imm[count] = d.imm;
      size[count] = d.size;
      const at = address - start;
      slots[chunks[at >>> CHUNK_SHIFT] + ((at & chunkMask) >>> 1)] = count;
      count++;
      offset += d.size;
    }
    segmentEnd[count - 1] = 1;
  }
  const code: DecodedCode = {
    count,
    pc: pc.subarray(0, count),
    op: op.subarray(0, count),
    rd: rd.subarray(0, count),
    rs1: rs1.subarray(0, count),
    rs2: rs2.subarray(0, count),
    imm: imm.subarray(0, count),
    size: size.subarray(0, count),
    leader: new Uint8Array(count),
    segmentEnd: segmentEnd.subarray(0, count),
    entryCost: new Float64Array(count),
    hostcall: new Int32Array(count).fill(-1),
    start,
    end,
    chunks,
    slots,
  };
  return code;
}

/**
 * Marks leaders and computes entry costs (abi/README.md §4). `entries` are
 * the entry point and export addresses, all instruction starts.
 */
export function computeBlocks(code: DecodedCode, entries: Iterable<number>): void {
  const { count, op, imm, pc, leader, segmentEnd, entryCost } = code;
  for (const address of entries) leader[instructionAt(code, address)] = 1;
  if (count > 0) leader[0] = 1;
  for (let i = 0; i < count; i++) {
    const flow = FLOW[op[i]];
    if (segmentEnd[i] && i + 1 < count) leader[i + 1] = 1;
    if (flow === 0) continue;
    if (i + 1 < count && !segmentEnd[i]) leader[i + 1] = 1;
    if (flow === DIRECT) {
      const target = instructionAt(code, (pc[i] + imm[i]) >>> 0);
      if (target >= 0) leader[target] = 1;
    }
  }
  let cost = 0;
  for (let i = count - 1; i >= 0; i--) {
    const o = op[i];
    const blockEndsHere = FLOW[o] !== 0 || segmentEnd[i] === 1 || leader[i + 1] === 1;
    cost = blockEndsHere ? GAS_COST[o] : GAS_COST[o] + cost;
    entryCost[i] = cost;
  }
}

/** Per op: 0 falls through, TERMINATOR ends a block, DIRECT ends it with a static target. */
const TERMINATOR = 1;
const DIRECT = 2;
const FLOW = Uint8Array.from(
  OPS,
  (info) =>
    info.kind === "branch" || info.kind === "jal" ? DIRECT : info.terminator ? TERMINATOR : 0,
);
