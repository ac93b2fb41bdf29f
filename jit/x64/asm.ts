/**
 * An x86-64 assembler for exactly the instructions the backend emits: typed
 * helpers over REX, ModRM/SIB, imm8/imm32 forms and rel8/rel32 branches with
 * fix-ups. Bytes go straight into a growing Uint8Array; nothing is allocated
 * per instruction. tests/x64_asm_test.ts checks every form against
 * llvm-mc.
 * @module
 */

import { CodeBuffer, type Label } from "./_code_buffer.ts";

export { type Label };

export {
  ALU,
  type Alu,
  CC,
  type Cond,
  type Mem,
  MOVE,
  type Move,
  R10,
  R11,
  R12,
  R13,
  R14,
  R15,
  R8,
  R9,
  RAX,
  RBP,
  RBX,
  RCX,
  RDI,
  RDX,
  type Reg,
  RSI,
  RSP,
  SHIFT,
  type Shift,
} from "./_operands.ts";
import type { Alu, Cond, Mem, Move, Reg, Shift } from "./_operands.ts";
import { MOVE, RBP, RSP } from "./_operands.ts";

/** Opcodes of the {@linkcode MOVE} kinds (STORE16 adds the 0x66 prefix). */
const MOVE_OPCODE = [0x8b, 0x0fb6, 0x0fbe, 0x0fb7, 0x0fbf, 0x89, 0x89, 0x88];

const fitsI8 = (v: number) => v >= -128 && v <= 127;
const SCALE_BITS = [-1, 0, 1, -1, 2, -1, -1, -1, 3];

// The checks stay tiny so that V8 inlines them; the throws live apart.
function checkReg(r: Reg): void {
  if ((r & 15) !== r) badRegister(r);
}

function badRegister(r: Reg): never {
  throw new RangeError(`invalid register ${r}`);
}

/** Accepts int32 or uint32 values (as the same 32 bits). */
function imm32(v: number): number {
  const bits = v | 0;
  if (bits !== v && bits >>> 0 !== v) badImmediate(v);
  return bits;
}

function badImmediate(v: number): never {
  throw new RangeError(`immediate ${v} does not fit in 32 bits`);
}

/** Assembles x86-64 machine code. */
export class X64Assembler extends CodeBuffer {
  // ---- encoding primitives ----

  /**
   * REX at `p` when needed (or always with `byteRegs`: an 8-bit operand in
   * SPL..DIL), then the 1-2 opcode bytes; returns the next position.
   */
  #opcode(p: number, rex: number, op: number, byteRegs: boolean): number {
    const buf = this.buf;
    if (rex !== 0x40 || byteRegs) buf[p++] = rex;
    if (op > 0xff) buf[p++] = op >> 8;
    buf[p++] = op;
    return p;
  }

  /** `op` with a register-direct ModRM: `reg` field and `rm` register. */
  #rr(w: boolean, op: number, reg: Reg, rm: Reg, byteRegs = false): void {
    if (((reg | rm) & ~15) !== 0) {
      checkReg(reg);
      checkReg(rm);
    }
    let p = this.room(8);
    const buf = this.buf;
    const rex = 0x40 | (w ? 8 : 0) | ((reg >> 3) << 2) | (rm >> 3);
    p = this.#opcode(p, rex, op, byteRegs);
    buf[p++] = 0xc0 | ((reg & 7) << 3) | (rm & 7);
    this.pos = p;
  }

  /** `op` with a memory ModRM (and SIB/displacement as needed). */
  #rm(w: boolean, op: number, reg: Reg, m: Mem, byteRegs = false): void {
    if (m.index === undefined) this.#baseDisp(w, op, reg, m.base, m.disp ?? 0, byteRegs);
    else this.#mem(w, op, reg, m.base, m.index, m.scale ?? 1, m.disp ?? 0, byteRegs);
  }

  /**
   * `op reg, [base + disp]`: the common operand (state-block fields, `lea`
   * of a register plus an immediate), encoded with fewer decisions than
   * {@linkcode X64Assembler.#mem}.
   */
  #baseDisp(w: boolean, op: number, reg: Reg, base: Reg, disp: number, byteRegs: boolean): void {
    const b = base & 7;
    if (
      ((reg | base) & ~15) !== 0 || (disp | 0) !== disp || b === RSP || (b === RBP && disp === 0)
    ) {
      return this.#mem(w, op, reg, base, -1, 1, disp, byteRegs); // checks, or needs a SIB / disp8
    }
    let p = this.room(16);
    const buf = this.buf;
    const rex = 0x40 | (w ? 8 : 0) | ((reg >> 3) << 2) | (base >> 3);
    p = this.#opcode(p, rex, op, byteRegs);
    const r = (reg & 7) << 3;
    if (disp === 0) buf[p++] = r | b;
    else if (disp >= -128 && disp <= 127) {
      buf[p++] = 0x40 | r | b;
      buf[p++] = disp;
    } else {
      buf[p++] = 0x80 | r | b;
      buf[p++] = disp;
      buf[p++] = disp >> 8;
      buf[p++] = disp >> 16;
      buf[p++] = disp >> 24;
    }
    this.pos = p;
  }

  /**
   * `op reg, [base + index]` (scale 1, no displacement): guest memory
   * accesses, encoded without {@linkcode X64Assembler.#mem}'s decisions.
   */
  #indexed(op: number, reg: Reg, base: Reg, index: Reg, prefix: number, byteRegs: boolean): void {
    if (((reg | base | index) & ~15) !== 0 || index === RSP || (base & 7) === RBP) {
      if (prefix !== 0) this.byte(prefix);
      return this.#mem(false, op, reg, base, index, 1, 0, byteRegs); // checks, or needs a disp8
    }
    let p = this.room(8);
    const buf = this.buf;
    if (prefix !== 0) buf[p++] = prefix;
    const rex = 0x40 | ((reg >> 3) << 2) | ((index >> 3) << 1) | (base >> 3);
    p = this.#opcode(p, rex, op, byteRegs);
    buf[p++] = ((reg & 7) << 3) | 4;
    buf[p++] = ((index & 7) << 3) | (base & 7);
    this.pos = p;
  }

  /** {@linkcode X64Assembler.#rm} on the operand's parts (`index` -1: none); allocates nothing. */
  #mem(
    w: boolean,
    op: number,
    reg: Reg,
    base: Reg,
    index: number,
    scale: number,
    disp: number,
    byteRegs: boolean,
  ): void {
    // One combined test on the hot path; the thrower says what was wrong.
    if (
      ((reg | base) & ~15) !== 0 || (disp | 0) !== disp || (index !== -1 && (index & ~15) !== 0)
    ) {
      checkReg(reg);
      checkReg(base);
      if (index !== -1) checkReg(index);
      throw new RangeError(`displacement ${disp} does not fit in 32 bits`);
    }
    let bits = 0, x = 0;
    if (index !== -1) {
      if (index === RSP) throw new RangeError("RSP cannot be an index register");
      bits = SCALE_BITS[scale] ?? -1;
      if (bits < 0) throw new RangeError(`invalid scale ${scale}`);
      x = index;
    }
    let p = this.room(16);
    const buf = this.buf;
    // REX, opcode, ModRM, SIB when there is an index (or the base is RSP/R12), displacement.
    const rex = 0x40 | (w ? 8 : 0) | ((reg >> 3) << 2) | ((x >> 3) << 1) | (base >> 3);
    p = this.#opcode(p, rex, op, byteRegs);
    // RBP/R13 as base with mod 00 would mean RIP/disp32: use disp8 = 0.
    const b = base & 7;
    const mod = disp === 0 && b !== RBP ? 0 : disp >= -128 && disp <= 127 ? 1 : 2;
    const r = (reg & 7) << 3;
    if (index === -1 && b !== RSP) buf[p++] = (mod << 6) | r | b;
    else {
      buf[p++] = (mod << 6) | r | 4;
      buf[p++] = (bits << 6) | ((index === -1 ? 4 : x & 7) << 3) | b;
    }
    if (mod === 1) buf[p++] = disp;
    else if (mod === 2) {
      buf[p++] = disp;
      buf[p++] = disp >> 8;
      buf[p++] = disp >> 16;
      buf[p++] = disp >> 24;
    }
    this.pos = p;
  }

  /** A rel32 field pointing at `l`, patched in `finish`. */
  #rel32(l: Label): void {
    this.rel32At(this.pos, l);
    this.i32(0);
  }

  /** A short (rel8) or near (rel32) branch: `short` and `near` are the opcodes. */
  #branch(short: number, near: number, l: Label): void {
    const at = this.boundAt(l);
    if (at >= 0) this.#branchBack(short, near, at);
    else this.rel32At(this.#branchField(near), l);
  }

  /** A branch to offset `at`, already emitted: rel8 when near enough. */
  #branchBack(short: number, near: number, at: number): void {
    const p = this.room(2);
    if (fitsI8(at - (p + 2))) {
      this.buf[p] = short;
      this.buf[p + 1] = at - (p + 2);
      this.pos = p + 2;
    } else this.patchRel32(this.#branchField(near), at);
  }

  /** Opcode `near` (1 or 2 bytes) and a zero rel32 field; returns the field's offset. */
  #branchField(near: number): number {
    let p = this.room(6);
    if (near > 0xff) this.buf[p++] = near >> 8;
    this.buf[p] = near;
    this.view.setInt32(p + 1, 0, true);
    this.pos = p + 5;
    return p + 1;
  }

  // ---- moves ----

  /** `mov dst32, src32` (zero-extends into the 64-bit register). */
  mov32(dst: Reg, src: Reg): void {
    this.#rr(false, 0x89, src, dst);
  }

  /** `mov dst, src` (64-bit). */
  mov64(dst: Reg, src: Reg): void {
    this.#rr(true, 0x89, src, dst);
  }

  /** `mov dst32, imm32` (never `xor`: flags stay untouched). */
  movImm32(dst: Reg, imm: number): void {
    checkReg(dst);
    const v = imm32(imm);
    if (dst >= 8) this.byte(0x41);
    this.byte(0xb8 + (dst & 7));
    this.i32(v);
  }

  /** Loads a 64-bit constant with the shortest exact encoding. */
  movImm64(dst: Reg, imm: bigint): void {
    checkReg(dst);
    const v = BigInt.asUintN(64, imm);
    if (v <= 0xffffffffn) return this.movImm32(dst, Number(v));
    const signed = BigInt.asIntN(64, v);
    if (signed >= -0x80000000n && signed < 0) {
      this.#rr(true, 0xc7, 0, dst);
      return this.i32(Number(signed));
    }
    this.byte(0x48 | (dst >> 3));
    this.byte(0xb8 + (dst & 7));
    this.i32(Number(v & 0xffffffffn));
    this.i32(Number(v >> 32n));
  }

  // ---- arithmetic ----

  /** `op dst32, src32`. */
  alu32(op: Alu, dst: Reg, src: Reg): void {
    this.#rr(false, (op << 3) | 1, src, dst);
  }

  /** `op dst, src` (64-bit). */
  alu64(op: Alu, dst: Reg, src: Reg): void {
    this.#rr(true, (op << 3) | 1, src, dst);
  }

  #aluImm(w: boolean, op: Alu, dst: Reg, imm: number): void {
    const v = imm32(imm);
    if (w && v !== imm) throw new RangeError(`immediate ${imm} is not a signed 32-bit value`);
    if (fitsI8(v)) {
      this.#rr(w, 0x83, op, dst);
      this.byte(v & 0xff);
    } else {
      this.#rr(w, 0x81, op, dst);
      this.i32(v);
    }
  }

  /** `op dst32, imm` (imm8 form when it fits). */
  alu32Imm(op: Alu, dst: Reg, imm: number): void {
    this.#aluImm(false, op, dst, imm);
  }

  /** `op dst, simm32` (64-bit; imm8 form when it fits). */
  alu64Imm(op: Alu, dst: Reg, imm: number): void {
    this.#aluImm(true, op, dst, imm);
  }

  /** `op dst32, [m]`. */
  alu32RM(op: Alu, dst: Reg, src: Mem): void {
    this.#rm(false, (op << 3) | 3, dst, src);
  }

  /** `op dst, [m]` (64-bit). */
  alu64RM(op: Alu, dst: Reg, src: Mem): void {
    this.#rm(true, (op << 3) | 3, dst, src);
  }

  /** `op [m], src32`. */
  alu32MR(op: Alu, dst: Mem, src: Reg): void {
    this.#rm(false, (op << 3) | 1, src, dst);
  }

  #aluMI(w: boolean, op: Alu, dst: Mem, imm: number): void {
    const v = imm32(imm);
    if (w && v !== imm) throw new RangeError(`immediate ${imm} is not a signed 32-bit value`);
    this.#rm(w, fitsI8(v) ? 0x83 : 0x81, op, dst);
    if (fitsI8(v)) this.byte(v & 0xff);
    else this.i32(v);
  }

  /** `op dword [m], imm`. */
  alu32MI(op: Alu, dst: Mem, imm: number): void {
    this.#aluMI(false, op, dst, imm);
  }

  /** `op qword [m], simm32`. */
  alu64MI(op: Alu, dst: Mem, imm: number): void {
    this.#aluMI(true, op, dst, imm);
  }

  /** `op dst32, cl`. */
  shift32(op: Shift, dst: Reg): void {
    this.#rr(false, 0xd3, op, dst);
  }

  #shiftImm(w: boolean, op: Shift, dst: Reg, imm: number, max: number): void {
    if (!Number.isInteger(imm) || imm < 0 || imm > max) {
      throw new RangeError(`shift amount ${imm} is not in 0..${max}`);
    }
    this.#rr(w, 0xc1, op, dst);
    this.byte(imm);
  }

  /** `op dst32, imm8` (0-31). */
  shift32Imm(op: Shift, dst: Reg, imm: number): void {
    this.#shiftImm(false, op, dst, imm, 31);
  }

  /** `op dst, imm8` (64-bit, 0-63). */
  shift64Imm(op: Shift, dst: Reg, imm: number): void {
    this.#shiftImm(true, op, dst, imm, 63);
  }

  /** `imul dst32, src32`. */
  imul32(dst: Reg, src: Reg): void {
    this.#rr(false, 0x0faf, dst, src);
  }

  /** `imul dst, src` (64-bit). */
  imul64(dst: Reg, src: Reg): void {
    this.#rr(true, 0x0faf, dst, src);
  }

  /** `imul dst32, src32, imm`. */
  imul32Imm(dst: Reg, src: Reg, imm: number): void {
    const v = imm32(imm);
    this.#rr(false, fitsI8(v) ? 0x6b : 0x69, dst, src);
    if (fitsI8(v)) this.byte(v & 0xff);
    else this.i32(v);
  }

  /** `mul src32` (edx:eax = eax * src, unsigned). */
  mul32(src: Reg): void {
    this.#rr(false, 0xf7, 4, src);
  }

  /** `imul src32` (edx:eax = eax * src, signed). */
  imul32One(src: Reg): void {
    this.#rr(false, 0xf7, 5, src);
  }

  /** `div src32` (unsigned edx:eax / src). */
  div32(src: Reg): void {
    this.#rr(false, 0xf7, 6, src);
  }

  /** `idiv src32` (signed edx:eax / src). */
  idiv32(src: Reg): void {
    this.#rr(false, 0xf7, 7, src);
  }

  /** `cdq` (sign-extends eax into edx). */
  cdq(): void {
    this.byte(0x99);
  }

  /** `neg r32`. */
  neg32(r: Reg): void {
    this.#rr(false, 0xf7, 3, r);
  }

  /** `not r32`. */
  not32(r: Reg): void {
    this.#rr(false, 0xf7, 2, r);
  }

  /** `movsxd dst64, src32`. */
  movsxd(dst: Reg, src: Reg): void {
    this.#rr(true, 0x63, dst, src);
  }

  /** `movzx dst32, src8`. */
  movzx8(dst: Reg, src: Reg): void {
    this.#rr(false, 0x0fb6, dst, src, src >= 4 && src < 8);
  }

  /** `movzx dst32, src16`. */
  movzx16(dst: Reg, src: Reg): void {
    this.#rr(false, 0x0fb7, dst, src);
  }

  /** `movsx dst32, src8`. */
  movsx8(dst: Reg, src: Reg): void {
    this.#rr(false, 0x0fbe, dst, src, src >= 4 && src < 8);
  }

  /** `movsx dst32, src16`. */
  movsx16(dst: Reg, src: Reg): void {
    this.#rr(false, 0x0fbf, dst, src);
  }

  // ---- memory ----

  /** `mov dst32, dword [m]`. */
  load32(dst: Reg, m: Mem): void {
    this.#rm(false, 0x8b, dst, m);
  }

  /** `mov dst, qword [m]`. */
  load64(dst: Reg, m: Mem): void {
    this.#rm(true, 0x8b, dst, m);
  }

  /** `movzx dst32, byte [m]`. */
  loadU8(dst: Reg, m: Mem): void {
    this.#rm(false, 0x0fb6, dst, m);
  }

  /** `movsx dst32, byte [m]`. */
  loadS8(dst: Reg, m: Mem): void {
    this.#rm(false, 0x0fbe, dst, m);
  }

  /** `movzx dst32, word [m]`. */
  loadU16(dst: Reg, m: Mem): void {
    this.#rm(false, 0x0fb7, dst, m);
  }

  /** `movsx dst32, word [m]`. */
  loadS16(dst: Reg, m: Mem): void {
    this.#rm(false, 0x0fbf, dst, m);
  }

  /** `mov dword [m], src32`. */
  store32(m: Mem, src: Reg): void {
    this.#rm(false, 0x89, src, m);
  }

  /** `mov qword [m], src`. */
  store64(m: Mem, src: Reg): void {
    this.#rm(true, 0x89, src, m);
  }

  /** `mov word [m], src16`. */
  store16(m: Mem, src: Reg): void {
    this.byte(0x66);
    this.#rm(false, 0x89, src, m);
  }

  /** `mov byte [m], src8` (SPL..DIL, never AH..BH). */
  store8(m: Mem, src: Reg): void {
    this.#rm(false, 0x88, src, m, src >= 4 && src < 8);
  }

  /**
   * A load or store of `kind` ({@linkcode MOVE}) between `reg` and
   * `[base + index]`: the guest-memory access, with one encoder call.
   */
  moveIndexed(kind: Move, reg: Reg, base: Reg, index: Reg): void {
    const op = MOVE_OPCODE[kind];
    const byteRegs = kind === MOVE.STORE8 && reg >= 4 && reg < 8;
    this.#indexed(op, reg, base, index, kind === MOVE.STORE16 ? 0x66 : 0, byteRegs);
  }

  /** `mov dword [m], imm32`. */
  storeImm32(m: Mem, imm: number): void {
    const v = imm32(imm);
    this.#rm(false, 0xc7, 0, m);
    this.i32(v);
  }

  /** `mov qword [m], simm32`. */
  storeImm64(m: Mem, imm: number): void {
    const v = imm32(imm);
    if (v !== imm) throw new RangeError(`immediate ${imm} is not a signed 32-bit value`);
    this.#rm(true, 0xc7, 0, m);
    this.i32(v);
  }

  /** `lea dst32, [m]` (the 32-bit sum, zero-extended). */
  lea32(dst: Reg, m: Mem): void {
    this.#rm(false, 0x8d, dst, m);
  }

  /** `lea dst32, [base + disp]`: {@linkcode X64Assembler.lea32} without an operand object. */
  leaDisp32(dst: Reg, base: Reg, disp: number): void {
    this.#baseDisp(false, 0x8d, dst, base, disp, false);
  }

  /** `lea dst, [m]` (64-bit). */
  lea64(dst: Reg, m: Mem): void {
    this.#rm(true, 0x8d, dst, m);
  }

  /** `lea dst, [rip + l]`. */
  leaLabel(dst: Reg, l: Label): void {
    checkReg(dst);
    this.byte(0x48 | ((dst >> 3) << 2));
    this.byte(0x8d);
    this.byte(((dst & 7) << 3) | 5);
    this.#rel32(l);
  }

  // ---- flags ----

  /** `test a32, b32`. */
  test32(a: Reg, b: Reg): void {
    this.#rr(false, 0x85, b, a);
  }

  /** `test a, b` (64-bit). */
  test64(a: Reg, b: Reg): void {
    this.#rr(true, 0x85, b, a);
  }

  /** `test r32, imm32`. */
  test32Imm(r: Reg, imm: number): void {
    const v = imm32(imm);
    this.#rr(false, 0xf7, 0, r);
    this.i32(v);
  }

  /** `setcc dst8` (SPL..DIL for registers 4-7, never AH..BH). */
  setcc(cc: Cond, dst: Reg): void {
    this.#rr(false, 0x0f90 | cc, 0, dst, dst >= 4 && dst < 8);
  }

  /** `cmovcc dst32, src32`. */
  cmov32(cc: Cond, dst: Reg, src: Reg): void {
    this.#rr(false, 0x0f40 | cc, dst, src);
  }

  // ---- control flow ----

  /** `jcc l` (rel8 when `l` is bound and near, else rel32). */
  jcc(cc: Cond, l: Label): void {
    this.#branch(0x70 | cc, 0x0f80 | cc, l);
  }

  /** `jmp l` (rel8 when `l` is bound and near, else rel32). */
  jmp(l: Label): void {
    this.#branch(0xeb, 0xe9, l);
  }

  /** `jmp r64`. */
  jmpReg(r: Reg): void {
    this.#rr(false, 0xff, 4, r);
  }

  /** `jmp qword [m]`. */
  jmpMem(m: Mem): void {
    this.#rm(false, 0xff, 4, m);
  }

  /** `call r64`. */
  callReg(r: Reg): void {
    this.#rr(false, 0xff, 2, r);
  }

  /** `call qword [m]`. */
  callMem(m: Mem): void {
    this.#rm(false, 0xff, 2, m);
  }

  /** `call l` (rel32). */
  call(l: Label): void {
    this.byte(0xe8);
    this.#rel32(l);
  }

  /** `ret`. */
  ret(): void {
    this.byte(0xc3);
  }

  /** `push r64`. */
  push(r: Reg): void {
    checkReg(r);
    if (r >= 8) this.byte(0x41);
    this.byte(0x50 + (r & 7));
  }

  /** `pop r64`. */
  pop(r: Reg): void {
    checkReg(r);
    if (r >= 8) this.byte(0x41);
    this.byte(0x58 + (r & 7));
  }

  /** `ud2` (an invalid-opcode fault; marks unreachable code). */
  ud2(): void {
    this.byte(0x0f);
    this.byte(0x0b);
  }

  /** `int3`. */
  int3(): void {
    this.byte(0xcc);
  }

  /** `n` one-byte `nop`s. */
  nop(n = 1): void {
    for (let i = 0; i < n; i++) this.byte(0x90);
  }

  /** `jcc` to offset `at`, already emitted (rel8 when near). */
  jccBack(cc: Cond, at: number): void {
    this.#branchBack(0x70 | cc, 0x0f80 | cc, at);
  }

  /** `jmp` to offset `at`, already emitted (rel8 when near). */
  jmpBack(at: number): void {
    this.#branchBack(0xeb, 0xe9, at);
  }

  /**
   * `sub dst64, imm; js rel32` (imm8 form when it fits) with a zero rel32
   * field, whose offset it returns: a block's gas charge, written in one go.
   */
  subJs(dst: Reg, imm: number): number {
    checkReg(dst);
    const v = imm32(imm);
    const p = this.room(13);
    const buf = this.buf;
    buf[p] = 0x48 | (dst >> 3);
    const modrm = 0xe8 | (dst & 7); // /5 = SUB
    let q = p + 1;
    if (fitsI8(v)) {
      buf[q] = 0x83;
      buf[q + 1] = modrm;
      buf[q + 2] = v;
      q += 3;
    } else {
      buf[q] = 0x81;
      buf[q + 1] = modrm;
      this.view.setInt32(q + 2, v, true);
      q += 6;
    }
    buf[q] = 0x0f;
    buf[q + 1] = 0x88;
    this.view.setInt32(q + 2, 0, true);
    this.pos = q + 6;
    return q + 2;
  }

  /**
   * `call routine; jmp site` (rel32s, either direction): the shape of every
   * cold path whose routine finds its site from the `jmp` (x64/_runtime.ts).
   * Written in one go: there is one per memory access and block.
   */
  callThenJmp(routine: number, site: number): void {
    const p = this.room(10);
    const view = this.view;
    this.buf[p] = 0xe8;
    view.setInt32(p + 1, routine - (p + 5), true);
    this.buf[p + 5] = 0xe9;
    view.setInt32(p + 6, site - (p + 10), true);
    this.pos = p + 10;
  }

  /**
   * `jcc rel32` with a zero field, to be set later with
   * {@linkcode X64Assembler.patchRel32}; returns the field's offset.
   */
  jccField(cc: Cond): number {
    return this.#branchField(0x0f80 | cc);
  }

  /** `jmp rel32` with a zero field (see {@linkcode X64Assembler.jccField}). */
  jmpField(): number {
    return this.#branchField(0xe9);
  }
}
