/**
 * The trap a translating tier (native, wasm) reports when its code exits
 * with a trap reason: the same fields and resume point the interpreter
 * gives (abi/README.md §4).
 * @module
 */
import { type DecodedCode, instructionAt } from "./code.ts";
import type { TrapInit, TrapKind } from "./errors.ts";

/**
 * The trap of `kind` at `pc` with `registers`; `aux` is the fault address
 * or jump target, `write` the fault's access. `resumePc` is where
 * `resume()` continues (-1: not resumable).
 */
export function exitTrap(
  code: DecodedCode,
  kind: TrapKind,
  pc: number,
  registers: Uint32Array,
  aux: number,
  write: boolean,
): { trap: TrapInit; resumePc: number; } {
  const trap: TrapInit = { kind, pc, registers };
  let resumePc = -1;
  switch (kind) {
    case "MemoryFault":
      trap.address = aux;
      trap.access = write ? "write" : "read";
      break;
    case "InvalidJump":
      trap.address = aux;
      break;
    case "OutOfGas":
      resumePc = pc;
      break;
    case "Breakpoint":
      resumePc = (pc + code.size[instructionAt(code, pc)]) >>> 0;
      break;
  }
  return { trap, resumePc };
}
