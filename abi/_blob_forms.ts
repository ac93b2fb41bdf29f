/**
 * The instruction forms of a blob's code stream (abi/README.md §7): how a
 * record's form byte and operand value give an instruction's decoded fields
 * and its exact RISC-V bytes. The loader and the writer both go through
 * {@linkcode decodeGroup}, so what the writer emits is what the loader reads.
 * @module
 */
import { CFormat, Format, Op, OPS } from "./isa.ts";

/** A raw 32-bit instruction word follows (4 bytes, little-endian). */
export const FORM_RAW32 = 0;
/** A raw 16-bit parcel follows (2 bytes). */
export const FORM_RAW16 = 61;
/** The segment's last 1–3 bytes follow: an instruction cut off by the end of the code. */
export const FORM_TAIL = 62;
/** The first compressed form; the others follow in {@linkcode COMPRESSED_FORMS} order. */
export const FIRST_COMPRESSED_FORM = 63;
/** Form bytes from here on name dictionary entries (`form - DICTIONARY_FORM`). */
export const DICTIONARY_FORM = 128;
/** Most dictionary entries a blob may have. */
export const MAX_DICTIONARY = 256 - DICTIONARY_FORM;

/** Compressed forms in the order of the C extension's opcode map (quadrants 0, 1, 2). */
export const COMPRESSED_FORMS: readonly string[] = [
  "c.addi4spn",
  "c.lw",
  "c.sw",
  "c.addi",
  "c.jal",
  "c.li",
  "c.addi16sp",
  "c.lui",
  "c.srli",
  "c.srai",
  "c.andi",
  "c.sub",
  "c.xor",
  "c.or",
  "c.and",
  "c.j",
  "c.beqz",
  "c.bnez",
  "c.slli",
  "c.lwsp",
  "c.jr",
  "c.mv",
  "c.ebreak",
  "c.jalr",
  "c.add",
  "c.swsp",
];

/**
 * How a form's operand value is laid out. 32-bit layouts are small numbers;
 * a compressed layout is `COMPRESSED + CFormat`.
 */
export const Layout = Object.freeze({
  /** Not a form (unassigned form byte). */
  UNASSIGNED: 0,
  RAW32: 1,
  RAW16: 2,
  TAIL: 3,
  /** No operand (ECALL, EBREAK). */
  NONE: 4,
  R: 5,
  AMO: 6,
  LR: 7,
  I: 8,
  SHIFT: 9,
  S: 10,
  B: 11,
  U: 12,
  J: 13,
  FENCE: 14,
  COMPRESSED: 16,
});

const FORM_COUNT = DICTIONARY_FORM;
/** Op of each form. */
export const FORM_OP: Uint8Array = new Uint8Array(FORM_COUNT);
/** Layout of each form ({@linkcode Layout}). */
export const FORM_LAYOUT: Uint8Array = new Uint8Array(FORM_COUNT);
/** The encoding bits every instruction of the form has (opcode, funct fields). */
export const FORM_MATCH: Int32Array = new Int32Array(FORM_COUNT);
/** Which bits {@linkcode FORM_MATCH} fixes. */
export const FORM_MASK: Int32Array = new Int32Array(FORM_COUNT);
/** Encoded size in bytes (0 for tails, whose size their first byte gives, and unassigned forms). */
export const FORM_SIZE: Uint8Array = new Uint8Array(FORM_COUNT);

/** The layout of each 32-bit operand format (abi/isa.ts). */
const FORMAT_LAYOUT: Readonly<Record<number, number>> = {
  [Format.NONE]: Layout.NONE,
  [Format.R]: Layout.R,
  [Format.I]: Layout.I,
  [Format.SHIFT]: Layout.SHIFT,
  [Format.S]: Layout.S,
  [Format.B]: Layout.B,
  [Format.U]: Layout.U,
  [Format.J]: Layout.J,
  [Format.LR]: Layout.LR,
};

/** FENCEs keep the fields decoding ignores; AMOs (but LR.W) their ordering bits. */
function layoutOf32(op: number): number {
  const info = OPS[op];
  if (info.kind === "fence") return Layout.FENCE;
  if (info.kind === "amo" && info.format === Format.R) return Layout.AMO;
  return FORMAT_LAYOUT[info.format];
}

function buildForms(): void {
  FORM_LAYOUT[FORM_RAW32] = Layout.RAW32;
  FORM_SIZE[FORM_RAW32] = 4;
  FORM_LAYOUT[FORM_RAW16] = Layout.RAW16;
  FORM_SIZE[FORM_RAW16] = 2;
  FORM_LAYOUT[FORM_TAIL] = Layout.TAIL;
  // Forms 1..60 are the ops' 32-bit encodings, numbered like the ops.
  for (let op = 1; op < FORM_RAW16; op++) {
    const encoding = OPS[op].encoding!;
    FORM_OP[op] = op;
    FORM_LAYOUT[op] = layoutOf32(op);
    FORM_MATCH[op] = encoding.match;
    FORM_MASK[op] = encoding.mask;
    FORM_SIZE[op] = 4;
  }
  COMPRESSED_FORMS.forEach((name, i) => {
    const op = OPS.findIndex((info) => info.compressed.some((c) => c.name === name));
    const form = OPS[op].compressed.find((c) => c.name === name)!;
    const f = FIRST_COMPRESSED_FORM + i;
    FORM_OP[f] = op;
    FORM_LAYOUT[f] = Layout.COMPRESSED + form.format;
    FORM_MATCH[f] = form.match;
    FORM_MASK[f] = form.mask;
    FORM_SIZE[f] = 2;
  });
}
buildForms();

/** Whether a canonical form has an operand value after its form byte. */
export function hasOperand(layout: number): boolean {
  return layout !== Layout.NONE && layout !== Layout.COMPRESSED + CFormat.EBREAK;
}

/** Where {@linkcode decodeGroup} writes: instruction fields and code bytes. */
export interface GroupOutput {
  /** Destination registers, by instruction index. */
  readonly rd: Uint8Array;
  /** First source registers. */
  readonly rs1: Uint8Array;
  /** Second source registers. */
  readonly rs2: Uint8Array;
  /** Immediates. */
  readonly imm: Int32Array;
  /** The code bytes. */
  readonly bytes: DataView;
  /** Where each instruction's bytes start in `bytes`. */
  readonly at: Uint32Array;
}

/** Zigzag-decodes a signed field: 0, -1, 1, -2, … from 0, 1, 2, 3, …. */
const unzig = (z: number) => (z >>> 1) ^ -(z & 1);
/** Zigzag-encodes a signed field. */
export const zig = (x: number): number => ((x << 1) ^ (x >> 31)) >>> 0;

/**
 * Decodes the operands of the instructions `positions[from..to)`, all of
 * canonical form `f`, from `operands` at `p` (one varint each unless the
 * form has none): writes their fields and encodings into `out`. Returns
 * where the operands end, or `-1 - j` when the operand of `positions[j]` is
 * out of range, names an encoding the decoder (abi/decode.ts) would read as
 * another instruction or as invalid, or starts at or past `end`. Otherwise
 * the bytes written decode to exactly the form's op and the fields written
 * (tests/blob_test.ts checks every compressed operand and samples the rest).
 * `w` is the register width: 4 for RV32E, 5 for RV32I.
 *
 * One form at a time, so the switch on its layout (literal numbers,
 * {@linkcode Layout}; compressed: 16 + CFormat) takes the same branch every
 * iteration: mixed in instruction order it cost several times more, in
 * mispredicted jumps.
 */
export function decodeGroup(
  f: number,
  operands: Uint8Array,
  p: number,
  end: number,
  positions: Int32Array,
  from: number,
  to: number,
  w: number,
  out: GroupOutput,
): number {
  const layout = FORM_LAYOUT[f];
  const match = FORM_MATCH[f];
  const long = FORM_SIZE[f] === 4;
  const operand = hasOperand(layout);
  const { rd: rdOut, rs1: rs1Out, rs2: rs2Out, imm: immOut, bytes, at } = out;
  const m = (1 << w) - 1;
  for (let j = from; j < to; j++) {
    let v = 0;
    if (operand) {
      if (p >= end) return -1 - j;
      // An operand is below 2^25: at most four varint bytes.
      let b = operands[p++];
      v = b & 0x7f;
      if (b >= 0x80) {
        b = operands[p++];
        v |= (b & 0x7f) << 7;
        if (b >= 0x80) {
          b = operands[p++];
          v |= (b & 0x7f) << 14;
          if (b >= 0x80) {
            b = operands[p++];
            if (b >= 0x80) return -1 - j;
            v |= b << 21;
          }
        }
      }
    }
    const r = v & m; // the first full register field
    const r2 = (v >>> w) & m; // the second
    const p1 = v & 7; // the first prime register field (x8..x15 as 0..7)
    const p2 = (v >>> 3) & 7; // the second
    let rd = 0, rs1 = 0, rs2 = 0, imm = 0, bits = match;
    let width: number; // operand bits; v must be below 2^width
    switch (layout) {
      case 4: // NONE
      case 33: // C.EBREAK
        width = 0;
        break;
      case 5: // R
        width = 3 * w;
        rd = r, rs1 = r2, rs2 = v >>> (2 * w);
        bits |= rd << 7 | rs1 << 15 | rs2 << 20;
        break;
      case 6: // AMO: R, then aq and rl
        width = 3 * w + 2;
        rd = r, rs1 = r2, rs2 = (v >>> (2 * w)) & m;
        bits |= (v >>> (3 * w)) << 25;
        bits |= rd << 7 | rs1 << 15 | rs2 << 20;
        break;
      case 7: // LR: rd, rs1, then aq and rl
        width = 2 * w + 2;
        rd = r, rs1 = r2;
        bits |= rd << 7 | rs1 << 15 | (v >>> (2 * w)) << 25;
        break;
      case 8: // I
        width = 2 * w + 12;
        rd = r, rs1 = r2, imm = unzig(v >>> (2 * w));
        bits |= rd << 7 | rs1 << 15 | imm << 20;
        break;
      case 9: // SHIFT
        width = 2 * w + 5;
        rd = r, rs1 = r2, imm = v >>> (2 * w);
        bits |= rd << 7 | rs1 << 15 | imm << 20;
        break;
      case 10: // S
        width = 2 * w + 12;
        rs1 = r, rs2 = r2, imm = unzig(v >>> (2 * w));
        bits |= (imm & 0x1f) << 7 | rs1 << 15 | rs2 << 20 | (imm >> 5) << 25;
        break;
      case 11: // B
        width = 2 * w + 12;
        rs1 = r, rs2 = r2, imm = unzig(v >>> (2 * w)) << 1;
        bits |= rs1 << 15 | rs2 << 20 | ((imm >> 12) & 1) << 31 | ((imm >> 5) & 0x3f) << 25
          | ((imm >> 1) & 0xf) << 8 | ((imm >> 11) & 1) << 7;
        break;
      case 12: // U
        width = w + 20;
        rd = r, imm = unzig(v >>> w) << 12;
        bits |= rd << 7 | imm;
        break;
      case 13: // J
        width = w + 20;
        rd = r, imm = unzig(v >>> w) << 1;
        bits |= rd << 7 | ((imm >> 20) & 1) << 31 | ((imm >> 1) & 0x3ff) << 21
          | ((imm >> 11) & 1) << 20 | (imm & 0xff000);
        break;
      case 14: // FENCE ignores its fields: rd, then bits 31..15 of the word
        width = 22;
        bits |= (v & 0x1f) << 7 | (v >>> 5) << 15;
        break;
      case 16: // C.ADDI4SPN: nzuimm[5:4|9:6|2|3] at bits 12..5
        width = 11;
        rd = 8 + p1, rs1 = 2, imm = (v >>> 3) << 2;
        if (imm === 0) return -1 - j;
        bits |= p1 << 2 | (imm & 0x30) << 7 | (imm & 0x3c0) << 1 | (imm & 4) << 4 | (imm & 8) << 2;
        break;
      case 17: // C.LW: uimm[5:3] at bits 12..10, uimm[2] at 6, uimm[6] at 5
        width = 11;
        rd = 8 + p1, rs1 = 8 + p2, imm = (v >>> 6) << 2;
        bits |= p1 << 2 | p2 << 7 | (imm & 0x38) << 7 | (imm & 4) << 4 | (imm & 0x40) >>> 1;
        break;
      case 18: // C.SW: the same offset
        width = 11;
        rs1 = 8 + p1, rs2 = 8 + p2, imm = (v >>> 6) << 2;
        bits |= p2 << 2 | p1 << 7 | (imm & 0x38) << 7 | (imm & 4) << 4 | (imm & 0x40) >>> 1;
        break;
      case 19: // C.ADDI: imm[5] at bit 12, imm[4:0] at bits 6..2
      case 22: // C.LI: likewise
        width = w + 6;
        rd = r, rs1 = layout === 19 ? r : 0, imm = unzig(v >>> w);
        bits |= r << 7 | (imm & 0x20) << 7 | (imm & 0x1f) << 2;
        break;
      case 20: // C.JAL: offset[11|4|9:8|10|6|7|3:1|5] at bits 12..2
      case 21: // C.J: likewise
        width = 11;
        rd = layout === 20 ? 1 : 0, imm = unzig(v) << 1;
        bits |= (imm & 0x800) << 1 | (imm & 0x10) << 7 | (imm & 0x300) << 1 | (imm & 0x400) >>> 2
          | (imm & 0x40) << 1 | (imm & 0x80) >>> 1 | (imm & 0xe) << 2 | (imm & 0x20) >>> 3;
        break;
      case 23: // C.ADDI16SP: nzimm[9] at bit 12, nzimm[4|6|8:7|5] at bits 6..2
        width = 6;
        rd = 2, rs1 = 2, imm = unzig(v) << 4;
        if (imm === 0) return -1 - j;
        bits |= (imm & 0x200) << 3 | (imm & 0x10) << 2 | (imm & 0x40) >>> 1 | (imm & 0x180) >>> 4
          | (imm & 0x20) >>> 3;
        break;
      case 24: { // C.LUI: nzimm[17:12] like C.LI's; rd = sp would be C.ADDI16SP
        width = w + 6;
        const z = unzig(v >>> w);
        if (z === 0 || r === 2) return -1 - j;
        rd = r, imm = z << 12;
        bits |= r << 7 | (z & 0x20) << 7 | (z & 0x1f) << 2;
        break;
      }
      case 25: // C.SRLI, C.SRAI: shamt[4:0] at bits 6..2 (shamt[5] = 0)
        width = 8;
        rd = 8 + p1, rs1 = 8 + p1, imm = v >>> 3;
        bits |= p1 << 7 | imm << 2;
        break;
      case 26: // C.ANDI
        width = 9;
        rd = 8 + p1, rs1 = 8 + p1, imm = unzig(v >>> 3);
        bits |= p1 << 7 | (imm & 0x20) << 7 | (imm & 0x1f) << 2;
        break;
      case 27: // C.SUB, C.XOR, C.OR, C.AND
        width = 6;
        rd = 8 + p1, rs1 = 8 + p1, rs2 = 8 + p2;
        bits |= p1 << 7 | p2 << 2;
        break;
      case 28: // C.BEQZ, C.BNEZ: offset[8|4:3] at bits 12..10, offset[7:6|2:1|5] at 6..2
        width = 11;
        rs1 = 8 + p1, imm = unzig(v >>> 3) << 1;
        bits |= p1 << 7 | (imm & 0x100) << 4 | (imm & 0x18) << 7 | (imm & 0xc0) >>> 1
          | (imm & 6) << 2
          | (imm & 0x20) >>> 3;
        break;
      case 29: // C.SLLI
        width = w + 5;
        rd = r, rs1 = r, imm = v >>> w;
        bits |= r << 7 | imm << 2;
        break;
      case 30: // C.LWSP: uimm[5] at bit 12, uimm[4:2|7:6] at bits 6..2; rd = x0 is reserved
        width = w + 6;
        if (r === 0) return -1 - j;
        rd = r, rs1 = 2, imm = (v >>> w) << 2;
        bits |= r << 7 | (imm & 0x20) << 7 | (imm & 0x1c) << 2 | (imm & 0xc0) >>> 4;
        break;
      case 31: // C.JR: rs1 = x0 is reserved
      case 34: // C.JALR: likewise
        width = w;
        if (r === 0) return -1 - j;
        rd = layout === 34 ? 1 : 0, rs1 = r;
        bits |= r << 7;
        break;
      case 32: // C.MV: with rs2 = x0 it would be C.JR
      case 35: // C.ADD: with rs2 = x0 it would be C.JALR or C.EBREAK
        width = 2 * w;
        rd = r, rs1 = layout === 35 ? r : 0, rs2 = v >>> w;
        if (rs2 === 0) return -1 - j;
        bits |= r << 7 | rs2 << 2;
        break;
      case 36: // C.SWSP: uimm[5:2|7:6] at bits 12..7
        width = w + 6;
        rs1 = 2, rs2 = r, imm = (v >>> w) << 2;
        bits |= r << 2 | (imm & 0x3c) << 7 | (imm & 0xc0) << 1;
        break;
      default:
        return -1 - j;
    }
    if (v >= 1 << width) return -1 - j;
    const i = positions[j];
    rdOut[i] = rd;
    rs1Out[i] = rs1;
    rs2Out[i] = rs2;
    immOut[i] = imm;
    if (long) bytes.setInt32(at[i], bits, true);
    else bytes.setUint16(at[i], bits, true);
  }
  return p;
}

const one = {
  rd: new Uint8Array(1),
  rs1: new Uint8Array(1),
  rs2: new Uint8Array(1),
  imm: new Int32Array(1),
  bytes: new DataView(new ArrayBuffer(4)),
  at: new Uint32Array(1),
};
const onePosition = new Int32Array(1);
const oneOperand = new Uint8Array(8);

/**
 * Decodes one canonical record (for the writer and the tests; the loader
 * decodes whole groups): its fields and encoding, or undefined when
 * {@linkcode decodeGroup} rejects it.
 */
export function decodeOne(
  f: number,
  v: number,
  w: number,
): { rd: number; rs1: number; rs2: number; imm: number; bits: number; } | undefined {
  let n = 0;
  for (let rest = v; n === 0 || rest > 0; rest = Math.floor(rest / 128)) {
    oneOperand[n++] = (rest & 0x7f) | (rest >= 0x80 ? 0x80 : 0);
  }
  if (decodeGroup(f, oneOperand, 0, 1, onePosition, 0, 1, w, one) < 0) return undefined;
  const bits = FORM_SIZE[f] === 4 ? one.bytes.getInt32(0, true) : one.bytes.getUint16(0, true);
  return { rd: one.rd[0], rs1: one.rs1[0], rs2: one.rs2[0], imm: one.imm[0], bits };
}

/**
 * The operand value of an instruction in a canonical form (the inverse of
 * {@linkcode decodeGroup}): from its decoded fields and, for the bits the
 * decoder ignores (AMO ordering, FENCE fields), its encoding. May be out of
 * range; the writer checks it with decodeOne.
 */
export function operandOf(
  layout: number,
  w: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
  bits: number,
): number {
  switch (layout) {
    case Layout.R:
      return rd | rs1 << w | rs2 << (2 * w);
    case Layout.AMO:
      return (rd | rs1 << w | rs2 << (2 * w) | ((bits >>> 25) & 3) << (3 * w)) >>> 0;
    case Layout.LR:
      return rd | rs1 << w | ((bits >>> 25) & 3) << (2 * w);
    case Layout.I:
      return rd | rs1 << w | zig(imm) << (2 * w);
    case Layout.SHIFT:
      return rd | rs1 << w | imm << (2 * w);
    case Layout.S:
      return rs1 | rs2 << w | zig(imm) << (2 * w);
    case Layout.B:
      return rs1 | rs2 << w | zig(imm >> 1) << (2 * w);
    case Layout.U:
    case Layout.COMPRESSED + CFormat.LUI:
      return rd | zig(imm >> 12) << w;
    case Layout.J:
      return rd | zig(imm >> 1) << w;
    case Layout.FENCE:
      return ((bits >>> 7) & 0x1f) | (bits >>> 15) << 5;
    default:
      return compressedOperandOf(layout - Layout.COMPRESSED, w, rd, rs1, rs2, imm);
  }
}

function compressedOperandOf(
  format: number,
  w: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
): number {
  switch (format) {
    case CFormat.ADDI4SPN:
      return (rd - 8) | (imm >> 2) << 3;
    case CFormat.LW:
      return (rd - 8) | (rs1 - 8) << 3 | (imm >> 2) << 6;
    case CFormat.SW:
      return (rs1 - 8) | (rs2 - 8) << 3 | (imm >> 2) << 6;
    case CFormat.ADDI:
    case CFormat.LI:
      return rd | zig(imm) << w;
    case CFormat.JAL:
    case CFormat.J:
      return zig(imm >> 1);
    case CFormat.ADDI16SP:
      return zig(imm >> 4);
    case CFormat.SHIFT_PRIME:
      return (rd - 8) | imm << 3;
    case CFormat.SLLI:
      return rd | imm << w;
    case CFormat.ANDI:
      return (rd - 8) | zig(imm) << 3;
    case CFormat.ARITH:
      return (rd - 8) | (rs2 - 8) << 3;
    case CFormat.BRANCH:
      return (rs1 - 8) | zig(imm >> 1) << 3;
    case CFormat.LWSP:
      return rd | (imm >> 2) << w;
    case CFormat.JR:
    case CFormat.JALR:
      return rs1;
    case CFormat.MV:
    case CFormat.ADD:
      return rd | rs2 << w;
    case CFormat.SWSP:
      return rs2 | (imm >> 2) << w;
    default:
      return 0;
  }
}

/** The canonical form of a decoded (valid) instruction with encoding `bits` and `size`, or -1. */
export function formOf(op: number, size: number, bits: number): number {
  if (op === Op.INVALID) return -1;
  if (size === 4) return op;
  for (let f = FIRST_COMPRESSED_FORM; f < FIRST_COMPRESSED_FORM + COMPRESSED_FORMS.length; f++) {
    if (FORM_OP[f] === op && (bits & FORM_MASK[f]) === FORM_MATCH[f]) return f;
  }
  return -1;
}
