/**
 * The arrays a blob's code is read into — a {@linkcode DecodedCode}, as
 * abi/code.ts defines it — and its basic blocks. Kept apart from the record
 * reading (abi/_blob_code.ts): this part knows nothing of the format.
 * @module
 */
import {
  allocateArrays,
  CHUNK_SHIFT,
  type CodeSegment,
  type DecodedCode,
  Flow,
  OP_FLOW,
} from "./code.ts";
import { GAS_COST } from "./gas.ts";

/**
 * Per op, how it ends a basic block: 0 not at all, 1 as a terminator (JALR,
 * ECALL, EBREAK), 2 as a direct branch or JAL, whose target (when it is an
 * instruction) is also a leader.
 */
export const FLOW: Uint8Array = OP_FLOW.map((f) => Math.min(f, Flow.BRANCH));

/**
 * Allocates a DecodedCode for `count` instructions over `segments`
 * ({@linkcode allocateArrays}); `leaders` is the leader array one longer
 * than the code, so `leaders[i + 1]` may be written for the last
 * instruction.
 */
export function allocateCode(
  segments: readonly CodeSegment[],
  count: number,
): { code: DecodedCode; leaders: Uint8Array; } {
  const arrays = allocateArrays(segments, count);
  const { leaders, ...fields } = arrays;
  const code: DecodedCode = {
    ...fields,
    count,
    leader: leaders.subarray(0, count),
    operands: () => code,
    costs: () => fields.entryCost,
    decoded: count,
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
  const { count, op, imm, pc, segmentEnd, entryCost, chunks, slots, start, end, flow, target } =
    code;
  for (const e of entries) leaders[e] = 1;
  const chunkMask = (1 << CHUNK_SHIFT) - 1;
  for (let b = 0; b < branchCount; b++) {
    const i = branches[b];
    const address = (pc[i] + imm[i]) >>> 0;
    const offset = address - start;
    target[i] = -1;
    if (offset < 0 || address >= end || (offset & 1) !== 0) continue;
    const chunk = chunks[offset >>> CHUNK_SHIFT];
    if (chunk < 0) continue;
    const t = slots[chunk + ((offset & chunkMask) >>> 1)];
    target[i] = t;
    if (t >= 0) leaders[t] = 1;
  }
  let cost = 0;
  for (let i = count - 1; i >= 0; i--) {
    const o = op[i];
    flow[i] = OP_FLOW[o];
    cost = flow[i] !== Flow.NONE || segmentEnd[i] === 1 || leaders[i + 1] === 1
      ? GAS_COST[o]
      : GAS_COST[o] + cost;
    entryCost[i] = cost;
  }
}
