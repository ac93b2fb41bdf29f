/**
 * The wasm engine: runs a program's translated function (wasm/translate.ts)
 * and turns its exits (host calls, returns, traps) into the contract's
 * outcomes, as jit/engine.ts does for native code. Its memory is one
 * WebAssembly memory sized for the whole span up front (never grown: that
 * would detach its buffer); the instance's `Memory` is a view of it.
 * @module
 */
import { exitTrap, raiseTrap } from "../abi/_exit_trap.ts";
import type { YieldingEngine } from "../abi/_tiered.ts";
import { instructionAt } from "../abi/code.ts";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import { type Engine, type EngineInit, resetEngine, type RunOutcome } from "../abi/engine.ts";
import type { TrapInit, TrapKind } from "../abi/errors.ts";
import { callImport, type HostContext, type ResolvedImport } from "../abi/host.ts";
import type { ProgramImage } from "../abi/load.ts";
import { GuestMemory, type MemoryOptions, memoryPlan } from "../abi/memory.ts";
import { poolMemory, takePooled } from "../abi/memory_pool.ts";
import { createInterpreter } from "../abi/tiers.ts";
import { Field, WasmExit } from "./_layout.ts";
import { memoryPages, WasmLimitError, type WasmProgram } from "./translate.ts";

const TRAP_OF: Record<number, TrapKind> = {
  [WasmExit.INVALID_INSTRUCTION]: "InvalidInstruction",
  [WasmExit.MEMORY_FAULT]: "MemoryFault",
  [WasmExit.INVALID_JUMP]: "InvalidJump",
  [WasmExit.OUT_OF_GAS]: "OutOfGas",
  [WasmExit.BREAKPOINT]: "Breakpoint",
};
const word = (field: number) => field >> 2;
/** Gas a call runs with before it exits to let the engine's optimized code take over. */
const SLICE_GAS = 1 << 22;
/** `#slice`'s reason for a slice that ran out of gas while more was held back. */
const SLICE_END = -1;
const GAS = word(Field.GAS);
const EXIT_PC = word(Field.EXIT_PC);
const EXIT_AUX = word(Field.EXIT_AUX);
const RESERVATION = word(Field.RESERVATION);

/**
 * Creates an instance's memory (a view of a WebAssembly memory) for
 * `program`; with `moving`, an interpreter's memory of the same plan, moves
 * its contents there and returns it (tier-up).
 */
export function wasmMemory(
  image: ProgramImage,
  options: MemoryOptions,
  program: WasmProgram,
  moving?: GuestMemory,
): { memory: GuestMemory; wasm: WebAssembly.Memory; } {
  const plan = moving?.plan ?? memoryPlan(image, options);
  // A disposed instance's memory of the same plan holds the initial contents again.
  let wasm = takePooled<WebAssembly.Memory>(plan, "wasm");
  let bytes;
  if (wasm !== undefined) bytes = new Uint8Array(wasm.buffer, program.guestOffset, plan.span);
  else {
    const pages = memoryPages(program, plan.span);
    try {
      wasm = new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch (error) {
      // Address space runs out with many live memories: `auto` then stays on the interpreter.
      throw new WasmLimitError(
        `no WebAssembly memory of ${pages} pages: ${(error as Error).message}`,
      );
    }
    bytes = new Uint8Array(wasm.buffer, program.guestOffset, plan.span);
    plan.initialize(bytes);
  }
  const backing = { bytes, owner: wasm, zero: zeroBytes };
  if (moving !== undefined) {
    moving.moveTo(backing);
    return { memory: moving, wasm };
  }
  return { memory: new GuestMemory(image, options, backing), wasm };
}

const zeroBytes = (bytes: Uint8Array, start: number, end: number) => bytes.fill(0, start, end);

/** One instance's wasm execution state. */
export class WasmEngine implements Engine {
  exitCode: number | undefined = undefined;
  trap: TrapInit | undefined = undefined;
  resumePc = -1;
  readonly memory: GuestMemory;
  readonly context: HostContext;
  readonly print: (bytes: Uint8Array) => void;
  readonly imports: readonly ResolvedImport[];
  readonly #init: EngineInit;
  readonly #program: WasmProgram;
  readonly #run: (dispatch: number) => number;
  #regs: Int32Array;
  #words: Uint32Array;
  readonly #wasm: WebAssembly.Memory;
  #brk = -1;
  /**
   * The interpreter that runs the rest of a block entered in its middle
   * (made on first need), and whether it is running: the host context then
   * reads and writes its registers and gas.
   */
  #helper: YieldingEngine | undefined;
  #delegating = false;

  constructor(init: EngineInit, program: WasmProgram, wasm: WebAssembly.Memory) {
    this.#init = init;
    this.memory = init.host.memory;
    this.context = init.host.context;
    this.print = init.host.print;
    this.imports = init.imports;
    this.#program = program;
    const memory = this.memory;
    const instance = new WebAssembly.Instance(program.module, {
      env: {
        memory: wasm,
        accessible: (address: number, size: number, write: number) =>
          memory.accessible(address >>> 0, size, write !== 0) ? 1 : 0,
      },
    });
    this.#run = instance.exports.run as (dispatch: number) => number;
    this.#wasm = wasm;
    this.#regs = new Int32Array(wasm.buffer, Field.REGS, 32);
    this.#words = new Uint32Array(wasm.buffer, 0, 64);
    this.#words[word(Field.BIAS)] = program.guestOffset - memory.base;
    this.reservation = -1;
    this.gas = init.gas;
    this.#syncMemory();
  }

  /** x0..x31, in the state block (the generated code loads and spills them there). */
  get regs(): Int32Array {
    return this.#delegating ? this.#helper!.regs : this.#regs;
  }

  get gas(): number {
    if (this.#delegating) return this.#helper!.gas;
    const w = this.#words;
    return w[GAS + 1] * 2 ** 32 + w[GAS];
  }

  set gas(value: number) {
    if (this.#delegating) {
      this.#helper!.gas = value;
      return;
    }
    this.#words[GAS] = value % 2 ** 32;
    this.#words[GAS + 1] = Math.floor(value / 2 ** 32);
  }

  get reservation(): number {
    return this.#words[RESERVATION] | 0;
  }

  set reservation(value: number) {
    this.#words[RESERVATION] = value;
  }

  beginCall(stackTop: number): void {
    const r = this.#regs;
    r.fill(0);
    r[1] = HOST_RETURN_ADDRESS;
    r[2] = stackTop;
    this.reservation = -1;
  }

  setRegister(index: number, value: number): void {
    this.regs[index] = value;
  }

  reset(gas: number): void {
    resetEngine(this, gas);
    this.#brk = -1;
    this.#syncMemory();
  }

  /** Publishes the fast windows (they move with the break) to the generated code. */
  #syncMemory(): void {
    const m = this.memory;
    if (m.brk === this.#brk) return;
    this.#brk = m.brk;
    const w = this.#words;
    const window = (field: number, start: number, end: number) => {
      w[word(field)] = start;
      for (const [k, size] of [[1, 1], [2, 2], [3, 4]]) {
        w[word(field) + k] = Math.max(0, end - start - size + 1);
      }
    };
    window(Field.READ_START, m.readStart, m.readEnd);
    window(Field.WRITE_START, m.writeStart, m.writeEnd);
    const stack = m.plan.regions.find((r) => r.name === "stack");
    window(Field.STACK_START, stack?.start ?? 0, stack?.end ?? 0);
  }

  /** Runs from `pc` (abi/README.md §4): enters the code there, handling exits until the call ends. */
  run(pc: number): RunOutcome {
    const code = this.#init.image.code;
    const words = this.#words;
    let minimum = 0;
    for (;;) {
      const i = instructionAt(code, pc);
      if (i < 0) {
        this.trap = { kind: "InvalidJump", pc, address: pc, registers: this.#snapshot() };
        this.resumePc = -1;
        return "trap";
      }
      const dispatch = this.#program.dispatchOf[i];
      const reason = dispatch >= 0 ? this.#slice(dispatch, minimum) : WasmExit.ENTER_MID;
      const exitPc = dispatch >= 0 ? words[EXIT_PC] : pc;
      minimum = 0;
      switch (reason) {
        case WasmExit.RETURN:
          return "return";
        case SLICE_END:
          // Entering the same block again: the next slice can pay it whole.
          minimum = code.entryCost[instructionAt(code, exitPc)];
          pc = exitPc;
          continue;
        case WasmExit.ENTER_MID: {
          const target = dispatch >= 0 ? words[EXIT_AUX] : pc;
          const outcome = this.#interpret(target);
          if (typeof outcome === "string") return outcome;
          pc = outcome;
          continue;
        }
        case WasmExit.HOSTCALL: {
          const outcome = callImport(this, this.imports[words[EXIT_AUX]]);
          if (outcome === "exit") return "exit";
          if (outcome !== undefined) return this.#raise("HostError", exitPc, -1, outcome.error);
          if (this.memory.brk !== this.#brk) this.#syncMemory();
          const k = instructionAt(code, exitPc);
          const next = (exitPc + code.size[k]) >>> 0;
          if (code.segmentEnd[k]) {
            this.#raise("InvalidJump", exitPc, -1);
            this.trap!.address = next;
            return "trap";
          }
          pc = next;
          continue;
        }
        default:
          return this.#trapExit(reason, exitPc);
      }
    }
  }

  /**
   * Runs the code from dispatch index `dispatch` with at most a slice of the
   * gas (at least `minimum`); the rest is held back and given back at the
   * exit. WebAssembly engines replace a function's code with optimized code
   * only when it is entered again (no on-stack replacement): a long call
   * that never exits would run to its end on the baseline code. Running out
   * of a slice's gas with gas held back is not a trap but {@linkcode SLICE_END}.
   */
  #slice(dispatch: number, minimum: number): number {
    const total = this.gas;
    const slice = Math.max(SLICE_GAS, minimum);
    if (total <= slice) return this.#run(dispatch);
    this.gas = slice;
    const reason = this.#run(dispatch);
    this.gas += total - slice;
    return reason === WasmExit.OUT_OF_GAS ? SLICE_END : reason;
  }

  /**
   * Runs the rest of the block entered at `pc` (not a leader, so no
   * dispatch label marks it) on the interpreter, over the same memory:
   * returns where the next block starts, or how the call ended.
   */
  #interpret(pc: number): number | RunOutcome {
    const helper = this.#helper ??= createInterpreter(this.#init) as YieldingEngine;
    helper.regs.set(this.#regs);
    helper.gas = this.gas;
    helper.reservation = this.reservation;
    helper.exitCode = undefined;
    this.#delegating = true;
    let outcome;
    try {
      outcome = helper.runFor(pc, 1);
    } finally {
      this.#delegating = false;
    }
    this.#regs.set(helper.regs.subarray(0, 32));
    this.#regs[0] = 0;
    this.gas = helper.gas;
    this.reservation = helper.reservation;
    if (this.memory.brk !== this.#brk) this.#syncMemory();
    if (outcome === "yield") return helper.yieldPc;
    this.exitCode = helper.exitCode;
    this.trap = helper.trap;
    this.resumePc = helper.resumePc;
    return outcome;
  }

  #trapExit(reason: number, pc: number): RunOutcome {
    const kind = TRAP_OF[reason];
    if (kind === undefined) throw new Error(`wasm code exited with unknown reason ${reason}`);
    const write = this.#words[word(Field.EXIT_WRITE)] !== 0;
    const code = this.#init.image.code;
    return exitTrap(this, code, kind, pc, this.#snapshot(), this.#words[EXIT_AUX], write);
  }

  #raise(kind: TrapKind, pc: number, resumePc: number, cause?: unknown): RunOutcome {
    return raiseTrap(this, kind, pc, this.#snapshot(), resumePc, cause);
  }

  /**
   * Gives the memory back its initial contents and pools it for the
   * program's next instance (the instance has detached its `Memory`
   * already; a retired plan's memories are not kept).
   */
  dispose(): void {
    const memory = this.memory;
    const plan = memory.plan;
    // The state block goes to the next instance: gas and registers stay readable, as copies.
    this.#regs = this.#regs.slice();
    this.#words = this.#words.slice();
    if (plan.retired) return;
    const bytes = new Uint8Array(this.#wasm.buffer, this.#program.guestOffset, plan.span);
    plan.restore(bytes, memory.heapEnd);
    poolMemory(plan, "wasm", this.#wasm);
  }

  #snapshot(): Uint32Array {
    return new Uint32Array(new Uint32Array(this.#regs.buffer, this.#regs.byteOffset, 32));
  }
}
