/**
 * Tiny guest builder for trap and gas tests: encodes the few instructions
 * they need (independently of abi/decode.ts) and wraps them in an ELF laid
 * out like the SDK's: code at 0x10000, rodata at 0x11000, a 64 KiB stack gap,
 * data at 0x22000.
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
}

/** Address of code index `index` in a guest built from `code`. */
export function addressOf(code: GuestSpec["code"], index: number): number {
  let at = CODE;
  for (let k = 0; k < index; k++) at += typeof code[k] === "number" ? 4 : 2;
  return at;
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
  const text: number[] = [];
  for (const item of spec.code) {
    const v = typeof item === "number" ? item : item.half;
    const n = typeof item === "number" ? 4 : 2;
    for (let k = 0; k < n; k++) text.push((v >>> (8 * k)) & 0xff);
  }
  const place = (list: { at: number; name: string; }[] = []) =>
    list.map(({ at, name }) => ({ address: addressOf(spec.code, at), name }));
  const segments = [
    { vaddr: CODE, bytes: new Uint8Array(text), flags: 5 },
    { vaddr: RODATA, bytes: spec.rodata ?? new Uint8Array(16), flags: 4 },
    { vaddr: DATA, bytes: spec.data ?? new Uint8Array(16), flags: 6 },
  ];
  const sections = [
    { name: ".rvbox.imports", bytes: records(place(spec.imports)) },
    { name: ".rvbox.exports", bytes: records(place(spec.exports)) },
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
  v.setUint32(24, addressOf(spec.code, spec.entry ?? 0), true);
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
    v.setUint32(at + 20, sg.bytes.length, true);
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
