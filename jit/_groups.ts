/**
 * Ops grouped by how backends lower them, shared by every backend.
 * @module
 */
import { Op, OP_COUNT } from "../abi/isa.ts";

/**
 * The lowering group of each op: backends dispatch on these with literal
 * `case` numbers, which V8 turns into a jump table (a switch over named op
 * constants would be a chain of compares).
 */
export const GROUP = new Uint8Array(OP_COUNT).fill(20);
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
