/**
 * Translates the decoded program (abi/code.ts) into the interpreter's own
 * instruction stream, designed for a short dispatch loop:
 *
 * - a `GAS` pseudo-instruction opens every basic block, so ordinary
 *   instructions never test for block boundaries;
 * - branch and jump targets are stream indices, resolved once;
 * - constants are folded (`LUI`, `AUIPC`, `ADDI rd, x0, imm` become `LI`);
 * - writes to x0 go to a sink register (index 32), or become `NOP` when the
 *   instruction has no other effect;
 * - bad jump targets and falling off the end of code become `JUMP_FAULT`
 *   entries, so the hot path never checks them;
 * - the stream's layout is fixed at once, from the block structure alone,
 *   but its entries are filled on first execution (a `COMPILE` entry fills a
 *   run of instructions, then runs again): a call that reaches a few
 *   functions of a large program compiles only those.
 *
 * Each entry is two int32 words: `op | rd << 8 | rs1 << 14 | rs2 << 20`, then
 * the immediate.
 * @module
 */
import {
  CHUNK_SHIFT,
  CHUNK_SLOTS,
  type DecodedCode,
  type DecodedOperands,
  Flow,
  slotValue,
} from "../abi/code.ts";
import { Op, OP_COUNT, OPS } from "../abi/isa.ts";
import type { ProgramImage } from "../abi/load.ts";

/** The interpreter's pseudo-ops, numbered after the real ones. */
export const Pseudo = {
  /** Charge `imm` gas for entering a block. */
  GAS: OP_COUNT,
  /** `rd = imm`. */
  LI: OP_COUNT + 1,
  /** `rd = rs1`. */
  MV: OP_COUNT + 2,
  /** InvalidJump trap at this entry's pc, target `imm`. */
  JUMP_FAULT: OP_COUNT + 3,
  /** No effect. */
  NOP: OP_COUNT + 4,
  /** Call the trace hook (trace builds only). */
  TRACE: OP_COUNT + 5,
  /** Not compiled yet: fill the entries from here, then dispatch again. */
  COMPILE: OP_COUNT + 6,
} as const;

/** Instructions compiled at most per `COMPILE` entry reached. */
const FILL_RUN = 128;

/** Index of the register that absorbs writes to x0. */
export const SINK = 32;

/** The compiled stream. */
export interface CompiledCode {
  /** Two words per entry (see module doc). */
  readonly insn: Int32Array;
  /** Guest pc of each entry (for traps and links). */
  readonly pcs: Uint32Array;
  /** Gas to charge when an indirect jump enters at this entry (0 where a GAS entry charges). */
  readonly midCost: Uint32Array;
  /** The code's chunk index (`DecodedCode.chunks`): where each chunk's slots begin in `entryOf`. */
  readonly entryChunks: Int32Array;
  /** Entry index for each 2-byte slot of the chunks that hold code, -1 where no instruction starts. */
  readonly entryOf: Int32Array;
  /** Lowest code address. */
  readonly codeStart: number;
  /** Bytes of code address space covered by `entryChunks`. */
  readonly codeLength: number;
  /**
   * Bytes from `codeStart` whose chunks lie in order at the start of
   * `entryOf` (all of the code when it is one segment): there `entryOf` is a
   * flat table, indexed by offset / 2 without the chunk index.
   */
  readonly flatLength: number;
  /** Fills the entries of entry `k`'s instruction and of up to `FILL_RUN` after it. */
  readonly fill: (k: number) => void;
}

/** The entry of the instruction starting at `pc`, or -1. */
export function entryAt(code: CompiledCode, pc: number): number {
  return slotValue(code.entryChunks, code.entryOf, code.codeLength, pc - code.codeStart);
}

const ALU_NO_SIDE_EFFECTS = new Set(["alu", "alu_imm", "upper"]);

function pack(op: number, rd: number, rs1: number, rs2: number): number {
  return op | (rd << 8) | (rs1 << 14) | (rs2 << 20);
}

/**
 * Lays out `image`'s code and returns the stream, every entry `COMPILE` but
 * the bad-branch stubs; with `trace`, a TRACE entry precedes every
 * instruction.
 */
export function compile(image: ProgramImage, trace: boolean): CompiledCode {
  const code: DecodedCode = image.code;
  const { leader, segmentEnd, flow, target, entryCost } = code;
  const n = code.count;
  const traced = trace ? 1 : 0;
  // Where each instruction's first entry goes (one more for the end), and how many stubs.
  const first = new Int32Array(n + 1);
  let next = 0;
  let stubs = 0;
  for (let i = 0; i < n; i++) {
    first[i] = next;
    next += leader[i] + traced + 1 + segmentEnd[i];
    if (flow[i] === Flow.BRANCH && target[i] < 0) stubs++;
  }
  first[n] = next;
  const total = next + stubs;
  const insn = new Int32Array(total * 2).fill(Pseudo.COMPILE);
  const pcs = new Uint32Array(total);
  const midCost = new Uint32Array(total);
  const stubOf = new Map<number, number>();
  let stub = next;
  for (let i = 0; i < n; i++) {
    const pc = code.pc[i];
    for (let e = first[i]; e < first[i + 1]; e++) pcs[e] = pc;
    if (!leader[i]) midCost[first[i]] = entryCost[i];
    if (flow[i] === Flow.BRANCH && target[i] < 0) {
      // A branch to where no instruction starts traps when taken.
      const imm = code.operands(i, i + 1).imm[i];
      insn[stub * 2] = Pseudo.JUMP_FAULT;
      insn[stub * 2 + 1] = (pc + imm) | 0;
      pcs[stub] = pc;
      stubOf.set(i, stub++);
    }
  }

  const entryOf = new Int32Array(code.slots.length);
  for (let s = 0; s < entryOf.length; s++) {
    const i = code.slots[s];
    entryOf[s] = i < 0 ? -1 : first[i];
  }
  let flatChunks = 0;
  while (flatChunks < code.chunks.length && code.chunks[flatChunks] === flatChunks * CHUNK_SLOTS) {
    flatChunks++;
  }
  const done = new Uint8Array(n);
  const fill = (k: number) => {
    // The instruction whose entries hold k: the last i with first[i] <= k.
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (first[mid] <= k) lo = mid;
      else hi = mid - 1;
    }
    let end = lo;
    while (end < n && end < lo + FILL_RUN && !done[end]) end++;
    const operands = code.operands(lo, end);
    for (let i = lo; i < end; i++) {
      compileInstruction(code, operands, i, first, insn, trace, stubOf);
      done[i] = 1;
    }
  };
  return {
    insn,
    pcs,
    midCost,
    entryChunks: code.chunks,
    entryOf,
    codeStart: code.start,
    codeLength: code.end - code.start,
    flatLength: Math.min(code.end - code.start, flatChunks << CHUNK_SHIFT),
    fill,
  };
}

/** Writes the entries of instruction `i`. */
function compileInstruction(
  code: DecodedCode,
  operands: DecodedOperands,
  i: number,
  first: Int32Array,
  insn: Int32Array,
  trace: boolean,
  stubOf: ReadonlyMap<number, number>,
): void {
  const emit = (at: number, word: number, imm: number) => {
    insn[at * 2] = word;
    insn[at * 2 + 1] = imm;
  };
  const pc = code.pc[i];
  let at = first[i];
  if (code.leader[i]) emit(at++, Pseudo.GAS, code.entryCost[i]);
  if (trace) emit(at++, Pseudo.TRACE, 0);
  let op = operands.op[i];
  const rs1 = operands.rs1[i];
  const rs2 = operands.rs2[i];
  let rd = operands.rd[i] === 0 ? SINK : operands.rd[i];
  let imm = operands.imm[i];
  const kind = OPS[op].kind;
  if (rd === SINK && ALU_NO_SIDE_EFFECTS.has(kind)) op = Pseudo.NOP;
  else if (op === Op.LUI) op = Pseudo.LI;
  else if (op === Op.AUIPC) [op, imm] = [Pseudo.LI, (pc + imm) | 0];
  else if (op === Op.ADDI && rs1 === 0) op = Pseudo.LI;
  else if (op === Op.ADDI && imm === 0) op = Pseudo.MV;
  else if (op === Op.FENCE || op === Op.FENCE_I) op = Pseudo.NOP;
  else if (op === Op.ECALL) {
    imm = code.hostcall[i];
    if (imm < 0) op = Op.INVALID;
  } else if (kind === "jal") {
    const t = code.target[i];
    if (t < 0) [op, rd, imm] = [Pseudo.JUMP_FAULT, 0, (pc + imm) | 0];
    else imm = first[t];
  } else if (kind === "branch") {
    const t = code.target[i];
    imm = t < 0 ? stubOf.get(i)! : first[t];
  }
  // JAL, JALR and EBREAK keep their encoded size in the rs2 field to form the next pc.
  const third = kind === "jal" || kind === "jalr" || op === Op.EBREAK ? code.size[i] : rs2;
  emit(at++, pack(op, rd, rs1, third), imm);
  if (code.segmentEnd[i]) emit(at, Pseudo.JUMP_FAULT, (pc + code.size[i]) | 0);
}
