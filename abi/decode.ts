/**
 * Instruction decoder, driven by the table in abi/isa.ts.
 *
 * The table's encodings are sorted into candidate lists, one per (major
 * opcode, funct3) for 32-bit words and one per (quadrant, funct3) for
 * compressed parcels (abi/_decode_build.ts derives them; abi/_decode_tables.ts
 * holds them as literals, so that a fresh process does not derive them at
 * import: that took ~3.5 ms of cold JavaScript). Decoding picks the slot,
 * takes the first candidate whose mask matches (candidates are ordered most
 * specific first) and extracts operands by the candidate's format. No
 * allocation, no strings.
 * @module
 */
import type { Candidates } from "./_decode_build.ts";
import { narrowSlot, wideSlot } from "./_decode_slots.ts";
import { ENDS_BLOCK, NARROW, WIDE } from "./_decode_tables.ts";
import { CFormat, Format, Op } from "./isa.ts";

/** One decoded instruction; compressed ones are expanded to their base op. */
export interface DecodedInstruction {
  /** Op number ({@linkcode Op}); `Op.INVALID` for invalid encodings. */
  op: number;
  /** Destination register, 0 when unused. */
  rd: number;
  /** First source register, 0 when unused. */
  rs1: number;
  /** Second source register, 0 when unused. */
  rs2: number;
  /**
   * Sign-extended immediate (int32): pc-relative byte offset for branches and
   * JAL, the shifted value for LUI/AUIPC, the shift amount for shifts, 0 when
   * unused.
   */
  imm: number;
  /** Encoded length in bytes. */
  size: 2 | 4;
  /** True for a 16-bit (C extension) encoding. */
  compressed: boolean;
}

/** Returns a zeroed {@linkcode DecodedInstruction} to reuse with {@linkcode decodeInstruction}. */
export function newDecodedInstruction(): DecodedInstruction {
  return { op: Op.INVALID, rd: 0, rs1: 0, rs2: 0, imm: 0, size: 4, compressed: false };
}

export { ENDS_BLOCK, narrowSlot, wideSlot };

/**
 * Whether the instruction whose first 16-bit parcel is `lo` may end a basic
 * block: false means it certainly does not (whatever its other bits), so a
 * sweep for block boundaries decodes only the instructions this admits.
 */
export function mayEndBlock(lo: number): boolean {
  return ENDS_BLOCK[(lo & 3) === 3 ? wideSlot(lo) : 256 + narrowSlot(lo)] === 1;
}

function invalid(out: DecodedInstruction, size: 2 | 4): DecodedInstruction {
  out.op = Op.INVALID;
  out.rd = 0;
  out.rs1 = 0;
  out.rs2 = 0;
  out.imm = 0;
  out.size = size;
  out.compressed = size === 2;
  return out;
}

function set(
  out: DecodedInstruction,
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
): void {
  out.op = op;
  out.rd = rd;
  out.rs1 = rs1;
  out.rs2 = rs2;
  out.imm = imm;
}

/** Index of the first candidate in `slot` matching `bits`, or -1. */
function find(table: Candidates, slot: number, bits: number): number {
  for (let i = table.start[slot], end = table.start[slot + 1]; i < end; i++) {
    if ((bits & table.mask[i]) === table.match[i]) return i;
  }
  return -1;
}

/** Decodes a 32-bit word; returns false when it is not in the instruction set. */
function decodeWide(w: number, out: DecodedInstruction): boolean {
  const i = find(WIDE, wideSlot(w), w);
  if (i < 0) return false;
  const op = WIDE.op[i];
  const rd = (w >>> 7) & 31;
  const rs1 = (w >>> 15) & 31;
  const rs2 = (w >>> 20) & 31;
  switch (WIDE.format[i]) {
    case Format.R:
      set(out, op, rd, rs1, rs2, 0);
      break;
    case Format.LR:
      set(out, op, rd, rs1, 0, 0);
      break;
    case Format.I:
      set(out, op, rd, rs1, 0, w >> 20);
      break;
    case Format.SHIFT:
      set(out, op, rd, rs1, 0, rs2);
      break;
    case Format.S:
      set(out, op, 0, rs1, rs2, ((w >> 25) << 5) | rd);
      break;
    case Format.B:
      set(
        out,
        op,
        0,
        rs1,
        rs2,
        ((w >> 31) << 12) | ((w << 4) & 0x800) | ((w >>> 20) & 0x7e0) | ((w >>> 7) & 0x1e),
      );
      break;
    case Format.U:
      set(out, op, rd, 0, 0, w & 0xfffff000);
      break;
    case Format.J:
      set(
        out,
        op,
        rd,
        0,
        0,
        ((w >> 31) << 20) | (w & 0xff000) | ((w >>> 9) & 0x800) | ((w >>> 20) & 0x7fe),
      );
      break;
    default: // Format.NONE
      set(out, op, 0, 0, 0, 0);
  }
  return true;
}

/** Sign-extends the low `bits` bits of `x`. */
function sext(x: number, bits: number): number {
  return (x << (32 - bits)) >> (32 - bits);
}

/** The 6-bit CI immediate: imm[5] at bit 12, imm[4:0] at bits 6..2. */
function ciImm(p: number): number {
  return sext(((p >>> 7) & 0x20) | ((p >>> 2) & 0x1f), 6);
}

/** Decodes a compressed parcel; returns false when it is invalid or reserved. */
function decodeNarrow(p: number, out: DecodedInstruction): boolean {
  const i = find(NARROW, narrowSlot(p), p);
  if (i < 0) return false;
  const op = NARROW.op[i];
  const r = (p >>> 7) & 31; // rd/rs1 of CI/CR/CSS
  const r2 = (p >>> 2) & 31; // rs2 of CR/CSS
  const rp1 = 8 + ((p >>> 7) & 7); // rd'/rs1' (x8..x15)
  const rp2 = 8 + ((p >>> 2) & 7); // rd'/rs2'
  // uimm[5:3] at 12..10, uimm[2] at 6, uimm[6] at 5 (C.LW, C.SW)
  const wordOffset = ((p >>> 7) & 0x38) | ((p >>> 4) & 4) | ((p << 1) & 0x40);
  switch (NARROW.format[i]) {
    case CFormat.ADDI4SPN: {
      // nzuimm[5:4|9:6|2|3] at bits 12..5
      const imm = ((p >>> 7) & 0x30) | ((p >>> 1) & 0x3c0) | ((p >>> 4) & 4) | ((p >>> 2) & 8);
      if (imm === 0) return false;
      set(out, op, rp2, 2, 0, imm);
      break;
    }
    case CFormat.LW:
      set(out, op, rp2, rp1, 0, wordOffset);
      break;
    case CFormat.SW:
      set(out, op, 0, rp1, rp2, wordOffset);
      break;
    case CFormat.ADDI:
      set(out, op, r, r, 0, ciImm(p));
      break;
    case CFormat.JAL:
    case CFormat.J: {
      // offset[11|4|9:8|10|6|7|3:1|5] at bits 12..2
      const imm = ((p >>> 1) & 0x800) | ((p >>> 7) & 0x10) | ((p >>> 1) & 0x300)
        | ((p << 2) & 0x400) | ((p >>> 1) & 0x40) | ((p << 1) & 0x80) | ((p >>> 2) & 0xe)
        | ((p << 3) & 0x20);
      set(out, op, NARROW.format[i] === CFormat.JAL ? 1 : 0, 0, 0, sext(imm, 12));
      break;
    }
    case CFormat.LI:
      set(out, op, r, 0, 0, ciImm(p));
      break;
    case CFormat.ADDI16SP: {
      // nzimm[9] at bit 12, nzimm[4|6|8:7|5] at bits 6..2
      const imm = ((p >>> 3) & 0x200) | ((p >>> 2) & 0x10) | ((p << 1) & 0x40)
        | ((p << 4) & 0x180) | ((p << 3) & 0x20);
      if (imm === 0) return false;
      set(out, op, 2, 2, 0, sext(imm, 10));
      break;
    }
    case CFormat.LUI: {
      const imm = ciImm(p);
      if (imm === 0) return false;
      set(out, op, r, 0, 0, imm << 12);
      break;
    }
    case CFormat.SHIFT_PRIME:
      set(out, op, rp1, rp1, 0, r2);
      break;
    case CFormat.ANDI:
      set(out, op, rp1, rp1, 0, ciImm(p));
      break;
    case CFormat.ARITH:
      set(out, op, rp1, rp1, rp2, 0);
      break;
    case CFormat.BRANCH: {
      // offset[8|4:3] at bits 12..10, offset[7:6|2:1|5] at bits 6..2
      const imm = ((p >>> 4) & 0x100) | ((p >>> 7) & 0x18) | ((p << 1) & 0xc0)
        | ((p >>> 2) & 6) | ((p << 3) & 0x20);
      set(out, op, 0, rp1, 0, sext(imm, 9));
      break;
    }
    case CFormat.SLLI:
      set(out, op, r, r, 0, r2);
      break;
    case CFormat.LWSP:
      if (r === 0) return false;
      // uimm[5] at bit 12, uimm[4:2|7:6] at bits 6..2
      set(out, op, r, 2, 0, ((p >>> 7) & 0x20) | ((p >>> 2) & 0x1c) | ((p << 4) & 0xc0));
      break;
    case CFormat.JR:
    case CFormat.JALR:
      if (r === 0) return false;
      set(out, op, NARROW.format[i] === CFormat.JALR ? 1 : 0, r, 0, 0);
      break;
    case CFormat.MV:
      set(out, op, r, 0, r2, 0);
      break;
    case CFormat.ADD:
      set(out, op, r, r, r2, 0);
      break;
    case CFormat.SWSP:
      // uimm[5:2|7:6] at bits 12..7
      set(out, op, 0, 2, r2, ((p >>> 7) & 0x3c) | ((p >>> 1) & 0xc0));
      break;
    default: // CFormat.EBREAK
      set(out, op, 0, 0, 0, 0);
  }
  return true;
}

/**
 * Decodes the instruction whose first 16-bit parcel is `lo` and next parcel
 * `hi` (ignored for 2-byte instructions) into `out` (no allocation), returns
 * out. Never throws: invalid encodings give `Op.INVALID` with zero operands.
 * With `rve`, naming any register x16..x31 is invalid (RV32E).
 */
export function decodeInstruction(
  lo: number,
  hi: number,
  rve: boolean,
  out: DecodedInstruction,
): DecodedInstruction {
  lo &= 0xffff;
  const size = (lo & 3) === 3 ? 4 : 2;
  const ok = size === 4 ? decodeWide(lo | ((hi & 0xffff) << 16), out) : decodeNarrow(lo, out);
  // Unused fields are zero, so one test covers every register an op names.
  if (!ok || (rve && ((out.rd | out.rs1 | out.rs2) & 16) !== 0)) return invalid(out, size);
  out.size = size;
  out.compressed = size === 2;
  return out;
}
