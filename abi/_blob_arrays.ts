/**
 * The arrays a blob's code is read into — a {@linkcode DecodedCode}, as
 * abi/code.ts defines it — and its basic blocks. Kept apart from the record
 * reading (abi/_blob_code.ts): this part knows nothing of the format.
 * @module
 */
import { CHUNK_SHIFT, CHUNK_SLOTS, type CodeSegment, type DecodedCode } from "./code.ts";
import { GAS_COST } from "./gas.ts";
import { OPS } from "./isa.ts";

/**
 * Per op, how it ends a basic block: 0 not at all, 1 as a terminator (JALR,
 * ECALL, EBREAK), 2 as a direct branch or JAL, whose target (when it is an
 * instruction) is also a leader.
 */
export const FLOW: Uint8Array = Uint8Array.from(
  OPS,
  (info) => (info.kind === "branch" || info.kind === "jal" ? 2 : info.terminator ? 1 : 0),
);

/**
 * Allocates a DecodedCode for `count` instructions over `segments`
 * (non-empty, sorted, apart): every array a view of one buffer (one
 * allocation instead of fourteen), `hostcall` all -1, and the slot index of
 * abi/code.ts ready to fill: CHUNK_SLOTS slots, all -1, for each chunk that
 * holds code bytes, numbered in address order. `leaders` is the leader
 * array one longer than the code, so `leaders[i + 1]` may be written for the
 * last instruction.
 */
export function allocateCode(
  segments: readonly CodeSegment[],
  count: number,
): { code: DecodedCode; leaders: Uint8Array; } {
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
  // Widest elements first, so that every view is aligned.
  const buffer = new ArrayBuffer(
    8 * count + 4 * (3 * count + chunkCount + slotCount) + 7 * count + 1,
  );
  const entryCost = new Float64Array(buffer, 0, count);
  let o = 8 * count;
  const pc = new Uint32Array(buffer, o, count);
  const imm = new Int32Array(buffer, o += 4 * count, count);
  const hostcall = new Int32Array(buffer, o += 4 * count, count).fill(-1);
  const chunks = new Int32Array(buffer, o += 4 * count, chunkCount).fill(-1);
  const slots = new Int32Array(buffer, o += 4 * chunkCount, slotCount).fill(-1);
  const op = new Uint8Array(buffer, o += 4 * slotCount, count);
  const rd = new Uint8Array(buffer, o += count, count);
  const rs1 = new Uint8Array(buffer, o += count, count);
  const rs2 = new Uint8Array(buffer, o += count, count);
  const size = new Uint8Array(buffer, o += count, count);
  const segmentEnd = new Uint8Array(buffer, o += count, count);
  const leaders = new Uint8Array(buffer, o += count, count + 1);
  let next = 0;
  for (const s of segments) {
    for (let c = chunkOf(s.start); c <= chunkOf(s.start + s.bytes.length - 1); c++) {
      if (chunks[c] < 0) chunks[c] = CHUNK_SLOTS * next++;
    }
  }
  const leader = leaders.subarray(0, count);
  const code: DecodedCode = {
    count,
    pc,
    op,
    rd,
    rs1,
    rs2,
    imm,
    size,
    leader,
    segmentEnd,
    entryCost,
    hostcall,
    start,
    end,
    chunks,
    slots,
  };
  return { code, leaders };
}

/**
 * Completes the basic blocks of abi/README.md §4, as `computeBlocks`
 * (abi/code.ts) does from scratch (tests/blob_test.ts compares the two):
 * the first instruction of each segment and those after terminators are
 * already marked in `leaders` (allocateCode's); this marks `entries` and the
 * targets of the direct branches `branches[0..branchCount)` (instruction
 * indexes) that are instructions, then computes every entry cost.
 */
export function finishBlocks(
  code: DecodedCode,
  leaders: Uint8Array,
  entries: readonly number[],
  branches: Int32Array,
  branchCount: number,
): void {
  const { count, op, imm, pc, segmentEnd, entryCost, chunks, slots, start, end } = code;
  for (const e of entries) leaders[e] = 1;
  const chunkMask = (1 << CHUNK_SHIFT) - 1;
  for (let b = 0; b < branchCount; b++) {
    const i = branches[b];
    const target = (pc[i] + imm[i]) >>> 0;
    const offset = target - start;
    if (offset < 0 || target >= end || (offset & 1) !== 0) continue;
    const chunk = chunks[offset >>> CHUNK_SHIFT];
    if (chunk < 0) continue;
    const t = slots[chunk + ((offset & chunkMask) >>> 1)];
    if (t >= 0) leaders[t] = 1;
  }
  let cost = 0;
  for (let i = count - 1; i >= 0; i--) {
    const o = op[i];
    cost = FLOW[o] !== 0 || segmentEnd[i] === 1 || leaders[i + 1] === 1
      ? GAS_COST[o]
      : GAS_COST[o] + cost;
    entryCost[i] = cost;
  }
}
