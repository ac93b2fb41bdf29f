/**
 * The tier-independent instance: sets up calls from the host (§4), turns
 * engine outcomes into results and traps, and owns memory and gas.
 * @module
 */
import { HOST_RETURN_ADDRESS } from "./constants.ts";
import type { Engine, RunOutcome } from "./engine.ts";
import { Trap } from "./errors.ts";
import type { HostContext, Memory } from "./host.ts";

/** Which tier runs an instance. `"auto"` picks the fastest available. */
export type Tier = "auto" | "interpreter" | "native";

/**
 * An exported guest function: takes up to six integer arguments (a0-a5) and
 * returns a0 as a signed 32-bit number; `.i64()` returns a1:a0 as a signed
 * bigint instead.
 */
export interface ExportedFunction {
  /** Calls the export; returns a0. */
  (...args: (number | bigint)[]): number;
  /** Calls the export; returns a1:a0 as a signed 64-bit bigint. */
  i64(...args: (number | bigint)[]): bigint;
}

const SP = 2;
const RA = 1;
const A0 = 10;

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

function toRegister(value: number | bigint, index: number): number {
  if (typeof value === "bigint") return Number(BigInt.asIntN(32, value));
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`argument ${index} must be a finite number or a bigint, got ${value}`);
  }
  return value | 0;
}

/**
 * A running copy of a program with its own memory, registers and gas.
 * Created by {@linkcode Program.instantiate}.
 *
 * @example
 * ```ts
 * import { Program } from "@rvbox/rvbox";
 * const program = await Program.fromFile("examples/fib/fib.rv32em.elf");
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
  /** The tier that runs this instance. */
  readonly tier: Exclude<Tier, "auto">;
  /** Why that tier was chosen. */
  readonly tierReason: string;
  readonly #engine: Engine;
  readonly #entry: number;
  readonly #stackTop: number;
  #running = false;
  #disposed = false;
  #suspended: { i64: boolean; } | undefined;

  /** @internal Use {@linkcode Program.instantiate}. */
  constructor(init: {
    engine: Engine;
    entry: number;
    exports: ReadonlyMap<string, number>;
    stackTop: number;
    tier: Exclude<Tier, "auto">;
    tierReason: string;
  }) {
    this.#engine = init.engine;
    this.#entry = init.entry;
    this.#stackTop = init.stackTop;
    this.memory = init.engine.memory;
    this.tier = init.tier;
    this.tierReason = init.tierReason;
    const exports: Record<string, ExportedFunction> = Object.create(null);
    for (const [name, pc] of init.exports) {
      const fn = (...args: (number | bigint)[]) => this.#call(pc, args, false) as number;
      fn.i64 = (...args: (number | bigint)[]) => this.#call(pc, args, true) as bigint;
      exports[name] = fn;
    }
    this.exports = Object.freeze(exports);
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
    return this.#call(this.#entry, [], false) as number;
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
    this.#suspended = undefined;
    return this.#enter(suspended.i64, this.#engine.resumePc, -1);
  }

  /**
   * Releases the instance's resources at once (the native tier's address
   * space and mappings, and its share of the resource limits; the
   * interpreter holds only garbage-collected memory). Later calls, and
   * reads or writes of its memory (also through a `Memory` kept from it),
   * throw. Calling it again does nothing. An instance never disposed is
   * released after garbage collection, later.
   */
  dispose(): void {
    if (this.#running) throw new Error("cannot dispose an instance while it runs");
    this.#suspended = undefined;
    if (this.#disposed) return;
    this.#disposed = true;
    this.#engine.memory.detach();
    this.#engine.dispose?.();
  }

  /** Same as {@linkcode Instance.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Arguments converted before any state changes (a bad one throws first). */
  readonly #args = new Int32Array(6);

  #call(pc: number, args: (number | bigint)[], i64: boolean): number | bigint {
    const n = args.length;
    if (n > 6) throw new RangeError(`at most 6 arguments, got ${n}`);
    const values = this.#args;
    for (let i = 0; i < n; i++) values[i] = toRegister(args[i], i);
    return this.#enter(i64, pc, n);
  }

  /**
   * Runs the engine from `pc`: a new call with `argc` arguments from
   * `#args`, or (`argc` < 0) the resumption of a suspended one.
   */
  #enter(i64: boolean, pc: number, argc: number): number | bigint {
    if (this.#disposed) throw new Error("the instance has been disposed");
    if (this.#running) {
      throw new Error(
        "the instance is already running (a host function cannot call into its guest)",
      );
    }
    const engine = this.#engine;
    if (argc >= 0) {
      const regs = engine.regs;
      regs.fill(0);
      regs[SP] = this.#stackTop;
      regs[RA] = HOST_RETURN_ADDRESS;
      for (let i = 0; i < argc; i++) regs[A0 + i] = this.#args[i];
      engine.reservation = -1;
      this.#suspended = undefined;
    }
    this.#running = true;
    let outcome: RunOutcome;
    try {
      outcome = engine.run(pc);
    } finally {
      this.#running = false;
    }
    if (outcome === "trap") {
      const trap = new Trap(engine.trap!);
      if (trap.resumable) this.#suspended = { i64 };
      throw trap;
    }
    const a0 = outcome === "exit" ? engine.exitCode! : engine.regs[A0];
    if (!i64) return a0;
    const a1 = outcome === "exit" ? (a0 < 0 ? -1 : 0) : engine.regs[A0 + 1];
    return (BigInt(a1) << 32n) | BigInt(a0 >>> 0);
  }
}

/** Builds the context host functions receive, bound to `engine` once it exists. */
export function hostContext(memory: Memory, engine: () => Engine): HostContext {
  return {
    memory,
    get gas() {
      return engine().gas;
    },
    set gas(value: number) {
      engine().gas = checkGas(value); // a RangeError here ends the call with a HostError trap
    },
    getRegister(index: number): number {
      if (!Number.isInteger(index) || index < 0 || index > 31) {
        throw new RangeError(`no register x${index}`);
      }
      return engine().regs[index] >>> 0;
    },
    setRegister(index: number, value: number): void {
      if (!Number.isInteger(index) || index < 0 || index > 31) {
        throw new RangeError(`no register x${index}`);
      }
      if (index !== 0) engine().regs[index] = value;
    },
  };
}
