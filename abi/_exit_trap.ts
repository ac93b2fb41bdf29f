/**
 * The traps a translating tier (native, wasm) records when its code exits
 * with a trap reason or a host function throws: the same fields and resume
 * points the interpreter gives (abi/README.md §4).
 * @module
 */
import { type DecodedCode, instructionAt } from "./code.ts";
import type { TrapInit, TrapKind } from "./errors.ts";

/** Where an engine keeps its last trap. */
export interface TrapHolder {
  /** The last trap. */
  trap: TrapInit | undefined;
  /** Where `resume()` continues, -1 if it cannot. */
  resumePc: number;
}

/** Records a trap of `kind` at `pc` on `engine` (`cause` for a HostError); returns "trap". */
export function raiseTrap(
  engine: TrapHolder,
  kind: TrapKind,
  pc: number,
  registers: Uint32Array,
  resumePc: number,
  cause?: unknown,
): "trap" {
  const trap: TrapInit = { kind, pc, registers };
  if (kind === "HostError") trap.cause = cause;
  engine.trap = trap;
  engine.resumePc = resumePc;
  return "trap";
}

/**
 * Records the trap of an exit of `kind` at `pc`: `aux` is the fault address
 * or jump target, `write` the fault's access. OutOfGas resumes at the same
 * entry, Breakpoint after the EBREAK; the others do not resume.
 */
export function exitTrap(
  engine: TrapHolder,
  code: DecodedCode,
  kind: TrapKind,
  pc: number,
  registers: Uint32Array,
  aux: number,
  write: boolean,
): "trap" {
  const resumePc = kind === "OutOfGas"
    ? pc
    : kind === "Breakpoint"
    ? (pc + code.size[instructionAt(code, pc)]) >>> 0
    : -1;
  raiseTrap(engine, kind, pc, registers, resumePc);
  if (kind === "MemoryFault" || kind === "InvalidJump") engine.trap!.address = aux;
  if (kind === "MemoryFault") engine.trap!.access = write ? "write" : "read";
  return "trap";
}
