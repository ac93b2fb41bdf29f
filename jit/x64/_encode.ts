/**
 * Raw x86-64 encoders: each writes one instruction form at `p` in `buf` and
 * returns the position after it. No checks, no allocation, no object: the
 * callers (the assembler, which validates its operands, and the backend's
 * translation loop, whose operands are valid by construction) make sure the
 * registers are 0-15, displacements and immediates fit, and `buf` has room.
 * Plain functions of numbers so that V8 inlines them into the loop, and so
 * that a cold V8 runs few bytecodes per instruction.
 * @module
 */

/** `REX.W` for the `w` parameters (64-bit operand size); 0 for 32-bit. */
export const W = 8;
/** Registers whose low three bits select a SIB (RSP, R12) or RIP-relative (RBP, R13) form. */
const SIB_BASE = 4, RIP_BASE = 5;

/**
 * REX (when any of its bits is set, or always with `byteRegs`: an 8-bit
 * operand in SPL..DIL), then the 1-2 opcode bytes (`op` > 0xff is two).
 */
export function opcode(buf: Uint8Array, p: number, rex: number, op: number, byteRegs: boolean) {
  // Branch-free: whether a REX is needed follows the registers, which no predictor learns.
  buf[p] = rex;
  p += (((rex & 15) + 15) >> 4) | (byteRegs ? 1 : 0);
  if (op > 0xff) buf[p++] = op >> 8;
  buf[p] = op;
  return p + 1;
}

/** `op` with a register-direct ModRM: `reg` field and `rm` register. */
export function rr(
  buf: Uint8Array,
  p: number,
  w: number,
  op: number,
  reg: number,
  rm: number,
  byteRegs = false,
): number {
  // `opcode`, inline: the encoders call nothing (calls cost most while V8 has not optimized them).
  const rex = 0x40 | w | ((reg >> 3) << 2) | (rm >> 3);
  buf[p] = rex;
  p += (((rex & 15) + 15) >> 4) | (byteRegs ? 1 : 0);
  if (op > 0xff) buf[p++] = op >> 8;
  buf[p] = op;
  buf[p + 1] = 0xc0 | ((reg & 7) << 3) | (rm & 7);
  return p + 2;
}

/** A little-endian 32-bit value. */
export function i32(buf: Uint8Array, p: number, v: number): number {
  buf[p] = v;
  buf[p + 1] = v >> 8;
  buf[p + 2] = v >> 16;
  buf[p + 3] = v >> 24;
  return p + 4;
}

/**
 * `op` with a memory ModRM `[base + index * 2^scaleBits + disp]` (`index`
 * -1: none), with a SIB when there is an index or the base is RSP/R12, and
 * the shortest displacement (RBP/R13 need one even when it is 0).
 */
export function mem(
  buf: Uint8Array,
  p: number,
  w: number,
  op: number,
  reg: number,
  base: number,
  index: number,
  scaleBits: number,
  disp: number,
  byteRegs = false,
): number {
  const x = index < 0 ? 0 : index;
  p = opcode(buf, p, 0x40 | w | ((reg >> 3) << 2) | ((x >> 3) << 1) | (base >> 3), op, byteRegs);
  const b = base & 7;
  const mod = disp === 0 && b !== RIP_BASE ? 0 : disp >= -128 && disp <= 127 ? 0x40 : 0x80;
  const r = (reg & 7) << 3;
  if (index < 0 && b !== SIB_BASE) buf[p++] = mod | r | b;
  else {
    buf[p++] = mod | r | 4;
    buf[p++] = (scaleBits << 6) | ((index < 0 ? 4 : x & 7) << 3) | b;
  }
  if (mod === 0x40) buf[p++] = disp;
  else if (mod === 0x80) p = i32(buf, p, disp);
  return p;
}

/**
 * `lea dst32, [base + disp]`: {@linkcode mem} without an index, small enough
 * for V8 to inline where the translation loop forms addresses.
 */
export function lea32(buf: Uint8Array, p: number, dst: number, base: number, disp: number): number {
  const rex = 0x40 | ((dst >> 3) << 2) | (base >> 3), b = base & 7, r = (dst & 7) << 3;
  buf[p] = rex;
  p += ((rex & 15) + 15) >> 4;
  buf[p] = 0x8d;
  const mod = disp === 0 && b !== RIP_BASE ? 0 : disp >= -128 && disp <= 127 ? 0x40 : 0x80;
  buf[p + 1] = mod | r | b;
  buf[p + 2] = 0x24; // the SIB of a base RSP/R12, overwritten by the displacement otherwise
  p += b === SIB_BASE ? 3 : 2;
  buf[p] = disp;
  buf[p + 1] = disp >> 8;
  buf[p + 2] = disp >> 16;
  buf[p + 3] = disp >> 24;
  return p + (mod === 0 ? 0 : mod === 0x40 ? 1 : 4); // disp8 is the low byte of disp32
}

/** `mov dst32, imm32` (`B8+r`; never `xor`, which would touch the flags). */
export function movImm32(buf: Uint8Array, p: number, dst: number, imm: number): number {
  buf[p] = 0x41;
  p += dst >> 3; // a REX.B for R8-R15, branch-free
  buf[p] = 0xb8 + (dst & 7);
  buf[p + 1] = imm;
  buf[p + 2] = imm >> 8;
  buf[p + 3] = imm >> 16;
  buf[p + 4] = imm >> 24;
  return p + 5;
}

/** `op dst, imm` of the 0x81 group (`w` for 64-bit), the imm8 form (0x83) when it fits. */
export function aluImm(
  buf: Uint8Array,
  p: number,
  w: number,
  op: number,
  dst: number,
  imm: number,
): number {
  const rex = 0x40 | w | (dst >> 3);
  buf[p] = rex;
  p += ((rex & 15) + 15) >> 4;
  buf[p + 1] = 0xc0 | (op << 3) | (dst & 7);
  buf[p + 2] = imm;
  if (imm >= -128 && imm <= 127) {
    buf[p] = 0x83;
    return p + 3;
  }
  buf[p] = 0x81;
  buf[p + 3] = imm >> 8;
  buf[p + 4] = imm >> 16;
  buf[p + 5] = imm >> 24;
  return p + 6;
}

/**
 * A branch to offset `at`, already emitted: `short` (rel8) when it reaches,
 * else `near` (1 or 2 opcode bytes, rel32).
 */
export function branchBack(
  buf: Uint8Array,
  p: number,
  short: number,
  near: number,
  at: number,
): number {
  const rel8 = at - (p + 2);
  if (rel8 >= -128 && rel8 <= 127) {
    buf[p] = short;
    buf[p + 1] = rel8;
    return p + 2;
  }
  p = branchField(buf, p, near);
  i32(buf, p - 4, at - p);
  return p;
}

/**
 * Opcode `near` (1 or 2 bytes) and a zero rel32 field for the caller to
 * patch; returns the position after the field, which is where its
 * displacement counts from.
 */
export function branchField(buf: Uint8Array, p: number, near: number): number {
  if (near > 0xff) buf[p++] = near >> 8;
  buf[p] = near;
  buf[p + 1] =
    buf[p + 2] =
    buf[p + 3] =
    buf[p + 4] =
      0;
  return p + 5;
}

/** Sets the rel32 field at `at` (ending at `at + 4`) to reach offset `target`. */
export function patchRel32(buf: Uint8Array, at: number, target: number): void {
  const rel = target - (at + 4);
  buf[at] = rel;
  buf[at + 1] = rel >> 8;
  buf[at + 2] = rel >> 16;
  buf[at + 3] = rel >> 24;
}

/** `call rel32` to offset `target`. */
export function callTo(buf: Uint8Array, p: number, target: number): number {
  const rel = target - (p + 5);
  buf[p] = 0xe8;
  buf[p + 1] = rel;
  buf[p + 2] = rel >> 8;
  buf[p + 3] = rel >> 16;
  buf[p + 4] = rel >> 24;
  return p + 5;
}

/**
 * `call routine; jmp site` (rel32s, either direction): the shape of every
 * cold path whose routine finds its site from the `jmp` (x64/_runtime.ts).
 */
export function callThenJmp(buf: Uint8Array, p: number, routine: number, site: number): number {
  const call = routine - (p + 5), jmp = site - (p + 10);
  buf[p] = 0xe8;
  buf[p + 1] = call;
  buf[p + 2] = call >> 8;
  buf[p + 3] = call >> 16;
  buf[p + 4] = call >> 24;
  buf[p + 5] = 0xe9;
  buf[p + 6] = jmp;
  buf[p + 7] = jmp >> 8;
  buf[p + 8] = jmp >> 16;
  buf[p + 9] = jmp >> 24;
  return p + 10;
}

/**
 * `sub dst64, imm; js rel32` (imm8 form when it fits) with a zero rel32
 * field ending at the returned position: a block's gas charge.
 */
export function subJs(buf: Uint8Array, p: number, dst: number, imm: number): number {
  p = aluImm(buf, p, W, 5, dst, imm); // /5 = SUB
  buf[p] = 0x0f;
  buf[p + 1] = 0x88;
  buf[p + 2] =
    buf[p + 3] =
    buf[p + 4] =
    buf[p + 5] =
      0;
  return p + 6;
}
