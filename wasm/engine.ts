/**
 * The wasm engine: runs a program's translated module (wasm/translate.ts),
 * makes the host calls its code makes through its import (wasm/README.md),
 * and turns its exits (returns, traps, host calls that end or move the
 * break) into the contract's outcomes, as jit/engine.ts does for native
 * code. It runs on a space (wasm/space.ts): one WebAssembly memory sized for
 * the whole span up front with the module instantiated over it; the
 * instance's `Memory` is a view of it.
 * @module
 */
import type { YieldingEngine } from "../abi/_tiered.ts";
import { type DecodedCode, instructionAt } from "../abi/code.ts";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import type { EngineInit, RunOutcome } from "../abi/engine.ts";
import { createInterpreter } from "../abi/tiers.ts";
import { ExitEngine } from "../jit/_exit_engine.ts";
import { Field, HostCalled, WasmExit } from "./_layout.ts";
import type { HostCaller, WasmHold, WasmSpace } from "./space.ts";
import type { WasmProgram } from "./translate.ts";

/** `HOST_RETURN_ADDRESS` as stored in an Int32Array (a small integer: no conversion). */
const RETURN_ADDRESS = HOST_RETURN_ADDRESS | 0;
const word = (field: number) => field >> 2;
/**
 * Gas the generated code runs with at most before it exits, the rest held
 * back (see {@linkcode WasmEngine.run}).
 */
const SLICE_GAS = 1 << 22;
const GAS = word(Field.GAS);
const EXIT_PC = word(Field.EXIT_PC);
const EXIT_AUX = word(Field.EXIT_AUX);
const RESERVATION = word(Field.RESERVATION);
const EXIT_WRITE = word(Field.EXIT_WRITE);
const READ = word(Field.READ_START);
const WRITE = word(Field.WRITE_START);
const STACK = word(Field.STACK_START);

/** A window at `at`: its start, then how many start addresses of 1-, 2- and 4-byte accesses pass. */
function publishWindow(w: Uint32Array, at: number, start: number, end: number): void {
  w[at] = start;
  w[at + 1] = Math.max(0, end - start);
  w[at + 2] = Math.max(0, end - start - 1);
  w[at + 3] = Math.max(0, end - start - 3);
}

/** One instance's wasm execution state. */
export class WasmEngine extends ExitEngine implements HostCaller {
  readonly #init: EngineInit;
  readonly #program: WasmProgram;
  readonly #code: DecodedCode;
  readonly #space: WasmSpace;
  readonly #hold: WasmHold;
  #regs: Int32Array;
  /** The same registers as 16 float64 slots (all-zero bits are 0.0), for clearing them. */
  #regPairs: Float64Array;
  #words: Uint32Array;
  /**
   * The interpreter that runs the rest of a block entered in its middle
   * (made on first need), and whether it is running: the host context then
   * reads and writes its registers and gas.
   */
  #helper: YieldingEngine | undefined;
  #delegating = false;
  /** Gas held back from the generated code: the instance's gas is the state block's plus this. */
  #held = 0;
  /** The pc `run` was last called with, and its instruction (an export's, called again). */
  #lastRun = -1;
  #lastRunIndex = -1;
  /** The outcome of the host call the generated code exited after (`WasmExit.HOSTCALL`). */
  #called: number | RunOutcome = -1;
  /** Whether registers (other than by a host function's result) or gas were set. */
  #stateSet = false;

  /** Runs on `space`, held by `hold` (released at dispose). */
  constructor(init: EngineInit, space: WasmSpace, hold: WasmHold) {
    super(init.host.memory, init);
    this.#init = init;
    this.#space = space;
    this.#hold = hold;
    this.#program = space.program;
    this.#code = init.image.code;
    this.#words = space.words;
    this.#regs = new Int32Array(this.#words.buffer, Field.REGS, 32);
    this.#regPairs = new Float64Array(this.#words.buffer, Field.REGS, 16);
    this.#words[word(Field.BIAS)] = space.program.guestOffset - this.memory.base;
    this.reservation = -1;
    this.gas = init.gas;
    this.syncMemory();
  }

  /** x0..x31, in the state block (the generated code loads and spills them there). */
  get regs(): Int32Array {
    return this.#delegating ? this.#helper!.regs : this.#regs;
  }

  get gas(): number {
    if (this.#delegating) return this.#helper!.gas;
    return this.#stateGas() + this.#held;
  }

  set gas(value: number) {
    this.#stateSet = true;
    if (this.#delegating) {
      this.#helper!.gas = value;
      return;
    }
    this.#setStateGas(value);
    this.#held = 0;
  }

  /** The gas in the state block, the generated code's (an i64). */
  #stateGas(): number {
    const w = this.#words;
    return (w[GAS + 1] | 0) * 2 ** 32 + w[GAS];
  }

  #setStateGas(value: number): void {
    const high = Math.floor(value / 2 ** 32); // no `%`: a floating-point remainder is slow
    this.#words[GAS] = value - high * 2 ** 32;
    this.#words[GAS + 1] = high;
  }

  override setRegister(index: number, value: number): void {
    this.#stateSet = true;
    super.setRegister(index, value);
  }

  get reservation(): number {
    const address = this.#words[RESERVATION];
    return address === 0xffffffff ? -1 : address; // unsigned, as every engine's (abi/engine.ts)
  }

  set reservation(value: number) {
    this.#words[RESERVATION] = value;
  }

  beginCall(stackTop: number): void {
    const r = this.#regs;
    // Eight bytes at a time, in a loop (`fill` took a fifth of a small export's call).
    const pairs = this.#regPairs;
    for (let k = 0; k < 16; k++) pairs[k] = 0;
    r[1] = RETURN_ADDRESS;
    r[2] = stackTop;
    this.reservation = -1;
  }

  /** Publishes the fast windows (they move with the break) to the generated code. */
  protected syncMemory(): void {
    const m = this.memory;
    if (m.brk === this.brk) return;
    this.brk = m.brk;
    this.#space.commitHeap(m.brk);
    const w = this.#words;
    publishWindow(w, READ, m.readStart, m.readEnd);
    publishWindow(w, WRITE, m.writeStart, m.writeEnd);
    const stack = m.plan.regions.find((r) => r.name === "stack");
    publishWindow(w, STACK, stack?.start ?? 0, stack?.end ?? 0);
  }

  /**
   * Runs from `pc` (abi/README.md §4): enters the code there, handling exits
   * until the call ends. The generated code gets at most a slice of the gas,
   * the rest held back: WebAssembly engines replace a function's code with
   * optimized code only when it is entered again (no on-stack replacement),
   * so a long call that never exited would run to its end on the baseline
   * code. Running out of the slice with gas held back is not a trap: the
   * code is entered again there with more.
   */
  run(pc: number): RunOutcome {
    const code = this.#code;
    const words = this.#words;
    const dispatchOf = this.#program.dispatchOf;
    // Gas the next entry must be able to pay at once (a block costing more than a slice).
    let minimum = 0;
    if (pc !== this.#lastRun) this.#lastRunIndex = instructionAt(code, this.#lastRun = pc);
    for (let i = this.#lastRunIndex;;) {
      if (i < 0) {
        this.raise("InvalidJump", pc, -1);
        this.trap!.address = pc;
        return "trap";
      }
      const dispatch = dispatchOf[i];
      const reason = dispatch < 0 ? WasmExit.ENTER_MID : this.#enter(dispatch, minimum);
      const exitPc = words[EXIT_PC];
      minimum = 0;
      switch (reason) {
        case WasmExit.RETURN:
          return "return";
        case WasmExit.HOSTCALL: {
          const next = this.#called;
          if (typeof next === "string") return next;
          pc = next;
          i = this.nextIndex;
          continue;
        }
        case WasmExit.ENTER_MID: {
          const outcome = this.#interpret(dispatch < 0 ? pc : words[EXIT_AUX]);
          if (typeof outcome === "string") return outcome;
          pc = outcome;
          i = instructionAt(code, pc);
          continue;
        }
        case WasmExit.OUT_OF_GAS:
          i = instructionAt(code, exitPc);
          if (this.#held > 0) {
            // Entering the same block again: the next slice can pay it whole.
            minimum = code.entryCost[i];
            const total = this.#stateGas() + this.#held;
            const slice = Math.min(total, Math.max(SLICE_GAS, minimum));
            this.#setStateGas(slice);
            this.#held = total - slice;
            pc = exitPc;
            continue;
          }
      }
      return this.trapExit(code, reason, exitPc, words[EXIT_AUX], words[EXIT_WRITE] !== 0);
    }
  }

  /**
   * The generated code's host call `site` for the ECALL that is instruction `i`, made from
   * inside it with its registers and gas in the state block; returns what the code does
   * next (`HostCalled`), keeping the outcome for `run` when it leaves (the call ended, or
   * the break moved: the code's fast windows are stale).
   */
  callHost(site: number, i: number): number {
    const brk = this.brk;
    this.#stateSet = false;
    const end = this.hostCallEnd(this.#code, i, site);
    if (end === undefined && this.brk === brk) {
      return this.#stateSet ? HostCalled.STATE : HostCalled.RESULT;
    }
    this.#called = end ?? this.after(this.#code, i);
    return HostCalled.LEAVE;
  }

  /**
   * Enters the generated code at dispatch index `dispatch`, holding back
   * the gas over a slice (of at least `minimum`).
   */
  #enter(dispatch: number, minimum: number): number {
    const w = this.#words;
    const slice = minimum > SLICE_GAS ? minimum : SLICE_GAS;
    if (w[GAS + 1] !== 0 || w[GAS] > slice) {
      this.#held += this.#stateGas() - slice;
      this.#setStateGas(slice);
    }
    return this.#space.enter(this, dispatch);
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
    if (this.memory.brk !== this.brk) this.syncMemory();
    if (outcome === "yield") return helper.yieldPc;
    this.exitCode = helper.exitCode;
    this.trap = helper.trap;
    this.resumePc = helper.resumePc;
    return outcome;
  }

  /**
   * Releases the space (restored and pooled for the program's next
   * instance, or freed) and the instance's share of the limits; the
   * instance has detached its `Memory` already.
   */
  dispose(): void {
    // The state block goes to the next instance: gas and registers stay readable, as copies.
    this.#words = this.#words.slice();
    this.#regs = new Int32Array(this.#words.buffer, Field.REGS, 32);
    this.#regPairs = new Float64Array(this.#words.buffer, Field.REGS, 16);
    this.#hold.release();
  }
}
