/**
 * The rvbox instruction set (abi/README.md §1), defined once.
 *
 * Every op has one row in {@linkcode OPS}: its mnemonic, its class, whether it
 * ends a basic block, the bytes it accesses, its 32-bit encoding (match and
 * mask) and the compressed (C extension) encodings that expand to it. The
 * decoder (abi/decode.ts) builds its lookup tables from these rows and the
 * disassembler (abi/disasm.ts) prints from them, so adding or changing an
 * instruction happens here only. Costs live in abi/gas.ts.
 * @module
 */

/**
 * Op numbers: dense and stable, so tiers can index typed arrays and switch on
 * literal numbers (tests/interpreter_ops_test.ts ties those to this object).
 */
export const Op = Object.freeze(
  {
    INVALID: 0,
    LUI: 1,
    AUIPC: 2,
    JAL: 3,
    JALR: 4,
    BEQ: 5,
    BNE: 6,
    BLT: 7,
    BGE: 8,
    BLTU: 9,
    BGEU: 10,
    LB: 11,
    LH: 12,
    LW: 13,
    LBU: 14,
    LHU: 15,
    SB: 16,
    SH: 17,
    SW: 18,
    ADDI: 19,
    SLTI: 20,
    SLTIU: 21,
    XORI: 22,
    ORI: 23,
    ANDI: 24,
    SLLI: 25,
    SRLI: 26,
    SRAI: 27,
    ADD: 28,
    SUB: 29,
    SLL: 30,
    SLT: 31,
    SLTU: 32,
    XOR: 33,
    SRL: 34,
    SRA: 35,
    OR: 36,
    AND: 37,
    FENCE: 38,
    FENCE_I: 39,
    ECALL: 40,
    EBREAK: 41,
    MUL: 42,
    MULH: 43,
    MULHSU: 44,
    MULHU: 45,
    DIV: 46,
    DIVU: 47,
    REM: 48,
    REMU: 49,
    LR_W: 50,
    SC_W: 51,
    AMOSWAP_W: 52,
    AMOADD_W: 53,
    AMOXOR_W: 54,
    AMOAND_W: 55,
    AMOOR_W: 56,
    AMOMIN_W: 57,
    AMOMAX_W: 58,
    AMOMINU_W: 59,
    AMOMAXU_W: 60,
  } as const,
);

/** Name of an op, e.g. `"ADDI"`. */
export type OpName = keyof typeof Op;

/** Number of ops (op numbers are `0 .. OP_COUNT - 1`). */
export const OP_COUNT = 61;

/** Class of an op; decides its operands and its role in control flow. */
export type OpKind =
  | "alu"
  | "alu_imm"
  | "upper"
  | "load"
  | "store"
  | "branch"
  | "jal"
  | "jalr"
  | "system"
  | "fence"
  | "amo"
  | "invalid";

/**
 * How the operands of a 32-bit encoding are laid out; the decoder extracts
 * fields by format. Numbers so the decoder can switch on them cheaply.
 */
export const Format = Object.freeze(
  {
    /** No operands (FENCE, ECALL, EBREAK, INVALID). */
    NONE: 0,
    /** rd, rs1, rs2 (register ALU ops and AMOs). */
    R: 1,
    /** rd, rs1, 12-bit signed immediate. */
    I: 2,
    /** rd, rs1, 5-bit shift amount (funct7 is part of the match). */
    SHIFT: 3,
    /** rs1, rs2, 12-bit signed store offset. */
    S: 4,
    /** rs1, rs2, 13-bit signed branch offset. */
    B: 5,
    /** rd, upper 20 bits. */
    U: 6,
    /** rd, 21-bit signed jump offset. */
    J: 7,
    /** rd, rs1 (LR.W: rs2 must be zero, part of the match). */
    LR: 8,
  } as const,
);

/**
 * Operand layouts of compressed encodings. Each names one expansion rule of
 * the C extension (which fields map to rd/rs1/rs2/imm and which values are
 * reserved); the op the expansion produces is the row the form belongs to.
 */
export const CFormat = Object.freeze(
  {
    /** C.ADDI4SPN: rd', sp, nzuimm (zero is reserved). */
    ADDI4SPN: 0,
    /** C.LW: rd', offset(rs1'). */
    LW: 1,
    /** C.SW: rs2', offset(rs1'). */
    SW: 2,
    /** C.ADDI / C.NOP: rd = rs1, imm6. */
    ADDI: 3,
    /** C.JAL: rd = ra. */
    JAL: 4,
    /** C.J: rd = zero. */
    J: 5,
    /** C.LI: rd, rs1 = zero, imm6. */
    LI: 6,
    /** C.ADDI16SP: sp = sp + nzimm (zero is reserved). */
    ADDI16SP: 7,
    /** C.LUI: rd, nzimm << 12 (zero is reserved). */
    LUI: 8,
    /** C.SRLI / C.SRAI: rd' = rs1', shamt (shamt[5] is part of the match). */
    SHIFT_PRIME: 9,
    /** C.ANDI: rd' = rs1', imm6. */
    ANDI: 10,
    /** C.SUB / C.XOR / C.OR / C.AND: rd' = rs1', rs2'. */
    ARITH: 11,
    /** C.BEQZ / C.BNEZ: rs1', rs2 = zero. */
    BRANCH: 12,
    /** C.SLLI: rd = rs1, shamt. */
    SLLI: 13,
    /** C.LWSP: rd (zero is reserved), offset(sp). */
    LWSP: 14,
    /** C.JR: rd = zero, rs1 (zero is reserved). */
    JR: 15,
    /** C.MV: rd, rs1 = zero, rs2. */
    MV: 16,
    /** C.EBREAK. */
    EBREAK: 17,
    /** C.JALR: rd = ra, rs1. */
    JALR: 18,
    /** C.ADD: rd = rs1, rs2. */
    ADD: 19,
    /** C.SWSP: rs2, offset(sp). */
    SWSP: 20,
  } as const,
);

/** A 32-bit encoding: a word `w` is this instruction when `(w & mask) === match`. */
export interface Encoding {
  /** Required bit values (int32). */
  readonly match: number;
  /** Bits that must equal `match` (int32). */
  readonly mask: number;
}

/** A compressed encoding of a 16-bit parcel `p`: applies when `(p & mask) === match`. */
export interface CompressedForm extends Encoding {
  /** The C extension mnemonic, e.g. `"c.addi4spn"` (documentation and tests). */
  readonly name: string;
  /** Operand layout ({@linkcode CFormat}). */
  readonly format: number;
}

/** One row of the instruction table. */
export interface OpInfo {
  /** Lowercase mnemonic as objdump prints it, e.g. `"addi"`, `"fence.i"`, `"amoadd.w"`. */
  readonly name: string;
  /** Class of the op. */
  readonly kind: OpKind;
  /** True when the op ends a basic block: branches, JAL, JALR, ECALL, EBREAK. */
  readonly terminator: boolean;
  /** Bytes accessed in memory by loads, stores and AMOs, else 0. */
  readonly width: 0 | 1 | 2 | 4;
  /** Operand layout of the 32-bit encoding ({@linkcode Format}). */
  readonly format: number;
  /** The 32-bit encoding; `undefined` only for INVALID. */
  readonly encoding: Encoding | undefined;
  /** Compressed encodings that expand to this op. */
  readonly compressed: readonly CompressedForm[];
}

// Major opcodes (bits 6..0) of the 32-bit encodings.
const LOAD = 0x03;
const MISC_MEM = 0x0f;
const OP_IMM = 0x13;
const AUIPC = 0x17;
const STORE = 0x23;
const AMO = 0x2f;
const OP = 0x33;
const LUI = 0x37;
const BRANCH = 0x63;
const JALR = 0x67;
const JAL = 0x6f;
const SYSTEM = 0x73;

const OPCODE_MASK = 0x7f;
const FUNCT3_MASK = 0x7 << 12;
const FUNCT7_MASK = 0x7f << 25;
const FUNCT5_MASK = 0x1f << 27;
const RS2_MASK = 0x1f << 20;

/** A row before its derived fields (name, terminator) are filled in. */
interface Row {
  readonly kind: OpKind;
  readonly format: number;
  readonly width: 0 | 1 | 2 | 4;
  readonly encoding: Encoding | undefined;
  readonly compressed: readonly CompressedForm[];
}

/** Encoding fixed by opcode and, where given, funct3 and funct7. */
function enc(opcode: number, funct3?: number, funct7?: number): Encoding {
  let match = opcode;
  let mask = OPCODE_MASK;
  if (funct3 !== undefined) {
    match |= funct3 << 12;
    mask |= FUNCT3_MASK;
  }
  if (funct7 !== undefined) {
    match |= funct7 << 25;
    mask |= FUNCT7_MASK;
  }
  return { match: match | 0, mask: mask | 0 };
}

/** Compressed form fixed by quadrant (bits 1..0), funct3 (bits 15..13) and extra bits. */
function c(
  name: string,
  format: number,
  quadrant: number,
  funct3: number,
  extraMatch = 0,
  extraMask = 0,
): CompressedForm {
  return {
    name,
    format,
    match: quadrant | (funct3 << 13) | extraMatch,
    mask: 0xe003 | extraMask,
  };
}

function row(
  kind: OpKind,
  format: number,
  encoding: Encoding | undefined,
  compressed: readonly CompressedForm[] = [],
  width: 0 | 1 | 2 | 4 = 0,
): Row {
  return { kind, format, width, encoding, compressed };
}

const alu = (funct3: number, funct7: number, ...cs: CompressedForm[]) =>
  row("alu", Format.R, enc(OP, funct3, funct7), cs);
const aluImm = (funct3: number, ...cs: CompressedForm[]) =>
  row("alu_imm", Format.I, enc(OP_IMM, funct3), cs);
const shiftImm = (funct3: number, funct7: number, ...cs: CompressedForm[]) =>
  row("alu_imm", Format.SHIFT, enc(OP_IMM, funct3, funct7), cs);
const branch = (funct3: number, ...cs: CompressedForm[]) =>
  row("branch", Format.B, enc(BRANCH, funct3), cs);
const load = (funct3: number, width: 1 | 2 | 4, ...cs: CompressedForm[]) =>
  row("load", Format.I, enc(LOAD, funct3), cs, width);
const store = (funct3: number, width: 1 | 2 | 4, ...cs: CompressedForm[]) =>
  row("store", Format.S, enc(STORE, funct3), cs, width);
/** SYSTEM op matched on the whole word: every other field must be zero. */
const system = (funct12: number, ...cs: CompressedForm[]) =>
  row("system", Format.NONE, { match: (SYSTEM | (funct12 << 20)) | 0, mask: -1 }, cs);

/** Word AMO (funct3 = 010); aq/rl (bits 26..25) are free, so only funct5 is matched. */
function amo(funct5: number, format: number = Format.R): Row {
  const lr = format === Format.LR;
  return row(
    "amo",
    format,
    {
      match: (AMO | (2 << 12) | (funct5 << 27)) | 0,
      mask: (OPCODE_MASK | FUNCT3_MASK | FUNCT5_MASK | (lr ? RS2_MASK : 0)) | 0,
    },
    [],
    4,
  );
}

// Compressed sub-fields used as extra match bits.
const BIT12 = 1 << 12;
const RD_FIELD = 0x1f << 7;
const RS2_FIELD = 0x1f << 2;
const FUNCT2_HI = 0x3 << 10; // bits 11..10 of the CB/CA group
const FUNCT2_LO = 0x3 << 5; // bits 6..5 of the CA group
const CA_GROUP = BIT12 | FUNCT2_HI | FUNCT2_LO;

const ca = (name: string, funct2: number) =>
  c(name, CFormat.ARITH, 1, 4, FUNCT2_HI | (funct2 << 5), CA_GROUP);

// The table, keyed by op name so the type system checks that every op has
// exactly one row. Compressed shifts match shamt[5] = 0: RV32 reserves 1.
const ROWS: { readonly [K in OpName]: Row; } = {
  INVALID: row("invalid", Format.NONE, undefined),
  LUI: row("upper", Format.U, enc(LUI), [c("c.lui", CFormat.LUI, 1, 3)]),
  AUIPC: row("upper", Format.U, enc(AUIPC)),
  JAL: row("jal", Format.J, enc(JAL), [
    c("c.jal", CFormat.JAL, 1, 1),
    c("c.j", CFormat.J, 1, 5),
  ]),
  JALR: row("jalr", Format.I, enc(JALR, 0), [
    c("c.jr", CFormat.JR, 2, 4, 0, BIT12 | RS2_FIELD),
    c("c.jalr", CFormat.JALR, 2, 4, BIT12, BIT12 | RS2_FIELD),
  ]),
  BEQ: branch(0, c("c.beqz", CFormat.BRANCH, 1, 6)),
  BNE: branch(1, c("c.bnez", CFormat.BRANCH, 1, 7)),
  BLT: branch(4),
  BGE: branch(5),
  BLTU: branch(6),
  BGEU: branch(7),
  LB: load(0, 1),
  LH: load(1, 2),
  LW: load(2, 4, c("c.lw", CFormat.LW, 0, 2), c("c.lwsp", CFormat.LWSP, 2, 2)),
  LBU: load(4, 1),
  LHU: load(5, 2),
  SB: store(0, 1),
  SH: store(1, 2),
  SW: store(2, 4, c("c.sw", CFormat.SW, 0, 6), c("c.swsp", CFormat.SWSP, 2, 6)),
  ADDI: aluImm(
    0,
    c("c.addi4spn", CFormat.ADDI4SPN, 0, 0),
    c("c.addi", CFormat.ADDI, 1, 0),
    c("c.li", CFormat.LI, 1, 2),
    c("c.addi16sp", CFormat.ADDI16SP, 1, 3, 2 << 7, RD_FIELD),
  ),
  SLTI: aluImm(2),
  SLTIU: aluImm(3),
  XORI: aluImm(4),
  ORI: aluImm(6),
  ANDI: aluImm(7, c("c.andi", CFormat.ANDI, 1, 4, 2 << 10, FUNCT2_HI)),
  SLLI: shiftImm(1, 0x00, c("c.slli", CFormat.SLLI, 2, 0, 0, BIT12)),
  SRLI: shiftImm(5, 0x00, c("c.srli", CFormat.SHIFT_PRIME, 1, 4, 0, BIT12 | FUNCT2_HI)),
  SRAI: shiftImm(5, 0x20, c("c.srai", CFormat.SHIFT_PRIME, 1, 4, 1 << 10, BIT12 | FUNCT2_HI)),
  ADD: alu(
    0,
    0x00,
    c("c.mv", CFormat.MV, 2, 4, 0, BIT12),
    c("c.add", CFormat.ADD, 2, 4, BIT12, BIT12),
  ),
  SUB: alu(0, 0x20, ca("c.sub", 0)),
  SLL: alu(1, 0x00),
  SLT: alu(2, 0x00),
  SLTU: alu(3, 0x00),
  XOR: alu(4, 0x00, ca("c.xor", 1)),
  SRL: alu(5, 0x00),
  SRA: alu(5, 0x20),
  OR: alu(6, 0x00, ca("c.or", 2)),
  AND: alu(7, 0x00, ca("c.and", 3)),
  // Unused FENCE / FENCE.I fields (fm, rd, rs1, imm) are ignored, as the spec
  // asks of base implementations; FENCE.TSO and PAUSE are FENCEs.
  FENCE: row("fence", Format.NONE, enc(MISC_MEM, 0)),
  FENCE_I: row("fence", Format.NONE, enc(MISC_MEM, 1)),
  ECALL: system(0),
  EBREAK: system(1, c("c.ebreak", CFormat.EBREAK, 2, 4, BIT12, 0xffff)),
  MUL: alu(0, 0x01),
  MULH: alu(1, 0x01),
  MULHSU: alu(2, 0x01),
  MULHU: alu(3, 0x01),
  DIV: alu(4, 0x01),
  DIVU: alu(5, 0x01),
  REM: alu(6, 0x01),
  REMU: alu(7, 0x01),
  LR_W: amo(0x02, Format.LR),
  SC_W: amo(0x03),
  AMOSWAP_W: amo(0x01),
  AMOADD_W: amo(0x00),
  AMOXOR_W: amo(0x04),
  AMOAND_W: amo(0x0c),
  AMOOR_W: amo(0x08),
  AMOMIN_W: amo(0x10),
  AMOMAX_W: amo(0x14),
  AMOMINU_W: amo(0x18),
  AMOMAXU_W: amo(0x1c),
};

const TERMINATOR_KINDS: readonly OpKind[] = ["branch", "jal", "jalr", "system"];

function buildOps(): readonly OpInfo[] {
  const names = Object.keys(Op) as OpName[];
  if (names.length !== OP_COUNT) throw new Error("isa: OP_COUNT does not match Op");
  return Object.freeze(names.map((key, index): OpInfo => {
    // Dense numbering in declaration order is what lets OPS be indexed by op.
    if (Op[key] !== index) throw new Error(`isa: Op.${key} is not ${index}`);
    const r = ROWS[key];
    return Object.freeze({
      // The mnemonic is the op name: "FENCE_I" -> "fence.i", "AMOADD_W" -> "amoadd.w".
      name: key.toLowerCase().replace("_", "."),
      kind: r.kind,
      terminator: TERMINATOR_KINDS.includes(r.kind),
      width: r.width,
      format: r.format,
      encoding: r.encoding,
      compressed: Object.freeze(r.compressed.map((f) => Object.freeze(f))),
    });
  }));
}

/** The instruction table, indexed by op number ({@linkcode Op}). */
export const OPS: readonly OpInfo[] = buildOps();
