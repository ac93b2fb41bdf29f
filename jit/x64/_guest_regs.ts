/**
 * Raw encoders for guest-register operands (see ./_encode.ts for the
 * conventions): a guest register lives in a host register (`host[r]` >= 0)
 * or in its state-block slot, and x0 reads as 0. Shared by the translation
 * loop and the assembler-based lowerings of rare ops.
 * @module
 */
import { State } from "../state.ts";
import { aluImm, i32, movImm32, rr } from "./_encode.ts";

/** `State.REGS`, as a local constant. */
const SLOTS = State.REGS;

/**
 * `op reg, [R15 + slot of guest r]` for a one-byte opcode: the slots lie
 * 132-256 bytes below guest address 0, so always a disp32.
 */
export function slotOp(buf: Uint8Array, p: number, op: number, reg: number, r: number): number {
  const disp = SLOTS + 4 * r;
  buf[p] = 0x41 | ((reg >> 3) << 2);
  buf[p + 1] = op;
  buf[p + 2] = 0x87 | ((reg & 7) << 3);
  buf[p + 3] = disp;
  buf[p + 4] = disp >> 8;
  buf[p + 5] = disp >> 16;
  buf[p + 6] = disp >> 24;
  return p + 7;
}

/** Copies guest `r` into host register `into`. */
export function loadGuest(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  into: number,
  r: number,
): number {
  const h = host[r];
  if (h === into) return p;
  if (h >= 0) return rr(buf, p, 0, 0x89, h, into);
  if (r === 0) return movImm32(buf, p, into, 0);
  return slotOp(buf, p, 0x8b, into, r);
}

/** Writes host register `from` to guest `rd` (nothing for x0). */
export function putGuest(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  rd: number,
  from: number,
): number {
  if (rd === 0) return p;
  const h = host[rd];
  if (h === from) return p;
  if (h >= 0) return rr(buf, p, 0, 0x89, from, h);
  return slotOp(buf, p, 0x89, from, rd);
}

/** Writes a constant to guest `rd` (nothing for x0). */
export function setGuest(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  rd: number,
  value: number,
): number {
  if (rd === 0) return p;
  const h = host[rd];
  if (h >= 0) return movImm32(buf, p, h, value);
  return i32(buf, slotOp(buf, p, 0xc7, 0, rd), value);
}

/** `op dst32, guest r` for an ALU op (the /digit of the 0x81 group). */
export function aluGuest(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  op: number,
  dst: number,
  r: number,
): number {
  const h = host[r];
  if (h >= 0) return rr(buf, p, 0, (op << 3) | 1, h, dst);
  if (r === 0) return aluImm(buf, p, 0, op, dst, 0);
  return slotOp(buf, p, (op << 3) | 3, dst, r);
}
