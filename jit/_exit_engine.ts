/**
 * What the engines of the translating tiers share — the native one
 * (jit/engine.ts) and the wasm one (wasm/engine.ts): the host state, and
 * turning their code's exits (host calls, traps) into the contract's
 * outcomes exactly as the interpreter does (abi/README.md §4). Imports
 * nothing that touches FFI: the wasm tier runs where there is none.
 * @module
 */
import { exitTrap, raiseTrap } from "../abi/_exit_trap.ts";
import type { DecodedCode } from "../abi/code.ts";
import { type Engine, type EngineInit, resetEngine, type RunOutcome } from "../abi/engine.ts";
import type { TrapInit, TrapKind } from "../abi/errors.ts";
import { callImport, type HostContext, type ResolvedImport } from "../abi/host.ts";
import type { GuestMemory } from "../abi/memory.ts";
import { Exit } from "./state.ts";

/** The trap of each trapping exit reason. */
const TRAP_OF: Record<number, TrapKind> = {
  [Exit.INVALID_INSTRUCTION]: "InvalidInstruction",
  [Exit.MEMORY_FAULT]: "MemoryFault",
  [Exit.INVALID_JUMP]: "InvalidJump",
  [Exit.OUT_OF_GAS]: "OutOfGas",
  [Exit.BREAKPOINT]: "Breakpoint",
};

/**
 * An engine whose generated code exits to TypeScript for traps, and for host
 * calls (the wasm tier's code makes most of those from inside instead).
 */
export abstract class ExitEngine implements Engine {
  exitCode: number | undefined = undefined;
  trap: TrapInit | undefined = undefined;
  resumePc = -1;
  readonly memory: GuestMemory;
  readonly context: HostContext;
  readonly print: (bytes: Uint8Array) => void;
  readonly imports: readonly ResolvedImport[];
  /** The break the generated code's view of the heap was last published for (-1: none yet). */
  protected brk = -1;
  /** The index of the instruction after the ECALL of the last `hostCall` that continues. */
  protected nextIndex = -1;
  /** x0..x31. */
  abstract regs: Int32Array;
  abstract gas: number;
  abstract reservation: number;

  constructor(memory: GuestMemory, init: EngineInit) {
    this.memory = memory;
    this.context = init.host.context;
    this.print = init.host.print;
    this.imports = init.imports;
  }

  abstract beginCall(stackTop: number): void;
  abstract run(pc: number): RunOutcome;
  abstract dispose(): void;

  /**
   * Publishes the memory's break (the heap's end, and the fast windows that
   * move with it) to the generated code; called whenever it has changed.
   */
  protected abstract syncMemory(): void;

  /** Writes register `index` for a host function. */
  setRegister(index: number, value: number): void {
    this.regs[index] = value;
  }

  /** Back to the state right after instantiation, with `gas`. */
  reset(gas: number): void {
    resetEngine(this, gas);
    this.brk = -1;
    this.syncMemory();
  }

  /**
   * Runs import `index` for the ECALL that is instruction `i`: returns where
   * execution continues (the next instruction), or how the call ended (the
   * guest exited, the host function threw, or the ECALL ends a code segment).
   */
  protected hostCall(code: DecodedCode, i: number, index: number): number | RunOutcome {
    return this.hostCallEnd(code, i, index) ?? this.after(code, i);
  }

  /**
   * Runs import `index` for the ECALL that is instruction `i`: returns how
   * the call ended, or undefined when execution goes on after the ECALL.
   */
  protected hostCallEnd(code: DecodedCode, i: number, index: number): RunOutcome | undefined {
    const outcome = callImport(this, this.imports[index]);
    if (outcome === "exit") return "exit";
    if (outcome !== undefined) return this.raise("HostError", code.pc[i], -1, outcome.error);
    if (this.memory.brk !== this.brk) this.syncMemory();
    if (code.segmentEnd[i] === 0) return undefined;
    this.raise("InvalidJump", code.pc[i], -1);
    this.trap!.address = (code.pc[i] + code.size[i]) >>> 0;
    return "trap";
  }

  /** The address after instruction `i`, where execution goes on (`nextIndex` its index). */
  protected after(code: DecodedCode, i: number): number {
    this.nextIndex = i + 1;
    return (code.pc[i] + code.size[i]) >>> 0;
  }

  /**
   * Records the trap of exit `reason` at `pc`: `aux` is the fault address or
   * jump target, `write` the fault's access.
   */
  protected trapExit(
    code: DecodedCode,
    reason: number,
    pc: number,
    aux: number,
    write: boolean,
  ): RunOutcome {
    const kind = TRAP_OF[reason];
    if (kind === undefined) throw new Error(`generated code exited with unknown reason ${reason}`);
    return exitTrap(this, code, kind, pc, this.snapshot(), aux, write);
  }

  /** Records a trap of `kind` at `pc` (`cause` for a HostError). */
  protected raise(kind: TrapKind, pc: number, resumePc: number, cause?: unknown): RunOutcome {
    return raiseTrap(this, kind, pc, this.snapshot(), resumePc, cause);
  }

  /** A copy of x0..x31, for a trap. */
  protected snapshot(): Uint32Array {
    const regs = this.regs;
    return new Uint32Array(new Uint32Array(regs.buffer, regs.byteOffset, 32));
  }
}
