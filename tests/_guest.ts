/**
 * Tiny guest builder for tests and the fuzzer: encodes instructions
 * (independently of abi/decode.ts; compressed ones too) and wraps them in an
 * ELF laid out like the SDK's — code at 0x10000, rodata at 0x11000, a 64 KiB
 * stack gap, data at 0x22000 — or with the segments a test gives.
 */

/** Where the sections of a built guest are. */
export const CODE = 0x10000;
/** Read-only data page. */
export const RODATA = 0x11000;
/** Read-write data page (the stack is the 64 KiB below it). */
export const DATA = 0x22000;

const i = (imm: number, rs1: number, f3: number, rd: number, op: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const r = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const s = (imm: number, rs2: number, rs1: number, f3: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7)
    | 0x23) >>> 0;
const b = (off: number, rs2: number, rs1: number, f3: number) =>
  ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12)
    | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0;

/** (funct7, funct3) of every R-type RV32IM ALU op (opcode 0x33), for random programs. */
export const R_TYPE_FUNCTS: readonly (readonly [number, number])[] = [
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((f3) => [0, f3] as const),
  [0x20, 0],
  [0x20, 5],
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((f3) => [1, f3] as const),
];

/** Raw instruction formats (R, I, S, B), for tests that generate instructions. */
export const format = { r, i, s, b } as const;

/** Instruction encoders (registers by number, offsets in bytes). */
export const ins = {
  addi: (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x13),
  li: (rd: number, imm: number) => i(imm, 0, 0, rd, 0x13),
  lui: (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0,
  add: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 0, rd, 0x33),
  lw: (rd: number, rs1: number, imm: number) => i(imm, rs1, 2, rd, 0x03),
  lbu: (rd: number, rs1: number, imm: number) => i(imm, rs1, 4, rd, 0x03),
  sw: (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 2),
  sb: (rs2: number, rs1: number, imm: number) => s(imm, rs2, rs1, 0),
  amoadd: (rd: number, rs2: number, rs1: number) => r(0, rs2, rs1, 2, rd, 0x2f),
  /** Any A-extension instruction by its funct5 (2 = LR.W, 3 = SC.W), with the aq/rl bits. */
  atomic: (f5: number, rd: number, rs2: number, rs1: number, aqrl = 0) =>
    r((f5 << 2) | aqrl, rs2, rs1, 2, rd, 0x2f),
  beq: (rs1: number, rs2: number, off: number) => b(off, rs2, rs1, 0),
  bne: (rs1: number, rs2: number, off: number) => b(off, rs2, rs1, 1),
  jal: (rd: number, off: number) =>
    ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20)
      | (((off >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0,
  jalr: (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x67),
  ret: () => i(0, 1, 0, 0, 0x67),
  ecall: () => 0x00000073,
  ebreak: () => 0x00100073,
  csrrs: (rd: number, csr: number) => i(csr, 0, 2, rd, 0x73),
};

/** x8..x15 as the 3-bit field of a compressed encoding. */
const p = (x: number) => x & 7;
/** Immediate fields of C.J / C.JAL (byte offset). */
const cjImm = (off: number) =>
  (((off >> 11) & 1) << 12) | (((off >> 4) & 1) << 11) | (((off >> 8) & 3) << 9)
  | (((off >> 10) & 1) << 8) | (((off >> 6) & 1) << 7) | (((off >> 7) & 1) << 6)
  | (((off >> 1) & 7) << 3) | (((off >> 5) & 1) << 2);
/** Immediate fields of C.BEQZ / C.BNEZ (byte offset). */
const cbImm = (off: number) =>
  (((off >> 8) & 1) << 12) | (((off >> 3) & 3) << 10) | (((off >> 6) & 3) << 5)
  | (((off >> 1) & 3) << 3) | (((off >> 5) & 1) << 2);
/** CI form: funct3, a 6-bit immediate split 1 + 5, rd. */
const ci = (f3: number, imm6: number, rd: number, op: number) =>
  (f3 << 13) | (((imm6 >> 5) & 1) << 12) | (rd << 7) | ((imm6 & 31) << 2) | op;
/** CL/CS form (C.LW, C.SW): a word offset, rs1' and rd'/rs2'. */
const cls = (f3: number, r: number, rs1: number, uimm: number) =>
  (f3 << 13) | (((uimm >> 3) & 7) << 10) | (p(rs1) << 7) | (((uimm >> 2) & 1) << 6)
  | (((uimm >> 6) & 1) << 5) | (p(r) << 2);
/** CB-form shifts and C.ANDI: funct2 at bits 11:10, rd'. */
const cb = (f2: number, rd: number, imm6: number) =>
  (4 << 13) | (((imm6 >> 5) & 1) << 12) | (f2 << 10) | (p(rd) << 7) | ((imm6 & 31) << 2) | 1;
/** CA form: C.SUB (0), C.XOR (1), C.OR (2), C.AND (3). */
const ca = (f2: number) => (rd: number, rs2: number) =>
  (0x23 << 10) | (p(rd) << 7) | (f2 << 5) | (p(rs2) << 2) | 1;

/**
 * Compressed (C extension) encoders returning 16-bit parcels. Registers by
 * number; rd'/rs1'/rs2' operands must be x8-x15; offsets in bytes. Field
 * layouts follow the RISC-V C extension (checked against llvm-mc-19).
 */
export const cins = {
  addi4spn: (rd: number, uimm: number) =>
    (((uimm >> 4) & 3) << 11) | (((uimm >> 6) & 15) << 7) | (((uimm >> 2) & 1) << 6)
    | (((uimm >> 3) & 1) << 5) | (p(rd) << 2),
  lw: (rd: number, rs1: number, uimm: number) => cls(2, rd, rs1, uimm),
  sw: (rs2: number, rs1: number, uimm: number) => cls(6, rs2, rs1, uimm),
  nop: () => 0x0001,
  addi: (rd: number, imm: number) => ci(0, imm, rd, 1),
  jal: (off: number) => (1 << 13) | cjImm(off) | 1,
  li: (rd: number, imm: number) => ci(2, imm, rd, 1),
  addi16sp: (imm: number) =>
    (3 << 13) | (((imm >> 9) & 1) << 12) | (2 << 7) | (((imm >> 4) & 1) << 6)
    | (((imm >> 6) & 1) << 5) | (((imm >> 7) & 3) << 3) | (((imm >> 5) & 1) << 2) | 1,
  /** `imm6` is bits 17:12 of the loaded value. */
  lui: (rd: number, imm6: number) => ci(3, imm6, rd, 1),
  srli: (rd: number, shamt: number) => cb(0, rd, shamt),
  srai: (rd: number, shamt: number) => cb(1, rd, shamt),
  andi: (rd: number, imm: number) => cb(2, rd, imm),
  sub: ca(0),
  xor: ca(1),
  or: ca(2),
  and: ca(3),
  j: (off: number) => (5 << 13) | cjImm(off) | 1,
  beqz: (rs1: number, off: number) => (6 << 13) | cbImm(off) | (p(rs1) << 7) | 1,
  bnez: (rs1: number, off: number) => (7 << 13) | cbImm(off) | (p(rs1) << 7) | 1,
  slli: (rd: number, shamt: number) => ci(0, shamt, rd, 2),
  lwsp: (rd: number, uimm: number) =>
    (2 << 13) | (((uimm >> 5) & 1) << 12) | (rd << 7) | (((uimm >> 2) & 7) << 4)
    | (((uimm >> 6) & 3) << 2) | 2,
  swsp: (rs2: number, uimm: number) =>
    (6 << 13) | (((uimm >> 2) & 15) << 9) | (((uimm >> 6) & 3) << 7) | (rs2 << 2) | 2,
  jr: (rs1: number) => (8 << 12) | (rs1 << 7) | 2,
  mv: (rd: number, rs2: number) => (8 << 12) | (rd << 7) | (rs2 << 2) | 2,
  ebreak: () => 0x9002,
  jalr: (rs1: number) => (9 << 12) | (rs1 << 7) | 2,
  add: (rd: number, rs2: number) => (9 << 12) | (rd << 7) | (rs2 << 2) | 2,
};

/** Register numbers by ABI name. */
export const reg = {
  zero: 0,
  ra: 1,
  sp: 2,
  t0: 5,
  t1: 6,
  t2: 7,
  s0: 8,
  s1: 9,
  a0: 10,
  a1: 11,
  a2: 12,
  a5: 15,
};

/** A guest: 32-bit code words (or `{ half }` for a 2-byte parcel) and its tables. */
export interface GuestSpec {
  code: (number | { half: number; })[];
  /** Import sites: code index (into `code`) of an ECALL and the import name. */
  imports?: { at: number; name: string; }[];
  /** Exports: code index and name. */
  exports?: { at: number; name: string; }[];
  /** Code index of the entry point (default 0). */
  entry?: number;
  rodata?: Uint8Array;
  data?: Uint8Array;
  rve?: boolean;
  /** Address of the code (default `CODE`). */
  codeAt?: number;
  /** `p_flags` of the code segment (default 5, r-x). */
  codeFlags?: number;
  /** Memory size of the code segment when larger than its bytes (a zero-filled tail). */
  codeMemsz?: number;
  /** The other segments, replacing the SDK layout's rodata and data. */
  segments?: SegmentSpec[];
}

/** A `PT_LOAD` segment of a built guest. */
export interface SegmentSpec {
  vaddr: number;
  bytes: Uint8Array;
  /** Memory size (default: the byte count). */
  memsz?: number;
  /** `p_flags`: PF_X = 1, PF_W = 2, PF_R = 4. */
  flags: number;
}

/** Address of code index `index` in a guest built from `code` placed at `base`. */
export function addressOf(code: GuestSpec["code"], index: number, base = CODE): number {
  let at = base;
  for (let k = 0; k < index; k++) at += typeof code[k] === "number" ? 4 : 2;
  return at;
}

/** The bytes of `code`, little-endian. */
export function codeBytes(code: GuestSpec["code"]): Uint8Array {
  const text: number[] = [];
  for (const item of code) {
    const v = typeof item === "number" ? item : item.half;
    const n = typeof item === "number" ? 4 : 2;
    for (let k = 0; k < n; k++) text.push((v >>> (8 * k)) & 0xff);
  }
  return new Uint8Array(text);
}

function records(list: { address: number; name: string; }[]): Uint8Array {
  const out: number[] = [];
  for (const { address, name } of list) {
    out.push(address & 0xff, (address >> 8) & 0xff, (address >> 16) & 0xff, address >>> 24);
    for (const c of name) out.push(c.charCodeAt(0));
    out.push(0);
    while (out.length % 4) out.push(0);
  }
  return new Uint8Array(out);
}

/** Builds the ELF file for `spec`. */
export function buildGuest(spec: GuestSpec): Uint8Array {
  const base = spec.codeAt ?? CODE;
  const place = (list: { at: number; name: string; }[] = []) =>
    list.map(({ at, name }) => ({ address: addressOf(spec.code, at, base), name }));
  const text = codeBytes(spec.code);
  return buildElf({
    entry: addressOf(spec.code, spec.entry ?? 0, base),
    rve: spec.rve,
    segments: [
      {
        vaddr: base,
        bytes: text,
        memsz: Math.max(text.length, spec.codeMemsz ?? 0),
        flags: spec.codeFlags ?? 5,
      },
      ...spec.segments ?? [
        { vaddr: RODATA, bytes: spec.rodata ?? new Uint8Array(16), flags: 4 },
        { vaddr: DATA, bytes: spec.data ?? new Uint8Array(16), flags: 6 },
      ],
    ],
    imports: records(place(spec.imports)),
    exports: records(place(spec.exports)),
  });
}

/** What {@linkcode buildElf} writes: segments and the two rvbox sections' bytes. */
export interface ElfSpec {
  entry: number;
  rve?: boolean;
  segments: SegmentSpec[];
  imports: Uint8Array;
  exports: Uint8Array;
}

/** Builds an ELF file with the given segments (in that order) and rvbox sections. */
export function buildElf(spec: ElfSpec): Uint8Array {
  const segments = spec.segments;
  const sections = [
    { name: ".rvbox.imports", bytes: spec.imports },
    { name: ".rvbox.exports", bytes: spec.exports },
  ];
  const names = [
    0,
    ...[".shstrtab", ...sections.map((s) => s.name)].flatMap((n) =>
      [...n].map((c) => c.charCodeAt(0)).concat(0)
    ),
  ];
  // File: ELF header, program headers, segment bytes, section bytes, names, section headers.
  const phoff = 52;
  let offset = phoff + 32 * segments.length;
  // Page-aligned file offsets, as a Linux loader (qemu-riscv32) needs for mmap.
  const segOffsets = segments.map((sg) => {
    const at = (offset + 0xfff) & ~0xfff;
    offset = at + sg.bytes.length;
    return at;
  });
  const secOffsets = sections.map((sc) => (offset += sc.bytes.length) - sc.bytes.length);
  const namesOffset = offset;
  offset += names.length;
  const shoff = (offset + 3) & ~3;
  const total = shoff + 40 * (sections.length + 2);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, 2, true); // ET_EXEC
  v.setUint16(18, 243, true); // EM_RISCV
  v.setUint32(20, 1, true);
  v.setUint32(24, spec.entry, true);
  v.setUint32(28, phoff, true);
  v.setUint32(32, shoff, true);
  v.setUint32(36, spec.rve ? 0x8 : 0, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, segments.length, true);
  v.setUint16(46, 40, true);
  v.setUint16(48, sections.length + 2, true);
  v.setUint16(50, 1, true); // .shstrtab is section 1
  segments.forEach((sg, k) => {
    const at = phoff + 32 * k;
    v.setUint32(at, 1, true); // PT_LOAD
    v.setUint32(at + 4, segOffsets[k], true);
    v.setUint32(at + 8, sg.vaddr, true);
    v.setUint32(at + 12, sg.vaddr, true);
    v.setUint32(at + 16, sg.bytes.length, true);
    v.setUint32(at + 20, sg.memsz ?? sg.bytes.length, true);
    v.setUint32(at + 24, sg.flags, true);
    v.setUint32(at + 28, 0x1000, true);
    out.set(sg.bytes, segOffsets[k]);
  });
  const header = (index: number, nameOffset: number, fileOffset: number, size: number) => {
    const at = shoff + 40 * index;
    v.setUint32(at, nameOffset, true);
    v.setUint32(at + 4, 3 - (index === 1 ? 0 : 2), true); // STRTAB for names, PROGBITS otherwise
    v.setUint32(at + 16, fileOffset, true);
    v.setUint32(at + 20, size, true);
  };
  out.set(names, namesOffset);
  header(1, 1, namesOffset, names.length);
  let nameAt = 1 + ".shstrtab".length + 1;
  sections.forEach((sc, k) => {
    out.set(sc.bytes, secOffsets[k]);
    header(k + 2, nameAt, secOffsets[k], sc.bytes.length);
    nameAt += sc.name.length + 1;
  });
  return out;
}
