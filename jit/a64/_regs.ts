/**
 * AArch64 register roles. 24 guest registers live in host registers (all of
 * RV32E); RV32I's seven least used stay in the state block.
 * @module
 */
import type { DecodedCode } from "../../abi/code.ts";
import { pinRegisters } from "../_usage.ts";
import type { Reg } from "./asm.ts";

/** Host address of guest address 0; the state block sits below it. */
export const BASE: Reg = 28;
/** Remaining gas (64-bit). */
export const GAS: Reg = 27;
/** Scratch registers: addresses and results (T0), values and pcs (T1), and one more (T2). */
export const T0: Reg = 16, T1: Reg = 17, T2: Reg = 15;
/** Callee-saved registers the entry routine preserves (AAPCS64), in pairs. */
export const SAVED_PAIRS: readonly [Reg, Reg][] = [
  [19, 20],
  [21, 22],
  [23, 24],
  [25, 26],
  [27, 28],
  [29, 30],
];

/** Host registers for guest registers: x0-x14, x19-x26, x29 (x30 is the link register of internal calls). */
const HOST_ORDER: readonly Reg[] = [
  0,
  1,
  2,
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  12,
  13,
  14,
  19,
  20,
  21,
  22,
  23,
  24,
  25,
  26,
  29,
];

/** `hostOf[x]` is the host register of guest `x`, or -1 when it lives in memory. */
export function hostRegisters(code: DecodedCode): number[] {
  return pinRegisters(code, HOST_ORDER);
}
