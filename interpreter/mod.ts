/**
 * The portable tier: pure TypeScript, no code generation, no WebAssembly, no
 * FFI, so it runs wherever JavaScript runs (including `--jitless`).
 * @module
 */
import { onCodeRecycled } from "../abi/_recycle.ts";
import type { DecodedCode } from "../abi/code.ts";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import { type Engine, type EngineInit, resetEngine, type RunOutcome } from "../abi/engine.ts";
import type { TrapInit, TrapKind } from "../abi/errors.ts";
import type { HostContext, ResolvedImport } from "../abi/host.ts";
import type { ProgramImage } from "../abi/load.ts";
import type { GuestMemory } from "../abi/memory.ts";
import { registerInterpreter } from "../abi/tiers.ts";
import { compile, type CompiledCode } from "./compile.ts";
import { execute } from "./run.ts";
import { executeSteps } from "./steps.ts";

/**
 * Which dispatch loop new interpreter engines use: `"switch"` (run.ts,
 * fastest with V8's JIT) or `"steps"` (steps.ts, fastest on Ignition alone).
 * By default steps where the JIT is off: V8 without its JIT (`--jitless`)
 * has no `WebAssembly` global. Tests set it to run every tier test on both.
 */
export const interpreterLoop: { kind: "switch" | "steps"; } = {
  kind: typeof WebAssembly === "undefined" ? "steps" : "switch",
};

/**
 * Long runs are cut into slices of this much gas. V8 may compile the
 * dispatch loop with its mid tier (Maglev) when a call starts and keep that
 * slower code for the whole call; returning now and then lets the top tier's
 * code take over. The slice boundary reuses the gas check, so the hot path
 * pays nothing for it.
 */
const SLICE_GAS = 1 << 22;

// By the program's code: the stream is recycled with it (abi/_recycle.ts).
const compiled = new WeakMap<DecodedCode, CompiledCode>();
const compiledTrace = new WeakMap<DecodedCode, CompiledCode>();

/** Compiles once per program (and once more for tracing), shared by instances. */
function compiledFor(image: ProgramImage, trace: boolean): CompiledCode {
  const cache = trace ? compiledTrace : compiled;
  let code = cache.get(image.code);
  if (!code) {
    code = compile(image, trace);
    cache.set(image.code, code);
  }
  return code;
}

/** Zeroes eight register pairs from `at`: eight 8-byte stores, written out (see `beginCall`). */
function zeroPairs(pairs: Float64Array, at: number): void {
  pairs[at] = 0;
  pairs[at + 1] = 0;
  pairs[at + 2] = 0;
  pairs[at + 3] = 0;
  pairs[at + 4] = 0;
  pairs[at + 5] = 0;
  pairs[at + 6] = 0;
  pairs[at + 7] = 0;
}

/** The interpreter's engine: the execution state of one instance. */
export class Interpreter implements Engine {
  /** x0..x31, then the x0 write sink. */
  readonly regs: Int32Array = new Int32Array(33);
  /** x0..x31 as pairs, for clearing them fast (see `beginCall`). */
  readonly #pairs = new Float64Array(this.regs.buffer, 0, 16);
  /**
   * Whether registers x16-x31 may be nonzero: always for RV32I; for RV32E
   * (which has no such registers) only once a host function has written one.
   */
  #wideRegisters: boolean;
  /**
   * Remaining gas. Initialized to a number here, not left to the
   * constructor: a field declared without a value starts as `undefined`,
   * and V8 then keeps it as a tagged field where every store of a gas above
   * 2^30 (the default is 10^10) allocated a new heap number, per call and
   * per host call.
   */
  gas = 0;
  /** Set by `rvbox_exit`. */
  exitCode: number | undefined = undefined;
  /** LR/SC reservation, -1 for none. */
  reservation = -1;
  /** The last trap. */
  trap: TrapInit | undefined = undefined;
  /** Where a resumable trap continues, -1 if none. */
  resumePc = -1;
  /** Gas held back from the current slice. */
  reserve = 0;
  /** Where the next slice starts, what it charges first, and the gas that entry needs. */
  #sliceAt = 0;
  #sliceCharge = 0;
  #sliceNeed = 0;
  /** Guest memory. */
  readonly memory: GuestMemory;
  /** Host context. */
  readonly context: HostContext;
  /** Print sink. */
  readonly print: (bytes: Uint8Array) => void;
  /** Resolved imports by number. */
  readonly imports: readonly ResolvedImport[];
  /** Trace hook (only called by trace builds). */
  readonly trace: ((pc: number, regs: Int32Array) => void) | undefined;
  readonly #code: CompiledCode;
  /** Whether this engine runs the steps loop (see `interpreterLoop`). */
  readonly #steps: boolean;

  /** Creates the engine; compiles the program on first use. */
  constructor(init: EngineInit) {
    this.gas = init.gas;
    this.memory = init.host.memory;
    this.context = init.host.context;
    this.print = init.host.print;
    this.imports = init.imports;
    this.trace = init.trace;
    this.#wideRegisters = !init.image.rve;
    this.#code = compiledFor(init.image, init.trace !== undefined);
    this.#steps = interpreterLoop.kind === "steps";
  }

  /**
   * Sets up a new call (see `Engine.beginCall`). Clearing the registers
   * eight bytes at a time, written out, measured several times faster than
   * `regs.fill(0)` (a builtin call, ~29 ns) for so few; RV32E's 16 take
   * half the stores.
   */
  beginCall(stackTop: number): void {
    zeroPairs(this.#pairs, 0);
    if (this.#wideRegisters) zeroPairs(this.#pairs, 8);
    this.regs[1] = HOST_RETURN_ADDRESS;
    this.regs[2] = stackTop;
    this.reservation = -1;
  }

  /** Writes register `index` for a host function. */
  setRegister(index: number, value: number): void {
    this.regs[index] = value;
    if (index >= 16) this.#wideRegisters = true; // cleared at every call from then on
  }

  /** Back to the state right after instantiation, with `gas`. */
  reset(gas: number): void {
    resetEngine(this, gas);
  }

  /** Runs from `pc` (abi/README.md §4). */
  run(pc: number): RunOutcome {
    return this.#run(pc, SLICE_GAS, false) as RunOutcome;
  }

  /** Where the last `runFor` stopped with "yield". */
  yieldPc = -1;

  /**
   * Runs from `pc` like `run`, but stops with "yield" at the first entry
   * into a block once more than `budget` gas is spent (`yieldPc`, not yet
   * charged: entering there on any tier continues exactly), for a tiered
   * instance to continue on native code (abi/_tiered.ts).
   */
  runFor(pc: number, budget: number): RunOutcome | "yield" {
    return this.#run(pc, Math.max(1, Math.min(budget, SLICE_GAS)), true);
  }

  #run(pc: number, slice: number, yields: boolean): RunOutcome | "yield" {
    // `trap` and `resumePc` are set with every "trap"; the instance clears `exitCode` after "exit".
    const code = this.#code;
    const e = code.enter(pc);
    if (e < 0) {
      this.trap = { kind: "InvalidJump", pc, address: pc, registers: this.snapshot() };
      return "trap";
    }
    let at = e;
    let charge = code.midCost[e];
    // What entering here charges (an indirect entry's charge, or the GAS entry's block cost):
    // the first slice pays at least that, so that every slice makes progress.
    this.#sliceNeed = charge !== 0 ? charge : code.insn[2 * e + 1];
    for (;;) {
      // A slice must be able to pay the entry it starts with: a block may cost more than a slice.
      this.reserve = Math.max(0, this.gas - Math.max(slice, this.#sliceNeed));
      const outcome = this.#steps
        ? executeSteps(this, code, at, charge)
        : execute(this, code, at, charge);
      this.reserve = 0;
      if (outcome !== "slice") return outcome;
      at = this.#sliceAt;
      charge = this.#sliceCharge;
      if (yields) {
        this.yieldPc = code.pcs[at];
        return "yield";
      }
    }
  }

  /**
   * The slice's gas cannot pay for entering at entry `at` (`charge` is what
   * an indirect entry charges before it): end the slice, or raise OutOfGas
   * when no gas is held back. Resuming retries the entry.
   */
  outOfGas(at: number, gas: number, charge: number): RunOutcome | "slice" {
    this.gas = gas + this.reserve;
    if (this.reserve > 0) {
      this.#sliceAt = at;
      this.#sliceCharge = charge;
      // Without an indirect entry's charge, the entry is a GAS entry: its block's cost.
      this.#sliceNeed = charge !== 0 ? charge : this.#code.insn[2 * at + 1];
      return "slice";
    }
    return this.raise(at, "OutOfGas", undefined, undefined, this.#code.pcs[at]);
  }

  /** MemoryFault at entry `at`. */
  fault(at: number, gas: number, address: number, access: "read" | "write"): RunOutcome {
    this.gas = gas + this.reserve;
    return this.raise(at, "MemoryFault", address, access);
  }

  /** Records a trap at entry `at`; `resumePc` >= 0 makes it resumable. */
  raise(
    at: number,
    kind: TrapKind,
    address?: number,
    access?: "read" | "write",
    resumePc = -1,
    cause?: unknown,
  ): RunOutcome {
    const trap: TrapInit = { kind, pc: this.#code.pcs[at], registers: this.snapshot() };
    if (address !== undefined) trap.address = address;
    if (access !== undefined) trap.access = access;
    if (kind === "HostError") trap.cause = cause;
    this.trap = trap;
    this.resumePc = resumePc;
    return "trap";
  }

  private snapshot(): Uint32Array {
    return new Uint32Array(this.regs.subarray(0, 32));
  }
}

registerInterpreter((init) => new Interpreter(init));
onCodeRecycled((code) => {
  for (const cache of [compiled, compiledTrace]) {
    cache.get(code)?.slab.recycle();
    cache.delete(code);
  }
});
