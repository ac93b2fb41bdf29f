/**
 * An x86-64 assembler for exactly the instructions the backend emits: typed
 * helpers over REX, ModRM/SIB, imm8/imm32 forms and rel8/rel32 branches with
 * fix-ups. Bytes go straight into a growing Uint8Array; nothing is allocated
 * per instruction. tests/x64_asm_test.ts checks every form against
 * llvm-mc.
 * @module
 */

import { CodeBuffer, type Label } from "./_code_buffer.ts";
import { aluImm, branchBack, branchField, callThenJmp, lea32, mem, movImm32 } from "./_encode.ts";
import { rr, subJs, W } from "./_encode.ts";

export { type Label };

export {
  ALU,
  type Alu,
  CC,
  type Cond,
  type Mem,
  MOVE,
  type Move,
  MOVE_OPCODE,
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
import { MOVE, MOVE_OPCODE, RSP } from "./_operands.ts";

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

/** The scale's SIB bits, or throws. */
function scaleBits(scale: number): number {
  const bits = SCALE_BITS[scale] ?? -1;
  if (bits < 0) throw new RangeError(`invalid scale ${scale}`);
  return bits;
}

/**
 * Assembles x86-64 machine code: validates operands, then writes through the
 * raw encoders of ./_encode.ts (which the backend's translation loop calls
 * directly).
 */
export class X64Assembler extends CodeBuffer {
  // ---- encoding primitives ----

  /** `op` with a register-direct ModRM: `reg` field and `rm` register. */
  #rr(w: boolean, op: number, reg: Reg, rm: Reg, byteRegs = false): void {
    if (((reg | rm) & ~15) !== 0) {
      checkReg(reg);
      checkReg(rm);
    }
    const p = this.room(8);
    this.pos = rr(this.buf, p, w ? W : 0, op, reg, rm, byteRegs);
  }

  /** `op` with a memory ModRM (and SIB/displacement as needed). */
  #rm(w: boolean, op: number, reg: Reg, m: Mem, byteRegs = false): void {
    const index = m.index ?? -1, disp = m.disp ?? 0;
    // One combined test on the common path; the throwers say what was wrong.
    if (((reg | m.base) & ~15) !== 0 || (disp | 0) !== disp || (index & ~15) !== 0) {
      checkReg(reg);
      checkReg(m.base);
      if (index !== -1) checkReg(index);
      if ((disp | 0) !== disp) throw new RangeError(`displacement ${disp} does not fit in 32 bits`);
    }
    if (index === RSP) throw new RangeError("RSP cannot be an index register");
    const bits = index < 0 ? 0 : scaleBits(m.scale ?? 1);
    const p = this.room(16);
    this.pos = mem(this.buf, p, w ? W : 0, op, reg, m.base, index, bits, disp, byteRegs);
  }

  /** A rel32 field pointing at `l`, patched in `finish`. */
  #rel32(l: Label): void {
    this.rel32At(this.pos, l);
    this.i32(0);
  }

  /** A short (rel8) or near (rel32) branch: `short` and `near` are the opcodes. */
  #branch(short: number, near: number, l: Label): void {
    const at = this.boundAt(l);
    const p = this.room(6);
    if (at >= 0) this.pos = branchBack(this.buf, p, short, near, at);
    else {
      this.pos = branchField(this.buf, p, near);
      this.rel32At(this.pos - 4, l);
    }
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
    const p = this.room(10); // movImm32 may write a byte past its end
    this.pos = movImm32(this.buf, p, dst, v);
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
    checkReg(dst);
    const v = imm32(imm);
    if (w && v !== imm) throw new RangeError(`immediate ${imm} is not a signed 32-bit value`);
    const p = this.room(8);
    this.pos = aluImm(this.buf, p, w ? W : 0, op, dst, v);
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
    if (kind === MOVE.STORE16) this.byte(0x66);
    const byteRegs = kind === MOVE.STORE8 && reg >= 4 && reg < 8;
    this.#rm(false, MOVE_OPCODE[kind], reg, { base, index, scale: 1, disp: 0 }, byteRegs);
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
    checkReg(dst);
    checkReg(base);
    if ((disp | 0) !== disp) throw new RangeError(`displacement ${disp} does not fit in 32 bits`);
    const p = this.room(16); // lea32 may write bytes past its end
    this.pos = lea32(this.buf, p, dst, base, disp);
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
    const p = this.room(6);
    this.pos = branchBack(this.buf, p, 0x70 | cc, 0x0f80 | cc, at);
  }

  /** `jmp` to offset `at`, already emitted (rel8 when near). */
  jmpBack(at: number): void {
    const p = this.room(6);
    this.pos = branchBack(this.buf, p, 0xeb, 0xe9, at);
  }

  /**
   * `sub dst64, imm; js rel32` (imm8 form when it fits) with a zero rel32
   * field, whose offset it returns: a block's gas charge.
   */
  subJs(dst: Reg, imm: number): number {
    checkReg(dst);
    const p = this.room(13);
    this.pos = subJs(this.buf, p, dst, imm32(imm));
    return this.pos - 4;
  }

  /**
   * `call routine; jmp site` (rel32s, either direction): the shape of every
   * cold path whose routine finds its site from the `jmp` (x64/_runtime.ts).
   */
  callThenJmp(routine: number, site: number): void {
    const p = this.room(10);
    this.pos = callThenJmp(this.buf, p, routine, site);
  }

  /**
   * `jcc rel32` with a zero field, to be set later with
   * {@linkcode X64Assembler.patchRel32}; returns the field's offset.
   */
  jccField(cc: Cond): number {
    const p = this.room(6);
    this.pos = branchField(this.buf, p, 0x0f80 | cc);
    return this.pos - 4;
  }

  /** `jmp rel32` with a zero field (see {@linkcode X64Assembler.jccField}). */
  jmpField(): number {
    const p = this.room(5);
    this.pos = branchField(this.buf, p, 0xe9);
    return this.pos - 4;
  }
}
