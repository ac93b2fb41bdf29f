/**
 * An AArch64 assembler for exactly the instructions the backend emits:
 * fixed 32-bit encodings with their immediate ranges checked, and branch
 * fix-ups (26-bit, 19-bit and ADR's 21-bit). `sf` selects the 64-bit (X)
 * form, else the 32-bit (W) one. Register 31 is XZR/WZR or SP as the
 * instruction defines it. tests/a64_asm_test.ts checks every form against
 * llvm-mc.
 * @module
 */

/** A register number, 0-31. */
export type Reg = number;
/** The zero register (or SP where the instruction reads it so). */
export const ZR = 31, SP = 31;
/** Condition codes. */
export const COND = Object.freeze(
  {
    EQ: 0,
    NE: 1,
    HS: 2,
    LO: 3,
    MI: 4,
    PL: 5,
    VS: 6,
    VC: 7,
    HI: 8,
    LS: 9,
    GE: 10,
    LT: 11,
    GT: 12,
    LE: 13,
    AL: 14,
  } as const,
); // dprint-ignore
/** A condition code. */
export type Cond = number;
/** Register extensions for the extended-register and register-offset forms. */
export const UXTW = 2, SXTW = 6, LSL64 = 3;
/** A label: an index among its assembler's labels. */
export type Label = number;

const B26 = 0, B19 = 1, ADR21 = 2;

function reg(r: Reg): number {
  if ((r & 31) !== r) throw new RangeError(`invalid register ${r}`);
  return r;
}

function unsigned(v: number, bits: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) {
    throw new RangeError(`${what} ${v} does not fit in ${bits} unsigned bits`);
  }
  return v;
}

function signed(v: number, bits: number, what: string): number {
  if (!Number.isInteger(v) || v < -(2 ** (bits - 1)) || v >= 2 ** (bits - 1)) {
    throw new RangeError(`${what} ${v} does not fit in ${bits} signed bits`);
  }
  return v & (2 ** bits - 1);
}

/** Assembles AArch64 machine code into a growing buffer of 32-bit words. */
export class A64Assembler {
  #words: Uint32Array;
  #count = 0;
  readonly #labels: number[] = [];
  /** Triples: word index, label, kind. */
  readonly #fixups: number[] = [];

  /** Starts with room for `initialWords` instructions (it grows as needed). */
  constructor(initialWords = 1024) {
    this.#words = new Uint32Array(Math.max(16, initialWords));
  }

  /** Bytes emitted so far. */
  get offset(): number {
    return this.#count * 4;
  }

  /** Emits one instruction word. */
  word(w: number): void {
    if (this.#count === this.#words.length) {
      const bigger = new Uint32Array(this.#words.length * 2);
      bigger.set(this.#words);
      this.#words = bigger;
    }
    this.#words[this.#count++] = w >>> 0;
  }

  /** A new unbound label. */
  label(): Label {
    return this.#labels.push(-1) - 1;
  }

  /** Binds `l` here. */
  bind(l: Label): void {
    if (this.#labels[l] !== -1) throw new Error(`label ${l} is already bound`);
    this.#labels[l] = this.offset;
  }

  /** The offset `l` is bound to. */
  offsetOf(l: Label): number {
    const at = this.#labels[l];
    if (at === undefined || at < 0) throw new Error(`label ${l} is not bound`);
    return at;
  }

  /** Sets the branch or ADR at byte offset `at` to reach byte offset `target`. */
  patchBranch(at: number, target: number): void {
    const i = at >> 2;
    const w = this.#words[i];
    const delta = target - at;
    let kind = B19;
    if ((w & 0x7c000000) === 0x14000000) kind = B26; // B, BL
    else if ((w & 0x9f000000) === 0x10000000) kind = ADR21;
    this.#words[i] = this.#encodeBranch(w, delta, kind);
  }

  #encodeBranch(w: number, delta: number, kind: number): number {
    if (kind === ADR21) {
      const v = signed(delta, 21, "ADR offset");
      return (w & ~((3 << 29) | (0x7ffff << 5))) | ((v & 3) << 29) | ((v >> 2) << 5);
    }
    if (delta & 3) throw new RangeError(`branch offset ${delta} is not a multiple of 4`);
    if (kind === B26) return (w & ~0x3ffffff) | signed(delta >> 2, 26, "branch offset");
    return (w & ~(0x7ffff << 5)) | (signed(delta >> 2, 19, "branch offset") << 5);
  }

  /** Resolves every branch and returns the code (a view of the word buffer: no copy). */
  finish(): Uint8Array {
    const f = this.#fixups;
    for (let k = 0; k < f.length; k += 3) {
      const i = f[k];
      const delta = this.offsetOf(f[k + 1]) - i * 4;
      this.#words[i] = this.#encodeBranch(this.#words[i], delta, f[k + 2]);
    }
    return new Uint8Array(this.#words.buffer, 0, this.#count * 4);
  }

  #branchTo(w: number, l: Label, kind: number): void {
    this.#fixups.push(this.#count, l, kind);
    this.word(w);
  }

  // ---- moves ----

  /** `movz rd, #imm16, lsl #shift`. */
  movz(sf: boolean, rd: Reg, imm16: number, shift = 0): void {
    this.#wide(sf ? 0xd2800000 : 0x52800000, rd, imm16, shift, sf);
  }

  /** `movk rd, #imm16, lsl #shift`. */
  movk(sf: boolean, rd: Reg, imm16: number, shift = 0): void {
    this.#wide(sf ? 0xf2800000 : 0x72800000, rd, imm16, shift, sf);
  }

  /** `movn rd, #imm16, lsl #shift`. */
  movn(sf: boolean, rd: Reg, imm16: number, shift = 0): void {
    this.#wide(sf ? 0x92800000 : 0x12800000, rd, imm16, shift, sf);
  }

  #wide(base: number, rd: Reg, imm16: number, shift: number, sf: boolean): void {
    if (shift % 16 !== 0 || shift < 0 || shift > (sf ? 48 : 16)) {
      throw new RangeError(`invalid move shift ${shift}`);
    }
    this.word(base | ((shift / 16) << 21) | (unsigned(imm16, 16, "immediate") << 5) | reg(rd));
  }

  /** Loads a 32-bit constant into `wd` (one or two instructions). */
  movImm32(rd: Reg, value: number): void {
    const v = value >>> 0;
    const lo = v & 0xffff, hi = v >>> 16;
    if (hi === 0xffff && lo !== 0) return this.movn(false, rd, ~v & 0xffff);
    this.movz(false, rd, hi !== 0 && lo === 0 ? hi : lo, hi !== 0 && lo === 0 ? 16 : 0);
    if (hi !== 0 && lo !== 0) this.movk(false, rd, hi, 16);
  }

  /** Loads a 64-bit constant below 2^53 into `xd` (movz + movk). */
  movImm64(rd: Reg, value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`invalid constant ${value}`);
    }
    this.movz(true, rd, value % 0x10000);
    for (let shift = 16; shift < 64; shift += 16) {
      const part = Math.floor(value / 2 ** shift) % 0x10000;
      if (part !== 0) this.movk(true, rd, part, shift);
    }
  }

  /** `mov rd, rm` (`orr rd, zr, rm`; W form zero-extends). */
  mov(sf: boolean, rd: Reg, rm: Reg): void {
    this.orr(sf, rd, ZR, rm);
  }

  /** `mov rd, sp` / `mov sp, rn` (`add rd, rn, #0`, where 31 means SP). */
  movSp(rd: Reg, rn: Reg): void {
    this.addImm(true, rd, rn, 0);
  }

  // ---- arithmetic ----

  #addSubImm(base: number, sf: boolean, rd: Reg, rn: Reg, imm: number): void {
    const shifted = imm >= 4096 && (imm & 0xfff) === 0;
    const v = unsigned(shifted ? imm >>> 12 : imm, 12, "immediate");
    this.word(
      base | (sf ? 1 << 31 : 0) | (shifted ? 1 << 22 : 0) | (v << 10) | (reg(rn) << 5) | reg(rd),
    );
  }

  /** `add rd, rn, #imm` (0-4095, or a multiple of 4096 below 2^24). */
  addImm(sf: boolean, rd: Reg, rn: Reg, imm: number): void {
    this.#addSubImm(0x11000000, sf, rd, rn, imm);
  }

  /** `sub rd, rn, #imm`. */
  subImm(sf: boolean, rd: Reg, rn: Reg, imm: number): void {
    this.#addSubImm(0x51000000, sf, rd, rn, imm);
  }

  /** `adds rd, rn, #imm`. */
  addsImm(sf: boolean, rd: Reg, rn: Reg, imm: number): void {
    this.#addSubImm(0x31000000, sf, rd, rn, imm);
  }

  /** `subs rd, rn, #imm` (`cmp rn, #imm` with rd = ZR). */
  subsImm(sf: boolean, rd: Reg, rn: Reg, imm: number): void {
    this.#addSubImm(0x71000000, sf, rd, rn, imm);
  }

  #threeReg(base: number, sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.word(base | (sf ? 1 << 31 : 0) | (reg(rm) << 16) | (reg(rn) << 5) | reg(rd));
  }

  /** `add rd, rn, rm`. */
  add(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x0b000000, sf, rd, rn, rm);
  }

  /** `sub rd, rn, rm`. */
  sub(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x4b000000, sf, rd, rn, rm);
  }

  /** `subs rd, rn, rm` (`cmp rn, rm` with rd = ZR). */
  subs(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x6b000000, sf, rd, rn, rm);
  }

  /** `add xd, xn, wm, uxtw #amount` (xn may be SP). */
  addUxtw(rd: Reg, rn: Reg, rm: Reg, amount = 0): void {
    unsigned(amount, 3, "extend shift");
    if (amount > 4) throw new RangeError(`extend shift ${amount} is above 4`);
    this.word(
      0x8b200000 | (reg(rm) << 16) | (UXTW << 13) | (amount << 10) | (reg(rn) << 5) | reg(rd),
    );
  }

  /** `and rd, rn, rm`. */
  and(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x0a000000, sf, rd, rn, rm);
  }

  /** `orr rd, rn, rm`. */
  orr(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x2a000000, sf, rd, rn, rm);
  }

  /** `eor rd, rn, rm`. */
  eor(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x4a000000, sf, rd, rn, rm);
  }

  /** `lslv rd, rn, rm` (the shift is rm modulo the width). */
  lslv(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x1ac02000, sf, rd, rn, rm);
  }

  /** `lsrv rd, rn, rm`. */
  lsrv(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x1ac02400, sf, rd, rn, rm);
  }

  /** `asrv rd, rn, rm`. */
  asrv(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x1ac02800, sf, rd, rn, rm);
  }

  /** `sdiv rd, rn, rm` (x/0 = 0, MIN/-1 = MIN: no trap). */
  sdiv(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x1ac00c00, sf, rd, rn, rm);
  }

  /** `udiv rd, rn, rm` (x/0 = 0). */
  udiv(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.#threeReg(0x1ac00800, sf, rd, rn, rm);
  }

  #bitfield(base: number, sf: boolean, rd: Reg, rn: Reg, immr: number, imms: number): void {
    const bits = sf ? 6 : 5;
    unsigned(immr, bits, "immr");
    unsigned(imms, bits, "imms");
    this.word(
      base | (sf ? (1 << 31) | (1 << 22) : 0) | (immr << 16) | (imms << 10) | (reg(rn) << 5)
        | reg(rd),
    );
  }

  /** `ubfm rd, rn, #immr, #imms`. */
  ubfm(sf: boolean, rd: Reg, rn: Reg, immr: number, imms: number): void {
    this.#bitfield(0x53000000, sf, rd, rn, immr, imms);
  }

  /** `sbfm rd, rn, #immr, #imms`. */
  sbfm(sf: boolean, rd: Reg, rn: Reg, immr: number, imms: number): void {
    this.#bitfield(0x13000000, sf, rd, rn, immr, imms);
  }

  /** `lsl rd, rn, #n`. */
  lslImm(sf: boolean, rd: Reg, rn: Reg, n: number): void {
    const width = sf ? 64 : 32;
    unsigned(n, sf ? 6 : 5, "shift");
    this.ubfm(sf, rd, rn, (width - n) % width, width - 1 - n);
  }

  /** `lsr rd, rn, #n`. */
  lsrImm(sf: boolean, rd: Reg, rn: Reg, n: number): void {
    this.ubfm(sf, rd, rn, n, sf ? 63 : 31);
  }

  /** `asr rd, rn, #n`. */
  asrImm(sf: boolean, rd: Reg, rn: Reg, n: number): void {
    this.sbfm(sf, rd, rn, n, sf ? 63 : 31);
  }

  /** `sxtw xd, wn`. */
  sxtw(rd: Reg, rn: Reg): void {
    this.sbfm(true, rd, rn, 0, 31);
  }

  /** `madd rd, rn, rm, ra` (rd = ra + rn * rm). */
  madd(sf: boolean, rd: Reg, rn: Reg, rm: Reg, ra: Reg): void {
    this.word(
      0x1b000000 | (sf ? 1 << 31 : 0) | (reg(rm) << 16) | (reg(ra) << 10) | (reg(rn) << 5)
        | reg(rd),
    );
  }

  /** `msub rd, rn, rm, ra` (rd = ra - rn * rm). */
  msub(sf: boolean, rd: Reg, rn: Reg, rm: Reg, ra: Reg): void {
    this.word(
      0x1b008000 | (sf ? 1 << 31 : 0) | (reg(rm) << 16) | (reg(ra) << 10) | (reg(rn) << 5)
        | reg(rd),
    );
  }

  /** `mul rd, rn, rm`. */
  mul(sf: boolean, rd: Reg, rn: Reg, rm: Reg): void {
    this.madd(sf, rd, rn, rm, ZR);
  }

  /** `smull xd, wn, wm` (signed 32 x 32 -> 64). */
  smull(rd: Reg, rn: Reg, rm: Reg): void {
    this.word(0x9b200000 | (reg(rm) << 16) | (ZR << 10) | (reg(rn) << 5) | reg(rd));
  }

  /** `umull xd, wn, wm` (unsigned 32 x 32 -> 64). */
  umull(rd: Reg, rn: Reg, rm: Reg): void {
    this.word(0x9ba00000 | (reg(rm) << 16) | (ZR << 10) | (reg(rn) << 5) | reg(rd));
  }

  #condSelect(base: number, sf: boolean, rd: Reg, rn: Reg, rm: Reg, cond: Cond): void {
    unsigned(cond, 4, "condition");
    this.word(
      base | (sf ? 1 << 31 : 0) | (reg(rm) << 16) | (cond << 12) | (reg(rn) << 5) | reg(rd),
    );
  }

  /** `csel rd, rn, rm, cond`. */
  csel(sf: boolean, rd: Reg, rn: Reg, rm: Reg, cond: Cond): void {
    this.#condSelect(0x1a800000, sf, rd, rn, rm, cond);
  }

  /** `csinc rd, rn, rm, cond`. */
  csinc(sf: boolean, rd: Reg, rn: Reg, rm: Reg, cond: Cond): void {
    this.#condSelect(0x1a800400, sf, rd, rn, rm, cond);
  }

  /** `csinv rd, rn, rm, cond`. */
  csinv(sf: boolean, rd: Reg, rn: Reg, rm: Reg, cond: Cond): void {
    this.#condSelect(0x5a800000, sf, rd, rn, rm, cond);
  }

  /** `cset rd, cond` (1 if cond else 0). */
  cset(sf: boolean, rd: Reg, cond: Cond): void {
    this.csinc(sf, rd, ZR, ZR, cond ^ 1);
  }

  // ---- memory ----

  /** Register-offset access `[xn, wm, uxtw]`: `base` selects size, direction and extension. */
  #regOffset(base: number, rt: Reg, rn: Reg, rm: Reg): void {
    this.word(base | (reg(rm) << 16) | (UXTW << 13) | (reg(rn) << 5) | reg(rt));
  }

  /** `ldr wt, [xn, wm, uxtw]`. */
  ldrW(rt: Reg, rn: Reg, rm: Reg): void {
    this.#regOffset(0xb8600800, rt, rn, rm);
  }

  /** `ldrb wt, [xn, wm, uxtw]`. */
  ldrB(rt: Reg, rn: Reg, rm: Reg): void {
    this.#regOffset(0x38600800, rt, rn, rm);
  }

  /** `ldrsb wt, [xn, wm, uxtw]`. */
  ldrSB(rt: Reg, rn: Reg, rm: Reg): void {
    this.#regOffset(0x38e00800, rt, rn, rm);
  }

  /** `ldrh wt, [xn, wm, uxtw]`. */
  ldrH(rt: Reg, rn: Reg, rm: Reg): void {
    this.#regOffset(0x78600800, rt, rn, rm);
  }

  /** `ldrsh wt, [xn, wm, uxtw]`. */
  ldrSH(rt: Reg, rn: Reg, rm: Reg): void {
    this.#regOffset(0x78e00800, rt, rn, rm);
  }

  /** `str wt, [xn, wm, uxtw]`. */
  strW(rt: Reg, rn: Reg, rm: Reg): void {
    this.#regOffset(0xb8200800, rt, rn, rm);
  }

  /** `strh wt, [xn, wm, uxtw]`. */
  strH(rt: Reg, rn: Reg, rm: Reg): void {
    this.#regOffset(0x78200800, rt, rn, rm);
  }

  /** `strb wt, [xn, wm, uxtw]`. */
  strB(rt: Reg, rn: Reg, rm: Reg): void {
    this.#regOffset(0x38200800, rt, rn, rm);
  }

  #unscaled(base: number, rt: Reg, rn: Reg, offset: number): void {
    this.word(base | (signed(offset, 9, "offset") << 12) | (reg(rn) << 5) | reg(rt));
  }

  /** `ldur rt, [xn, #offset]` (-256..255). */
  ldur(sf: boolean, rt: Reg, rn: Reg, offset: number): void {
    this.#unscaled(sf ? 0xf8400000 : 0xb8400000, rt, rn, offset);
  }

  /** `stur rt, [xn, #offset]` (-256..255). */
  stur(sf: boolean, rt: Reg, rn: Reg, offset: number): void {
    this.#unscaled(sf ? 0xf8000000 : 0xb8000000, rt, rn, offset);
  }

  /** `ldr xt, [xn, #offset]` (a multiple of 8, 0..32760). */
  ldrX(rt: Reg, rn: Reg, offset: number): void {
    if (offset % 8 !== 0) throw new RangeError(`offset ${offset} is not a multiple of 8`);
    this.word(0xf9400000 | (unsigned(offset / 8, 12, "offset") << 10) | (reg(rn) << 5) | reg(rt));
  }

  /** `stp xt1, xt2, [sp, #offset]!` (pre-index; a multiple of 8, -512..504). */
  stpPre(rt1: Reg, rt2: Reg, rn: Reg, offset: number): void {
    if (offset % 8 !== 0) throw new RangeError(`offset ${offset} is not a multiple of 8`);
    this.word(
      0xa9800000 | (signed(offset / 8, 7, "offset") << 15) | (reg(rt2) << 10) | (reg(rn) << 5)
        | reg(rt1),
    );
  }

  /** `ldp xt1, xt2, [sp], #offset` (post-index). */
  ldpPost(rt1: Reg, rt2: Reg, rn: Reg, offset: number): void {
    if (offset % 8 !== 0) throw new RangeError(`offset ${offset} is not a multiple of 8`);
    this.word(
      0xa8c00000 | (signed(offset / 8, 7, "offset") << 15) | (reg(rt2) << 10) | (reg(rn) << 5)
        | reg(rt1),
    );
  }

  // ---- control flow ----

  /** `b l`. */
  b(l: Label): void {
    this.#branchTo(0x14000000, l, B26);
  }

  /** `bl l`. */
  bl(l: Label): void {
    this.#branchTo(0x94000000, l, B26);
  }

  /** `b.cond l`. */
  bcond(cond: Cond, l: Label): void {
    this.#branchTo(0x54000000 | unsigned(cond, 4, "condition"), l, B19);
  }

  /** `cbz rt, l`. */
  cbz(sf: boolean, rt: Reg, l: Label): void {
    this.#branchTo((sf ? 0xb4000000 : 0x34000000) | reg(rt), l, B19);
  }

  /** `cbnz rt, l`. */
  cbnz(sf: boolean, rt: Reg, l: Label): void {
    this.#branchTo((sf ? 0xb5000000 : 0x35000000) | reg(rt), l, B19);
  }

  /** `adr xd, l`. */
  adr(rd: Reg, l: Label): void {
    this.#branchTo(0x10000000 | reg(rd), l, ADR21);
  }

  /** `br xn`. */
  br(rn: Reg): void {
    this.word(0xd61f0000 | (reg(rn) << 5));
  }

  /** `blr xn`. */
  blr(rn: Reg): void {
    this.word(0xd63f0000 | (reg(rn) << 5));
  }

  /** `ret` (to x30). */
  ret(): void {
    this.word(0xd65f03c0);
  }

  /** `nop`. */
  nop(): void {
    this.word(0xd503201f);
  }

  /** `brk #imm16`. */
  brk(imm16 = 0): void {
    this.word(0xd4200000 | (unsigned(imm16, 16, "immediate") << 5));
  }
}
