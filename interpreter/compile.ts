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
 *   entries, so the hot path never checks them.
 *
 * Each entry is two int32 words: `op | rd << 8 | rs1 << 14 | rs2 << 20`, then
 * the immediate.
 * @module
 */
import {
  CHUNK_SHIFT,
  CHUNK_SLOTS,
  type DecodedCode,
  instructionAt,
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
} as const;

/** Index of the register that absorbs writes to x0. */
export const SINK = 32;

/** The compiled stream. */
export interface CompiledCode {
  /** Two words per entry (see module doc). */
  readonly insn: Int32Array;
  /** Guest pc of each entry (for traps and links). */
  readonly pcs: Uint32Array;
  /** Gas to charge when an indirect jump enters at this entry (0 where a GAS entry charges). */
  readonly midCost: Float64Array;
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
}

/** The entry of the instruction starting at `pc`, or -1. */
export function entryAt(code: CompiledCode, pc: number): number {
  return slotValue(code.entryChunks, code.entryOf, code.codeLength, pc - code.codeStart);
}

const ALU_NO_SIDE_EFFECTS = new Set(["alu", "alu_imm", "upper"]);

function pack(op: number, rd: number, rs1: number, rs2: number): number {
  return op | (rd << 8) | (rs1 << 14) | (rs2 << 20);
}

/** Compiles `image`'s code; with `trace`, a TRACE entry precedes every instruction. */
export function compile(image: ProgramImage, trace: boolean): CompiledCode {
  const code: DecodedCode = image.code;
  const n = code.count;
  // Pass 1: where each instruction's first entry goes, and how many entries there are.
  const first = new Int32Array(n);
  let next = 0;
  let stubs = 0;
  for (let i = 0; i < n; i++) {
    first[i] = next;
    next += code.leader[i] + (trace ? 1 : 0) + 1 + code.segmentEnd[i];
    const kind = OPS[code.op[i]].kind;
    if (kind === "branch" && instructionAt(code, (code.pc[i] + code.imm[i]) >>> 0) < 0) stubs++;
  }
  const total = next + stubs;
  const insn = new Int32Array(total * 2);
  const pcs = new Uint32Array(total);
  const midCost = new Float64Array(total);
  let stub = next;

  const emit = (at: number, pc: number, word: number, imm: number) => {
    insn[at * 2] = word;
    insn[at * 2 + 1] = imm;
    pcs[at] = pc;
  };
  const targetOf = (i: number) => {
    const t = instructionAt(code, (code.pc[i] + code.imm[i]) >>> 0);
    return t < 0 ? -1 : first[t];
  };

  for (let i = 0; i < n; i++) {
    const pc = code.pc[i];
    let at = first[i];
    if (code.leader[i]) emit(at++, pc, Pseudo.GAS, code.entryCost[i]);
    else midCost[at] = code.entryCost[i];
    if (trace) emit(at++, pc, Pseudo.TRACE, 0);
    let op = code.op[i];
    const rs1 = code.rs1[i];
    const rs2 = code.rs2[i];
    let rd = code.rd[i] === 0 ? SINK : code.rd[i];
    let imm = code.imm[i];
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
      const t = targetOf(i);
      if (t < 0) [op, rd, imm] = [Pseudo.JUMP_FAULT, 0, (pc + imm) | 0];
      else imm = t;
    } else if (kind === "branch") {
      const t = targetOf(i);
      if (t < 0) {
        emit(stub, pc, Pseudo.JUMP_FAULT, (pc + imm) | 0);
        imm = stub++;
      } else imm = t;
    }
    // JAL, JALR and EBREAK keep their encoded size in the rs2 field to form the next pc.
    const third = kind === "jal" || kind === "jalr" || op === Op.EBREAK ? code.size[i] : rs2;
    emit(at++, pc, pack(op, rd, rs1, third), imm);
    if (code.segmentEnd[i]) emit(at, pc, Pseudo.JUMP_FAULT, (pc + code.size[i]) | 0);
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
  return {
    insn,
    pcs,
    midCost,
    entryChunks: code.chunks,
    entryOf,
    codeStart: code.start,
    codeLength: code.end - code.start,
    flatLength: Math.min(code.end - code.start, flatChunks << CHUNK_SHIFT),
  };
}
