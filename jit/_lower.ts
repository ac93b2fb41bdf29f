/**
 * The one dispatch over the decoded stream that every backend shares: it
 * decides what each instruction is (and resolves direct jump targets), and
 * calls the backend's {@linkcode Lowering} method for it. A backend is a
 * visitor; only encoding differs between them.
 * @module
 */
import { CHUNK_SHIFT, type DecodedCode } from "../abi/code.ts";
import { Op, OP_COUNT } from "../abi/isa.ts";
import { Exit } from "./state.ts";

const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;

/** What a backend emits, one method per kind of instruction. */
export interface Lowering {
  /** ADDI XORI ORI ANDI. */
  aluImm(op: number, rd: number, rs1: number, imm: number): void;
  /** SLLI SRLI SRAI. */
  shiftImm(op: number, rd: number, rs1: number, imm: number): void;
  /** SLTI SLTIU SLT SLTU (`imm` for the immediate forms). */
  setLess(op: number, rd: number, rs1: number, rs2: number, imm: number): void;
  /** ADD SUB XOR OR AND SLL SRL SRA MUL. */
  aluReg(op: number, rd: number, rs1: number, rs2: number): void;
  /** MULH MULHSU MULHU. */
  mulHigh(op: number, rd: number, rs1: number, rs2: number): void;
  /** DIV DIVU REM REMU. */
  divide(op: number, rd: number, rs1: number, rs2: number): void;
  /** LUI and AUIPC: `rd` gets a constant. */
  constant(rd: number, value: number): void;
  /** Loads: `rd` from `imm(rs1)`. */
  load(op: number, rd: number, rs1: number, imm: number, pc: number): void;
  /** Stores: `rs2` to `imm(rs1)`. */
  store(op: number, rs1: number, rs2: number, imm: number, pc: number): void;
  /** LR.W and SC.W. */
  reserved(op: number, rd: number, rs1: number, rs2: number, pc: number): void;
  /** The AMOs. */
  amo(op: number, rd: number, rs1: number, rs2: number, pc: number): void;
  /** A conditional branch to instruction `target` (-1: `targetPc` is not an instruction start). */
  branch(op: number, rs1: number, rs2: number, pc: number, target: number, targetPc: number): void;
  /** JAL to instruction `target`, writing `link` to `rd`. */
  jump(rd: number, target: number, link: number): void;
  /** JALR. */
  jumpIndirect(rd: number, rs1: number, imm: number, pc: number, link: number): void;
  /** Leaves native code with `reason` (jit/state.ts `Exit`) for the instruction at `pc`. */
  exit(reason: number, pc: number, aux?: number): void;
}

/**
 * The lowering group of each op (20: invalid): `lower` and the x86-64
 * translation loop dispatch on these with literal `case` numbers, which V8
 * turns into a jump table (a switch over named constants would be a chain
 * of compares).
 */
export const GROUP: Uint8Array = new Uint8Array(OP_COUNT).fill(20);
for (
  const [group, ops] of [
    [0, [Op.ADDI, Op.XORI, Op.ORI, Op.ANDI]],
    [1, [Op.SLLI, Op.SRLI, Op.SRAI]],
    [2, [Op.SLTI, Op.SLTIU, Op.SLT, Op.SLTU]],
    [3, [Op.ADD, Op.SUB, Op.XOR, Op.OR, Op.AND]],
    [4, [Op.SLL, Op.SRL, Op.SRA]],
    [5, [Op.LB, Op.LH, Op.LW, Op.LBU, Op.LHU]],
    [6, [Op.SB, Op.SH, Op.SW]],
    [7, [Op.BEQ, Op.BNE, Op.BLT, Op.BGE, Op.BLTU, Op.BGEU]],
    [8, [Op.JAL]],
    [9, [Op.JALR]],
    [10, [Op.LUI]],
    [11, [Op.AUIPC]],
    [12, [Op.MUL]],
    [13, [Op.MULH, Op.MULHSU, Op.MULHU]],
    [14, [Op.DIV, Op.DIVU, Op.REM, Op.REMU]],
    [15, [Op.LR_W, Op.SC_W]],
    [16, [
      Op.AMOSWAP_W,
      Op.AMOADD_W,
      Op.AMOXOR_W,
      Op.AMOAND_W,
      Op.AMOOR_W,
      Op.AMOMIN_W,
      Op.AMOMAX_W,
      Op.AMOMINU_W,
      Op.AMOMAXU_W,
    ]],
    [17, [Op.ECALL]],
    [18, [Op.EBREAK]],
    [19, [Op.FENCE, Op.FENCE_I]],
  ] as const
) for (const op of ops) GROUP[op] = group;

/**
 * The instruction at `targetPc` (a direct jump's target), or -1 when no
 * instruction starts there: `instructionAt`, inline, for the translators'
 * hottest path.
 */
export function directTarget(code: DecodedCode, targetPc: number): number {
  const offset = targetPc - code.start;
  const chunk = offset >= 0 && targetPc < code.end && (offset & 1) === 0
    ? code.chunks[offset >>> CHUNK_SHIFT]
    : -1;
  return chunk < 0 ? -1 : code.slots[chunk + ((offset & CHUNK_MASK) >>> 1)];
}

/**
 * 1 for ops after which execution may go on to the next instruction: all
 * but JAL, JALR, ECALL, EBREAK and invalid ones (which jump or exit).
 */
export const FALLS_THROUGH: Uint8Array = GROUP.map((g) => (
  g === 8 || g === 9 || g === 17 || g === 18 || g === 20 ? 0 : 1
));

/**
 * Lowers instruction `i` of `code` with backend `b`. Each case reads only
 * the fields it passes: this runs once per guest instruction.
 */
export function lower(code: DecodedCode, i: number, b: Lowering): void {
  const op = code.op[i];
  const { rd, rs1, rs2, imm } = code;
  switch (GROUP[op]) {
    case 0: // ADDI XORI ORI ANDI
      return b.aluImm(op, rd[i], rs1[i], imm[i]);
    case 1: // SLLI SRLI SRAI
      return b.shiftImm(op, rd[i], rs1[i], imm[i]);
    case 2: // SLTI SLTIU SLT SLTU
      return b.setLess(op, rd[i], rs1[i], rs2[i], imm[i]);
    case 3: // ADD SUB XOR OR AND
    case 4: // SLL SRL SRA
    case 12: // MUL
      return b.aluReg(op, rd[i], rs1[i], rs2[i]);
    case 5: // loads
      return b.load(op, rd[i], rs1[i], imm[i], code.pc[i]);
    case 6: // stores
      return b.store(op, rs1[i], rs2[i], imm[i], code.pc[i]);
    case 7: // branches
    case 8: { // JAL
      const pc = code.pc[i];
      const targetPc = (pc + imm[i]) >>> 0;
      const target = directTarget(code, targetPc);
      if (op !== Op.JAL) return b.branch(op, rs1[i], rs2[i], pc, target, targetPc);
      if (target < 0) return b.exit(Exit.INVALID_JUMP, pc, targetPc);
      return b.jump(rd[i], target, pc + code.size[i]);
    }
    case 9: { // JALR
      const pc = code.pc[i];
      return b.jumpIndirect(rd[i], rs1[i], imm[i], pc, pc + code.size[i]);
    }
    case 10: // LUI
      return b.constant(rd[i], imm[i]);
    case 11: // AUIPC
      return b.constant(rd[i], code.pc[i] + imm[i]);
    case 13: // MULH MULHSU MULHU
      return b.mulHigh(op, rd[i], rs1[i], rs2[i]);
    case 14: // DIV DIVU REM REMU
      return b.divide(op, rd[i], rs1[i], rs2[i]);
    case 15: // LR.W SC.W
      return b.reserved(op, rd[i], rs1[i], rs2[i], code.pc[i]);
    case 16: // AMOs
      return b.amo(op, rd[i], rs1[i], rs2[i], code.pc[i]);
    case 17: { // ECALL: a host call if the loader listed the site
      const site = code.hostcall[i];
      if (site < 0) return b.exit(Exit.INVALID_INSTRUCTION, code.pc[i]);
      return b.exit(Exit.HOSTCALL, code.pc[i], site);
    }
    case 18: // EBREAK
      return b.exit(Exit.BREAKPOINT, code.pc[i]);
    case 19: // FENCE FENCE.I
      return;
    default: // INVALID
      return b.exit(Exit.INVALID_INSTRUCTION, code.pc[i]);
  }
}
