/**
 * The wasm engine: runs a program's translated function (wasm/translate.ts)
 * and turns its exits (host calls, returns, traps) into the contract's
 * outcomes, as jit/engine.ts does for native code. It runs on a space
 * (wasm/space.ts): one WebAssembly memory sized for the whole span up front
 * with the module instantiated over it; the instance's `Memory` is a view of
 * it.
 * @module
 */
import type { YieldingEngine } from "../abi/_tiered.ts";
import { instructionAt } from "../abi/code.ts";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import type { EngineInit, RunOutcome } from "../abi/engine.ts";
import { createInterpreter } from "../abi/tiers.ts";
import { ExitEngine } from "../jit/_exit_engine.ts";
import { Field, WasmExit } from "./_layout.ts";
import type { WasmHold, WasmSpace } from "./space.ts";
import type { WasmProgram } from "./translate.ts";

const word = (field: number) => field >> 2;
/** Gas a call runs with before it exits to let the engine's optimized code take over. */
const SLICE_GAS = 1 << 22;
/** `#slice`'s reason for a slice that ran out of gas while more was held back. */
const SLICE_END = -1;
const GAS = word(Field.GAS);
const EXIT_PC = word(Field.EXIT_PC);
const EXIT_AUX = word(Field.EXIT_AUX);
const RESERVATION = word(Field.RESERVATION);
const EXIT_WRITE = word(Field.EXIT_WRITE);

/** One instance's wasm execution state. */
export class WasmEngine extends ExitEngine {
  readonly #init: EngineInit;
  readonly #program: WasmProgram;
  readonly #space: WasmSpace;
  readonly #hold: WasmHold;
  #regs: Int32Array;
  #words: Uint32Array;
  /**
   * The interpreter that runs the rest of a block entered in its middle
   * (made on first need), and whether it is running: the host context then
   * reads and writes its registers and gas.
   */
  #helper: YieldingEngine | undefined;
  #delegating = false;

  /** Runs on `space`, held by `hold` (released at dispose). */
  constructor(init: EngineInit, space: WasmSpace, hold: WasmHold) {
    super(init.host.memory, init);
    this.#init = init;
    this.#space = space;
    this.#hold = hold;
    this.#program = space.program;
    this.#words = space.words;
    this.#regs = new Int32Array(this.#words.buffer, Field.REGS, 32);
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

  /** Publishes the fast windows (they move with the break) to the generated code. */
  protected syncMemory(): void {
    const m = this.memory;
    if (m.brk === this.brk) return;
    this.brk = m.brk;
    this.#space.commitHeap(m.brk);
    const w = this.#words;
    const window = (field: number, start: number, end: number) => {
      w[word(field)] = start;
      for (const [k, size] of [[1, 1], [2, 2], [3, 4]]) {
        w[word(field) + k] = Math.max(0, end - start - size + 1);
      }
    };
    window(Field.READ_START, m.readStart, m.readEnd);
    window(Field.WRITE_START, m.writeStart, m.writeEnd);
  }

  /** Runs from `pc` (abi/README.md §4): enters the code there, handling exits until the call ends. */
  run(pc: number): RunOutcome {
    const code = this.#init.image.code;
    const words = this.#words;
    let minimum = 0;
    for (;;) {
      const i = instructionAt(code, pc);
      if (i < 0) {
        this.trap = { kind: "InvalidJump", pc, address: pc, registers: this.snapshot() };
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
          const next = this.hostCall(code, exitPc, words[EXIT_AUX]);
          if (typeof next === "string") return next;
          pc = next;
          continue;
        }
        default:
          return this.trapExit(code, reason, exitPc, words[EXIT_AUX], words[EXIT_WRITE] !== 0);
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
    if (total <= slice) return this.#space.enter(this.memory, dispatch);
    this.gas = slice;
    const reason = this.#space.enter(this.memory, dispatch);
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
    this.#regs = this.#regs.slice();
    this.#words = this.#words.slice();
    this.#hold.release();
  }
}
