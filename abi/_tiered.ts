/**
 * Tier-up: an instance that starts on the interpreter and moves to native
 * code once its program has run enough to pay for translating it.
 *
 * A small call of a large program runs a little of its code, and the
 * interpreter starts in microseconds while translating the whole program
 * takes milliseconds; a long computation wants native code. So with
 * `tier: "auto"` an instance interprets until its program (all its
 * instances together) has spent `tierUp` gas, then creates its native
 * engine, moves its memory into the native address space (the same
 * `Memory` object, see `GuestMemory.moveTo`) and continues there — at the
 * next call, or in the middle of one at the next block entry. Entering a
 * block at its address charges the same on every tier (abi/README.md §4),
 * so results, gas and traps do not depend on when the move happens.
 * @module
 */
import { DEFAULT_TIER_UP } from "./constants.ts";
import type { Engine, RunOutcome } from "./engine.ts";
import type { TrapInit } from "./errors.ts";
import type { HostContext } from "./host.ts";
import type { Tier } from "./instance.ts";
import type { GuestMemory } from "./memory.ts";
import { PreparationNeeded } from "./tiers.ts";

/**
 * The `tierUp` of instances that set none: `DEFAULT_TIER_UP`, which the
 * tests lower so that instances move in the middle of their calls.
 */
export const tierUpDefault: { gas: number; } = { gas: DEFAULT_TIER_UP };

/** An interpreter engine that can stop at a block entry (interpreter/mod.ts). */
export interface YieldingEngine extends Engine {
  /** Runs like `run`, but returns "yield" at the first block entry after `budget` gas. */
  runFor(pc: number, budget: number): RunOutcome | "yield";
  /** Where the last "yield" stopped (not yet charged). */
  readonly yieldPc: number;
}

/** Gas a program's tier-up instances have spent on the interpreter, together. */
export interface TierUpCounter {
  /** Spent so far. */
  spent: number;
}

/**
 * Creates the translated engine over the memory (moved into its own), or
 * says why it cannot (a string), or that it cannot yet (undefined: try again later).
 */
export type Upgrade = () => Engine | string | undefined;

/** Gas the interpreter runs between attempts while the translated engine cannot be created yet. */
const RETRY_GAS = 1 << 20;

/**
 * An upgrade through `create`; when the tier must prepare asynchronously
 * first (`PreparationNeeded`: a browser's main thread refuses to compile a
 * large WebAssembly module), it starts `prepare` and says "not yet" until
 * that is done, then passes its result to `create`. `refused` turns an
 * error into the reason to stay on the interpreter.
 */
export function preparingUpgrade(
  create: (prepared?: unknown) => Engine,
  prepare: (() => Promise<unknown>) | undefined,
  refused: (error: unknown) => string,
): Upgrade {
  let state: "idle" | "preparing" | "prepared" = "idle";
  let prepared: unknown;
  let failure: unknown;
  return () => {
    if (state === "preparing") return undefined;
    try {
      return create(prepared);
    } catch (error) {
      if (!(error instanceof PreparationNeeded)) return refused(error);
      if (state === "prepared" || prepare === undefined) return refused(failure ?? error);
      state = "preparing";
      prepare().then((p) => prepared = p, (e) => failure = e).finally(() => state = "prepared");
      return undefined;
    }
  };
}

/** An engine that runs on the interpreter until its program is hot, then on translated code. */
export class TieredEngine implements Engine {
  #engine: Engine;
  #interpreter: YieldingEngine | undefined;
  #upgrade: Upgrade | undefined;
  readonly #counter: TierUpCounter;
  /** Gas spent on the interpreter after which it moves (`InstanceOptions.tierUp`). */
  readonly #limit: number;
  /** The tier running now. */
  tier: Exclude<Tier, "auto"> = "interpreter";
  /** The tier it moves to. */
  readonly #target: Exclude<Tier, "auto" | "interpreter">;
  /** Why the interpreter stays, once the native tier has refused the instance. */
  tierReason: string | undefined = undefined;
  /**
   * The engine that runs the instance for good, once it has moved or the
   * native tier has refused it: the instance then calls it directly.
   */
  settled: Engine | undefined = undefined;

  constructor(
    interpreter: YieldingEngine,
    upgrade: Upgrade,
    counter: TierUpCounter,
    limit: number,
    target: Exclude<Tier, "auto" | "interpreter">,
  ) {
    this.#target = target;
    this.#engine = this.#interpreter = interpreter;
    this.#upgrade = upgrade;
    this.#counter = counter;
    this.#limit = limit;
  }

  get regs(): Int32Array {
    return this.#engine.regs;
  }
  get memory(): GuestMemory {
    return this.#engine.memory;
  }
  get context(): HostContext {
    return this.#engine.context;
  }
  get print(): (bytes: Uint8Array) => void {
    return this.#engine.print;
  }
  get gas(): number {
    return this.#engine.gas;
  }
  set gas(value: number) {
    this.#engine.gas = value;
  }
  get exitCode(): number | undefined {
    return this.#engine.exitCode;
  }
  set exitCode(value: number | undefined) {
    this.#engine.exitCode = value;
  }
  get reservation(): number {
    return this.#engine.reservation;
  }
  set reservation(value: number) {
    this.#engine.reservation = value;
  }
  get trap(): TrapInit | undefined {
    return this.#engine.trap;
  }
  set trap(value: TrapInit | undefined) {
    this.#engine.trap = value;
  }
  get resumePc(): number {
    return this.#engine.resumePc;
  }
  set resumePc(value: number) {
    this.#engine.resumePc = value;
  }

  beginCall(stackTop: number): void {
    this.#engine.beginCall(stackTop);
  }

  setRegister(index: number, value: number): void {
    this.#engine.setRegister(index, value);
  }

  reset(gas: number): void {
    this.#engine.reset(gas);
  }

  dispose(): void {
    this.#engine.dispose?.();
  }

  run(pc: number): RunOutcome {
    for (;;) {
      const interpreter = this.#interpreter;
      if (interpreter === undefined) return this.#engine.run(pc);
      const counter = this.#counter;
      if (this.#upgrade === undefined) return interpreter.run(pc);
      if (counter.spent >= this.#limit) {
        if (this.#tierUp(interpreter)) continue;
        if (this.#upgrade === undefined) return interpreter.run(pc);
        // Not yet (a preparation under way): on for a while, then look again.
        const outcome = interpreter.runFor(pc, RETRY_GAS);
        if (outcome !== "yield") return outcome;
        pc = interpreter.yieldPc;
        continue;
      }
      const before = interpreter.gas;
      const outcome = interpreter.runFor(pc, this.#limit - counter.spent);
      // A host function may raise the gas: count only what was spent.
      counter.spent += Math.max(0, before - interpreter.gas);
      if (outcome !== "yield") return outcome;
      pc = interpreter.yieldPc;
    }
  }

  /**
   * Moves to translated code; false when it cannot (staying on the
   * interpreter for good, or until the next attempt when it cannot yet).
   */
  #tierUp(interpreter: YieldingEngine): boolean {
    const native = this.#upgrade!();
    if (native === undefined) return false;
    this.#upgrade = undefined;
    if (typeof native === "string") {
      this.tierReason = native;
      this.settled = interpreter;
      return false;
    }
    // Mid-call: the registers, gas and reservation carry over; the memory moved already.
    native.regs.set(interpreter.regs.subarray(0, 32));
    native.gas = interpreter.gas;
    native.reservation = interpreter.reservation;
    this.#engine = this.settled = native;
    this.#interpreter = undefined;
    this.tier = this.#target;
    return true;
  }
}
