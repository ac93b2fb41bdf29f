/**
 * Which x86-64 register holds which guest register. The rest of the guest
 * registers live in the state block (jit/state.ts).
 * @module
 */
import { R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, type Reg, RSI } from "./asm.ts";
import { R10, R11, R12, R8, R9 } from "./asm.ts";

/** Host address of guest address 0; the state block sits below it. */
export const BASE: Reg = R15;
/** Remaining gas (64-bit). */
export const GAS: Reg = R14;
/** Scratch registers (division and wide multiplication need exactly these). */
export const T0: Reg = RAX;
/** Second scratch register. */
export const T1: Reg = RDX;

/**
 * Host registers for guest registers, best first. RCX comes last because
 * variable shifts need CL: the guest register there is the one least used
 * (saved around a shift by another register).
 */
const HOST_ORDER: readonly Reg[] = [RBX, RSI, RDI, RBP, R8, R9, R10, R11, R12, R13, RCX];

/**
 * Guest registers by how often compiled C uses them (static counts over the
 * examples: a2, a0, a1, a3, a4, sp, s0, a5, ra, s1, t0, then the rest).
 * RV32E pins 11 of its 15; gp, tp, t1 and t2 stay in memory.
 */
const GUEST_ORDER: readonly number[] = [12, 10, 11, 13, 14, 2, 8, 15, 1, 9, 5];

/** Callee-saved registers the entry routine must preserve (System V). */
export const CALLEE_SAVED: readonly Reg[] = [RBX, RBP, R12, R13, R14, R15];

/** `hostOf[x]` is the host register of guest `x`, or -1 when it lives in memory. */
export function hostRegisters(): Int8Array {
  const hostOf = new Int8Array(32).fill(-1);
  GUEST_ORDER.forEach((guest, i) => (hostOf[guest] = HOST_ORDER[i]));
  return hostOf;
}
