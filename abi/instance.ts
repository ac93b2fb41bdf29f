/**
 * The tier-independent instance: sets up calls from the host (§4), turns
 * engine outcomes into results and traps, and owns memory and gas.
 * @module
 */
import { TieredEngine } from "./_tiered.ts";
import type { Engine, RunOutcome } from "./engine.ts";
import { Trap } from "./errors.ts";
import { type ExportCall, type ExportedFunction, exportsObject } from "./exports.ts";
import type { HostContext, Memory } from "./host.ts";

export type { ExportedFunction } from "./exports.ts";

/** Which tier runs an instance. `"auto"` picks the fastest available. */
export type Tier = "auto" | "interpreter" | "wasm" | "native";

const A0 = 10;
/** `#status`: ready for a call, running one, or disposed. */
const IDLE = 0, RUNNING = 1, DISPOSED = 2;

/**
 * Checks a gas amount: every way gas is set (the `gas` option, `instance.gas`,
 * `ctx.gas` in a host function) takes a non-negative safe integer, which
 * every tier holds exactly (the native tier as a 64-bit word).
 */
export function checkGas(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`gas must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

/** Argument `index` of `argc` as a register value (a finite number or a bigint, wrapped to 32 bits). */
function toRegister(value: unknown, index: number, argc: number): number {
  if (index >= argc) return 0;
  // `v - v` is 0 exactly for finite numbers.
  if (typeof value === "number" && value - value === 0) return value | 0;
  return otherRegister(value, index);
}

function tooManyArguments(argc: number): never {
  throw new RangeError(`at most 6 arguments, got ${argc}`);
}

function otherRegister(value: unknown, index: number): number {
  if (typeof value === "bigint") return Number(BigInt.asIntN(32, value));
  throw new TypeError(`argument ${index} must be a finite number or a bigint, got ${value}`);
}

/** Calls an instance's export (one function for all instances; see `ExportCall`). */
let callExport: ExportCall;

/**
 * A running copy of a program with its own memory, registers and gas.
 * Created by {@linkcode Program.instantiate}.
 *
 * @example
 * ```ts
 * import { Program } from "@rvbox/rvbox";
 * import { fib } from "@rvbox/rvbox/samples";
 * const program = Program.fromBytes(fib);
 * const instance = program.instantiate({}, { gas: 1e9 });
 * console.log(instance.exports.fib(20)); // 6765
 * console.log(instance.gas); // gas left
 * ```
 */
export class Instance {
  /** The program's exported functions, by name. */
  readonly exports: Readonly<Record<string, ExportedFunction>>;
  /**
   * This instance's guest memory (bounds-checked). Kept by the host, it
   * keeps the instance's memory mapped until it is dropped or the instance
   * disposed.
   */
  readonly memory: Memory;
  #tier: Exclude<Tier, "auto">;
  #tierReason: string;
  #engine: Engine;
  /** The tier-up engine until it has settled on a tier (then `#engine` is that tier's). */
  #tiered: TieredEngine | undefined;
  readonly #onDispose: (() => void) | undefined;
  readonly #initialGas: number;
  readonly #entry: number;
  readonly #stackTop: number;
  #status = IDLE;
  #suspended: { i64: boolean; } | undefined;

  /** @internal Use {@linkcode Program.instantiate}. */
  constructor(init: {
    engine: Engine;
    gas: number;
    entry: number;
    exports: ReadonlyMap<string, number>;
    stackTop: number;
    tier: Exclude<Tier, "auto">;
    tierReason: string;
    /** Called once, when the instance is disposed (not when it is collected). */
    onDispose?: () => void;
  }) {
    this.#engine = init.engine;
    this.#tiered = init.engine instanceof TieredEngine ? init.engine : undefined;
    this.#onDispose = init.onDispose;
    this.#initialGas = init.gas;
    this.#entry = init.entry;
    this.#stackTop = init.stackTop;
    this.memory = init.engine.memory;
    this.#tier = init.tier;
    this.#tierReason = init.tierReason;
    this.exports = exportsObject(init.exports, callExport, this);
  }

  static {
    // A new call at `pc` (§4); the arguments are converted before any state changes.
    callExport = (instance, pc, argc, a0, a1, a2, a3, a4, a5, i64) => {
      if (argc > 6) tooManyArguments(argc);
      const r0 = toRegister(a0, 0, argc);
      const r1 = toRegister(a1, 1, argc);
      const r2 = toRegister(a2, 2, argc);
      const r3 = toRegister(a3, 3, argc);
      const r4 = toRegister(a4, 4, argc);
      const r5 = toRegister(a5, 5, argc);
      const self = instance as Instance;
      if (self.#status !== IDLE) self.#ready();
      self.#suspended = undefined;
      const engine = self.#engine;
      engine.beginCall(self.#stackTop);
      const regs = engine.regs;
      regs[A0] = r0;
      regs[A0 + 1] = r1;
      regs[A0 + 2] = r2;
      regs[A0 + 3] = r3;
      regs[A0 + 4] = r4;
      regs[A0 + 5] = r5;
      return self.#run(pc, i64);
    };
  }

  /**
   * The tier that runs this instance now: with `tier: "auto"` it starts on
   * the interpreter and becomes `"native"` or `"wasm"` at tier-up (see
   * `InstanceOptions.tierUp`).
   */
  get tier(): Exclude<Tier, "auto"> {
    return this.#tiered?.tier ?? this.#tier;
  }

  /** Why that tier was chosen. */
  get tierReason(): string {
    return this.#tiered?.tierReason ?? this.#tierReason;
  }

  /** Remaining gas. Set it to refuel (e.g. after an `OutOfGas` trap). */
  get gas(): number {
    return this.#engine.gas;
  }
  set gas(value: number) {
    this.#engine.gas = checkGas(value);
  }

  /**
   * Runs the program from its entry point as a command; returns its exit code
   * (from `rvbox_exit` or `_start` returning a0).
   * @throws {Trap} when the guest traps.
   */
  run(): number {
    return callExport(this, this.#entry, 0, 0, 0, 0, 0, 0, 0, false) as number;
  }

  /**
   * Continues the call that stopped with a resumable trap (`OutOfGas` after
   * refuelling, or `Breakpoint`); returns what that call returns.
   */
  resume(): number | bigint {
    const suspended = this.#suspended;
    if (!suspended) {
      throw new Error("no call to resume: the last call did not stop with a resumable trap");
    }
    this.#ready();
    this.#suspended = undefined;
    return this.#run(this.#engine.resumePc, suspended.i64);
  }

  /**
   * Returns the instance to its state right after instantiation, so that
   * one instance can serve many independent calls (transactions) without
   * the cost of a new one: memory holds its initial contents again (data,
   * bss, stack and heap; nothing written before is readable after), the
   * break is back at the heap start, registers are zero, and gas is what
   * the instance was created with unless `gas` is given. A call suspended
   * by a resumable trap is dropped. Imports and options stay. Costs about
   * what clearing the writable memory costs (the stack, the data and the
   * heap used so far).
   * @throws {RangeError} on an invalid `gas`.
   * @throws {Error} while the instance runs (from a host function) or after `dispose()`.
   *
   * @example
   * ```ts
   * import { Program } from "@rvbox/rvbox";
   * import { fib } from "@rvbox/rvbox/samples";
   * const instance = Program.fromBytes(fib).instantiate({}, { gas: 1e6 });
   * for (const n of [10, 20]) {
   *   instance.reset(); // a fresh state and 1e6 gas for every transaction
   *   console.log(instance.exports.fib(n), 1e6 - instance.gas);
   * }
   * ```
   */
  reset(options: { gas?: number; } = {}): void {
    const gas = checkGas(options.gas ?? this.#initialGas);
    this.#ready();
    this.#suspended = undefined;
    this.#engine.reset(gas);
  }

  /**
   * Releases the instance's resources at once (the native tier's address
   * space, restored to its initial contents and kept for the program's next
   * instance, see `setMemoryPoolLimit`; its share of the resource limits; an
   * interpreter's memory, likewise pooled). Later calls, and reads or writes
   * of its memory (also through a `Memory` kept from it), throw. Calling it
   * again does nothing. An instance never disposed is released after
   * garbage collection, later.
   */
  dispose(): void {
    if (this.#status === RUNNING) throw new Error("cannot dispose an instance while it runs");
    this.#suspended = undefined;
    if (this.#status === DISPOSED) return;
    this.#status = DISPOSED;
    this.#engine.memory.detach();
    this.#engine.dispose?.();
    this.#onDispose?.();
  }

  /** Same as {@linkcode Instance.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * Tier-up has moved the instance to native code, or found it cannot:
   * calls go to that tier's engine directly from now on.
   */
  #settle(tiered: TieredEngine): void {
    this.#engine = tiered.settled!;
    this.#tier = tiered.tier;
    this.#tierReason = tiered.tierReason ?? this.#tierReason;
    this.#tiered = undefined;
  }

  /** Throws unless the instance can start a call (not disposed, not running). */
  #ready(): void {
    if (this.#status === IDLE) return;
    if (this.#status === DISPOSED) throw new Error("the instance has been disposed");
    throw new Error(
      "the instance is already running (a host function cannot call into or reset its guest)",
    );
  }

  /** Runs the engine from `pc` and turns its outcome into a result or a `Trap`. */
  #run(pc: number, i64: boolean): number | bigint {
    const engine = this.#engine;
    this.#status = RUNNING;
    let outcome: RunOutcome;
    try {
      outcome = engine.run(pc);
    } finally {
      this.#status = IDLE;
      if (this.#tiered?.settled) this.#settle(this.#tiered);
    }
    if (outcome === "return" && !i64) return engine.regs[A0];
    if (outcome === "trap") {
      const trap = new Trap(engine.trap!);
      if (trap.resumable) this.#suspended = { i64 };
      throw trap;
    }
    const a0 = outcome === "exit" ? engine.exitCode! : engine.regs[A0];
    engine.exitCode = undefined; // host calls report "exit" while it is set
    if (!i64) return a0;
    const a1 = outcome === "exit" ? (a0 < 0 ? -1 : 0) : engine.regs[A0 + 1];
    return (BigInt(a1) << 32n) | BigInt(a0 >>> 0);
  }
}

const checkRegister = (index: number) => {
  if (!Number.isInteger(index) || index < 0 || index > 31) {
    throw new RangeError(`no register x${index}`);
  }
};

/** The context host functions receive (one object per instance: its methods are shared). */
class EngineContext implements HostContext {
  readonly memory: Memory;
  readonly #engine: () => Engine;

  constructor(memory: Memory, engine: () => Engine) {
    this.memory = memory;
    this.#engine = engine;
  }

  get gas(): number {
    return this.#engine().gas;
  }
  set gas(value: number) {
    this.#engine().gas = checkGas(value); // a RangeError here ends the call with a HostError trap
  }

  getRegister(index: number): number {
    checkRegister(index);
    return this.#engine().regs[index] >>> 0;
  }

  setRegister(index: number, value: number): void {
    checkRegister(index);
    if (index !== 0) this.#engine().setRegister(index, value);
  }
}

/** Builds the context host functions receive, bound to `engine` once it exists. */
export function hostContext(memory: Memory, engine: () => Engine): HostContext {
  return new EngineContext(memory, engine);
}
