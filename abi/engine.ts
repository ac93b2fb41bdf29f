/**
 * The interface between the tier-independent instance and a tier: a tier is
 * an `Engine` that runs guest code from an address until the call returns,
 * exits or traps (abi/README.md §4).
 * @module
 */
import type { TrapInit } from "./errors.ts";
import type { HostState, ResolvedImport } from "./host.ts";
import type { ProgramImage } from "./load.ts";

/** How `Engine.run` ended. */
export type RunOutcome = "return" | "exit" | "trap";

/** One tier's execution state for one instance. */
export interface Engine extends HostState {
  /** LR/SC reservation: the address as an unsigned number (0 to 2^32 - 1), or -1 for none. */
  reservation: number;
  /**
   * Sets up a new call (§4): every register zero except sp = `stackTop` and
   * ra = `HOST_RETURN_ADDRESS`, no reservation. The caller writes a0-a5
   * into `regs` next (a tier may leave them to it).
   */
  beginCall(stackTop: number): void;
  /** Writes register `index` (1-31) for a host function (`ctx.setRegister`). */
  setRegister(index: number, value: number): void;
  /** Details of the last trap (when `run` returned "trap"). */
  trap: TrapInit | undefined;
  /** Where `resume` continues after a resumable trap, or -1. */
  resumePc: number;
  /**
   * Runs from `pc` (charging gas for entering there) until the call returns
   * to the host, the guest exits, or a trap.
   */
  run(pc: number): RunOutcome;
  /**
   * Returns to the state right after instantiation with `gas`: memory
   * contents and break, zero registers, no reservation, no trap (see
   * {@linkcode resetEngine}).
   */
  reset(gas: number): void;
  /** Frees what the engine holds outside the JavaScript heap (called once). */
  dispose?(): void;
}

/** What a tier needs to create an engine. */
export interface EngineInit {
  /** The loaded program. */
  image: ProgramImage;
  /** Resolved imports, by import number. */
  imports: readonly ResolvedImport[];
  /** The rest of the host state (memory, context, print sink). */
  host: Omit<HostState, "regs" | "gas" | "exitCode">;
  /** Initial gas. */
  gas: number;
  /** Called before each instruction when tracing (slow; for debugging). */
  trace?: (pc: number, regs: Int32Array) => void;
}

/** What every tier's `reset` does: memory, registers, gas, reservation and last outcome. */
export function resetEngine(engine: Engine, gas: number): void {
  engine.memory.reset();
  engine.regs.fill(0);
  engine.gas = gas;
  engine.reservation = -1;
  engine.trap = undefined;
  engine.resumePc = -1;
  engine.exitCode = undefined;
}
