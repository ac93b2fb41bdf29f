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
 *   but its entries are filled on first execution (an entry still 0 fills a
 *   run of instructions, then runs again): a call that reaches a few
 *   functions of a large program compiles only those, and the pages of the
 *   stream it never reaches are never touched (a fresh page costs a page
 *   fault, ~15 µs in a virtual machine).
 *
 * Each entry is two int32 words: `op | rd << 8 | rs1 << 14 | rs2 << 20`, then
 * the immediate. A branch or JAL also holds, in bits 26-31, the gas of the
 * block it jumps to (0 where that does not fit), and a branch in its rd the
 * gas of the block after it: the jump charges the block it enters and skips
 * its GAS entry. Linear ops (ADD, ADDI, LI, MV) have their unused fields x0
 * and 0, so that `rd = rs1 + rs2 + imm` performs any of them. The first entry
 * of a frequent pair (`fusedOp`) has a pseudo-op of its own, which the switch
 * loop performs with the next entry in one dispatch, and its own op in bits
 * 26-31 (`opOf`, for the steps loop).
 * @module
 */
import { Slab } from "../abi/_recycle.ts";
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
  /**
   * Two linear ops (`fuseLinearPairs`): this entry's, then the next entry's,
   * each `rd = rs1 + rs2 + imm`; the first op's own number is in bits 26-31.
   */
  LINEAR_PAIR: OP_COUNT + 6,
  /** A linear op, then the branch of the next entry (`fusePairs`); its op in bits 26-31. */
  LINEAR_BRANCH: OP_COUNT + 7,
  /** An LW, then the LW of the next entry (`fusePairs`); LW in bits 26-31. */
  LW_PAIR: OP_COUNT + 8,
  /** An SW, then the SW of the next entry (`fusePairs`); SW in bits 26-31. */
  SW_PAIR: OP_COUNT + 9,
  /** An SLLI, then the linear op of the next entry (`fusePairs`); SLLI in bits 26-31. */
  SLLI_LINEAR: OP_COUNT + 10,
  /** The same for an SRLI. */
  SRLI_LINEAR: OP_COUNT + 11,
  /** The same for a MUL. */
  MUL_LINEAR: OP_COUNT + 12,
  /** The same for an SB. */
  SB_LINEAR: OP_COUNT + 13,
  /** A linear op, then the LW of the next entry (`fusePairs`); the linear op in bits 26-31. */
  LINEAR_LW: OP_COUNT + 14,
  /** The same with an LBU. */
  LINEAR_LBU: OP_COUNT + 15,
  /** The same with a JALR. */
  LINEAR_JALR: OP_COUNT + 16,
} as const;

/** The linear ops: each is `rd = rs1 + rs2 + imm` with its unused fields x0 and 0. */
const LINEAR_OPS: ReadonlySet<number> = new Set([Op.ADD, Op.ADDI, Pseudo.LI, Pseudo.MV]);

/** Ops fused with a linear op after them, and their fused entries. */
const BEFORE_LINEAR: ReadonlyMap<number, number> = new Map([
  [Op.SLLI, Pseudo.SLLI_LINEAR],
  [Op.SRLI, Pseudo.SRLI_LINEAR],
  [Op.MUL, Pseudo.MUL_LINEAR],
  [Op.SB, Pseudo.SB_LINEAR],
]);

/** The fused entry for an entry of op `op` followed by one of op `next`, or 0 for none. */
function fusedOp(op: number, next: number): number {
  if (LINEAR_OPS.has(op)) {
    if (LINEAR_OPS.has(next)) return Pseudo.LINEAR_PAIR;
    if (next >= Op.BEQ && next <= Op.BGEU) return Pseudo.LINEAR_BRANCH;
    if (next === Op.LW) return Pseudo.LINEAR_LW;
    if (next === Op.LBU) return Pseudo.LINEAR_LBU;
    if (next === Op.JALR) return Pseudo.LINEAR_JALR;
  }
  if (LINEAR_OPS.has(next) && BEFORE_LINEAR.has(op)) return BEFORE_LINEAR.get(op)!;
  if (op === Op.LW && next === Op.LW) return Pseudo.LW_PAIR;
  if (op === Op.SW && next === Op.SW) return Pseudo.SW_PAIR;
  return 0;
}

/**
 * Marks the first of each frequent pair of entries in `insn`'s entries
 * `from` to `to` (excluding `to`) as a fused entry (`fusedOp`), which the
 * switch loop performs in one dispatch; the first op's number moves to bits
 * 26-31 (unused by these ops) for the steps loop (`opOf`). The second entry
 * stays as it is, for jumps to it. The entry after a block's last is its
 * successor's GAS entry or a JUMP_FAULT, so a pair never spans blocks.
 */
function fusePairs(insn: Int32Array, from: number, to: number): void {
  for (let e = from; e + 1 < to; e++) {
    const op = insn[e << 1] & 255;
    const fused = fusedOp(op, insn[(e + 1) << 1] & 255);
    if (fused !== 0) insn[e << 1] = (insn[e << 1] & ~255 & ((1 << 26) - 1)) | fused | (op << 26);
  }
}

/** The op of stream word `w`: a fused entry by its first op. */
export function opOf(w: number): number {
  const op = w & 255;
  return op >= Pseudo.LINEAR_PAIR ? w >>> 26 : op;
}

/**
 * The word of an entry not compiled yet. A compiled entry's word is never 0:
 * only INVALID has op 0, and it is compiled with the x0 sink as rd.
 */
export const UNCOMPILED = 0;

/** Instructions compiled at most per uncompiled entry reached. */
const FILL_RUN = 128;

/** Index of the register that absorbs writes to x0. */
export const SINK = 32;

/** The compiled stream. */
export interface CompiledCode {
  /** Two words per entry (see module doc). */
  readonly insn: Int32Array;
  /** Guest pc of each entry (for traps and links). */
  readonly pcs: Uint32Array;
  /**
   * Gas to charge when an indirect jump enters at this entry (0 where a GAS
   * entry charges). Like `pcs`, valid once the entry is compiled.
   */
  readonly midCost: Uint32Array;
  /**
   * For each 2-byte slot of the code (laid out like `DecodedCode.slots`):
   * 1 + the entry of the instruction starting there once an indirect jump
   * has entered it (compiling it), else 0. Never filled up front, so that
   * its pages are touched only where jumps land.
   */
  readonly entryOf: Int32Array;
  /** Lowest code address. */
  readonly codeStart: number;
  /** Bytes of code address space covered by `entryChunks`. */
  readonly codeLength: number;
  /**
   * Bytes from `codeStart` whose chunks lie in order at the start of
   * `slots` (all of the code when it is one segment): there `slots` is a
   * flat table, indexed by offset / 2 without the chunk index.
   */
  readonly flatLength: number;
  /** Fills the entries of entry `k`'s instruction and of up to `FILL_RUN` after it. */
  readonly fill: (k: number) => void;
  /**
   * The entry of the instruction starting at `pc`, compiled and recorded in
   * `entryOf`, or -1 where no instruction starts.
   */
  readonly enter: (pc: number) => number;
  /** Where the arrays live (recycled with the program, abi/_recycle.ts). */
  readonly slab: Slab;
}

const ALU_NO_SIDE_EFFECTS = new Set(["alu", "alu_imm", "upper"]);

function pack(op: number, rd: number, rs1: number, rs2: number): number {
  return op | (rd << 8) | (rs1 << 14) | (rs2 << 20);
}

/**
 * Lays out `image`'s code and returns the stream, every entry `UNCOMPILED`
 * but the bad-branch stubs; with `trace`, a TRACE entry precedes every
 * instruction.
 */
export function compile(image: ProgramImage, trace: boolean): CompiledCode {
  const code: DecodedCode = image.code;
  const { leader, segmentEnd, flow, target } = code;
  const n = code.count;
  const traced = trace ? 1 : 0;
  // Where each instruction's first entry goes (one more for the end), and the branches to
  // where no instruction starts: each traps, when taken, at a stub entry after the code.
  const bad: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += leader[i] + traced + 1 + segmentEnd[i];
    if (flow[i] === Flow.BRANCH && target[i] < 0) bad.push(i);
  }
  total += bad.length;
  const { chunks, slots } = code;
  const slab = new Slab(
    Slab.size(4 * (n + 1), 8 * total, 4 * total, 4 * total, 4 * slots.length),
  );
  const first = slab.i32(n + 1);
  const insn = slab.i32(total * 2);
  const pcs = slab.u32(total);
  const midCost = slab.u32(total);
  const entryOf = slab.i32(slots.length);
  let next = 0;
  for (let i = 0; i < n; i++) {
    first[i] = next;
    next += leader[i] + traced + 1 + segmentEnd[i];
  }
  first[n] = next;
  const stubOf = new Map<number, number>();
  for (const [k, i] of bad.entries()) {
    const stub = next + k;
    const pc = code.pc[i];
    insn[stub * 2] = Pseudo.JUMP_FAULT;
    insn[stub * 2 + 1] = (pc + code.operands(i, i + 1).imm[i]) | 0;
    pcs[stub] = pc;
    stubOf.set(i, stub);
  }
  let flatChunks = 0;
  while (flatChunks < code.chunks.length && code.chunks[flatChunks] === flatChunks * CHUNK_SLOTS) {
    flatChunks++;
  }
  const stream = { insn, pcs, midCost, first, trace, stubOf };
  const fill = (k: number) => {
    // The instruction whose entries hold k: the last i with first[i] <= k.
    let lo = 0, hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (first[mid] <= k) lo = mid;
      else hi = mid - 1;
    }
    let end = lo;
    while (end < n && end < lo + FILL_RUN && insn[first[end] * 2] === UNCOMPILED) end++;
    const operands = code.operands(lo, end);
    const costs = code.costs(lo, end);
    for (let i = lo; i < end; i++) compileInstruction(code, operands, costs, i, stream);
    fusePairs(insn, first[lo], first[end]);
  };
  const length = code.end - code.start;
  const enter = (pc: number) => {
    const offset = pc - code.start;
    const i = slotValue(chunks, slots, length, offset);
    if (i < 0) return -1;
    const e = first[i];
    if (insn[e * 2] === UNCOMPILED) fill(e);
    entryOf[chunks[offset >>> CHUNK_SHIFT] + ((offset & ((1 << CHUNK_SHIFT) - 1)) >>> 1)] = e + 1;
    return e;
  };
  return {
    insn,
    pcs,
    midCost,
    entryOf,
    codeStart: code.start,
    codeLength: code.end - code.start,
    flatLength: Math.min(code.end - code.start, flatChunks << CHUNK_SHIFT),
    fill,
    enter,
    slab,
  };
}

/** What compiling an instruction writes to, and how. */
interface Stream {
  readonly insn: Int32Array;
  readonly pcs: Uint32Array;
  readonly midCost: Uint32Array;
  readonly first: Int32Array;
  readonly trace: boolean;
  readonly stubOf: ReadonlyMap<number, number>;
}

/**
 * The gas of the block that instruction `t` starts, where it fits the six
 * bits a jump's word has for it (see the module doc), else 0: a jump there
 * may charge it and go on past the block's GAS entry.
 */
function blockCost(code: DecodedCode, t: number): number {
  const cost = code.costs(t, t + 1)[t];
  return cost < 64 ? cost : 0;
}

/** Writes the entries of instruction `i`. */
function compileInstruction(
  code: DecodedCode,
  operands: DecodedOperands,
  costs: Uint32Array,
  i: number,
  { insn, pcs, midCost, first, trace, stubOf }: Stream,
): void {
  const pc = code.pc[i];
  const emit = (at: number, word: number, imm: number) => {
    pcs[at] = pc;
    insn[at * 2 + 1] = imm;
    insn[at * 2] = word;
  };
  let at = first[i];
  if (code.leader[i]) emit(at++, Pseudo.GAS, costs[i]);
  else midCost[at] = costs[i];
  if (trace) emit(at++, Pseudo.TRACE, 0);
  let op = operands.op[i];
  const rs1 = operands.rs1[i];
  const rs2 = operands.rs2[i];
  let rd = operands.rd[i] === 0 ? SINK : operands.rd[i];
  let imm = operands.imm[i];
  // For a direct jump, the cost of the block it enters (`blockCost`).
  let enters = 0;
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
    else [imm, enters] = [first[t], blockCost(code, t)];
  } else if (kind === "branch") {
    const t = code.target[i];
    [imm, enters] = t < 0 ? [stubOf.get(i)!, 0] : [first[t], blockCost(code, t)];
    // rd (unused) holds the cost of the block after the branch, entered when not taken.
    rd = code.segmentEnd[i] ? 0 : blockCost(code, i + 1);
  }
  // JAL, JALR and EBREAK keep their encoded size in the rs2 field to form the next pc.
  const third = kind === "jal" || kind === "jalr" || op === Op.EBREAK ? code.size[i] : rs2;
  // Linear ops with their unused fields x0 and 0: one formula performs any of them.
  if (op === Op.ADD) emit(at++, pack(op, rd, rs1, rs2), 0);
  else if (op === Op.ADDI || op === Pseudo.MV) emit(at++, pack(op, rd, rs1, 0), imm);
  else if (op === Pseudo.LI) emit(at++, pack(op, rd, 0, 0), imm);
  else emit(at++, pack(op, rd, rs1, third) | (enters << 26), imm);
  if (code.segmentEnd[i]) emit(at, Pseudo.JUMP_FAULT, (pc + code.size[i]) | 0);
}
