/**
 * Which x86-64 register holds which guest register. The rest of the guest
 * registers live in the state block (jit/state.ts), reached through the
 * shared operands below.
 * @module
 */
import type { DecodedCode } from "../../abi/code.ts";
import { pinRegisters } from "../_usage.ts";
import { State } from "../state.ts";
import { type Mem, R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, type Reg, RSI } from "./asm.ts";
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

/** Callee-saved registers the entry routine must preserve (System V). */
export const CALLEE_SAVED: readonly Reg[] = [RBX, RBP, R12, R13, R14, R15];

/**
 * `hostOf[x]` is the host register of guest `x`, or -1 when it lives in
 * memory: the 11 registers the program uses most (jit/_usage.ts).
 */
export function hostRegisters(code: DecodedCode): number[] {
  return pinRegisters(code, HOST_ORDER);
}

/** The guest byte at EAX: `[BASE + RAX]`. */
export const ACCESS: Mem = Object.freeze({ base: BASE, index: RAX, scale: 1, disp: 0 });

/** State-block operands by `field + 512` (fields lie within 512 bytes below guest 0). */
const FIELDS: (Mem | undefined)[] = [];

/** A state-block field (operands are made once and shared). */
export function state(field: number): Mem {
  let m = FIELDS[field + 512];
  // Every operand the backend passes has all four properties: one shape for the encoder's loads.
  if (!m) {
    FIELDS[field + 512] = m = Object.freeze({
      base: BASE,
      index: undefined,
      scale: 1,
      disp: field,
    });
  }
  return m;
}

const SLOTS: readonly Mem[] = Array.from({ length: 32 }, (_, r) => state(State.REGS + 4 * r));

/** Guest register `r`'s slot in the state block. */
export function slot(r: number): Mem {
  return SLOTS[r];
}
