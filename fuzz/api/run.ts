/**
 * Runs a misuse sequence on one tier: every step's outcome becomes an event
 * (compared between tiers), and each outcome is checked against what the
 * API documents — a result, a Trap, or a typed error (TypeError, RangeError,
 * LinkError, ProgramError, or an Error with a message) of the documented
 * kind; never a wrapped address, never gas that is not a safe integer.
 * @module
 */
import {
  type HostFunction,
  type Imports,
  type Instance,
  LinkError,
  Program,
  Trap,
} from "../../mod.ts";
import type { Memory } from "../../mod.ts";
import { buildGuest, format, ins } from "../../tests/_guest.ts";
import { allows, loadSegmentsOf, type MemoryModel, modelLayout, withHeap } from "../model.ts";
import { callHelper, type Observation, onTier, outcomeText, type TierConfig } from "../observe.ts";
import { type HostMode, type MemoryStep, show, type Step } from "./steps.ts";

/** The guest every sequence drives: one tiny export per kind of behaviour. */
export const API_GUEST: Uint8Array = buildGuest({
  code: [
    ins.ecall(),
    ins.ret(), // 0 f: calls h
    format.i(1023, 10, 7, 10, 0x13), // 2 spin: 1 + (a0 & 1023) rounds of a loop, whatever the gas
    ins.addi(10, 10, 1),
    ins.addi(10, 10, -1),
    ins.bne(10, 0, -4),
    ins.ret(),
    ins.ebreak(),
    ins.ret(), // 7 brk
    ins.ecall(),
    ins.ret(), // 9 grow: rvbox_sbrk
    ins.lw(10, 10, 0),
    ins.ret(), // 11 load
    ins.sw(11, 10, 0),
    ins.ret(), // 13 store
    ins.ecall(),
    ins.ret(), // 15 print: rvbox_print
    ins.ecall(), // 17 exit: rvbox_exit
    ins.li(10, 7),
    ins.ret(), // 18 the entry point
  ],
  entry: 18,
  imports: [{ at: 0, name: "h" }, { at: 9, name: "rvbox_sbrk" }, { at: 15, name: "rvbox_print" }, {
    at: 17,
    name: "rvbox_exit",
  }],
  exports: ["f", "spin", "brk", "grow", "load", "store", "print", "exit"].map((name, k) => ({
    at: [0, 2, 7, 9, 11, 13, 15, 17][k],
    name,
  })),
});

const SEGMENTS = loadSegmentsOf(API_GUEST);
const PROGRAM = Program.fromBytes(API_GUEST);

/** An instance of the sequence and what the model knows of it. */
interface Live {
  instance: Instance;
  model: MemoryModel;
}

/** What a step may end in: "ok" (a result), or the error classes allowed. */
type Expected = "ok" | "trap" | "any" | (abstract new(...args: never[]) => Error)[];

// Options are read with `??`: null means the default, like undefined.
const isGas = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isSize = (v: unknown) =>
  v == null || (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= 2 ** 30);
const isAddress = (v: unknown) =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 32;
const isLength = (v: unknown) =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 2 ** 32;

/** Runs `steps` with instances on `tier`. */
export function runSteps(steps: readonly Step[], tier: TierConfig): Observation {
  const events: string[] = [];
  const violations: string[] = [];
  const lives: Live[] = [];
  let mode: HostMode = { kind: "return", value: 0 };
  let running: Live | undefined;
  const pick = (target: number) => lives.length ? lives[target % lives.length] : undefined;

  const h: HostFunction = (ctx) => {
    switch (mode.kind) {
      case "return":
        return mode.value as number;
      case "throw":
        throw mode.value;
      case "setRegister":
        return ctx.setRegister(mode.index as number, mode.value as number);
      case "getRegister":
        return ctx.getRegister(mode.index as number);
      case "setGas":
        ctx.gas = mode.value as number;
        return;
      case "memory":
        return memoryCall(ctx.memory, mode.step) as number;
      default:
        return reenter(mode.what, running, lives);
    }
  };

  /** Records the outcome of `call`, checks it against `expected`. */
  const perform = (what: string, expected: Expected, call: () => unknown): unknown => {
    let thrown: unknown;
    const text = outcomeText(() => {
      try {
        return call();
      } catch (error) {
        thrown = error;
        throw error;
      }
    });
    events.push(`${what}: ${text}`);
    const problem = judge(thrown, expected);
    if (problem) violations.push(`${what}: ${text.slice(0, 120)} (${problem})`);
    return thrown;
  };

  for (const step of steps) {
    const live = "target" in step ? pick(step.target) : undefined;
    if ("target" in step && !live) {
      events.push(`${step.op}: no instance`);
      continue;
    }
    switch (step.op) {
      case "instantiate": {
        const options: Record<string, unknown> = {
          print: () => {},
          ...tier.options,
          ...step.options,
        };
        if (options.trace === "fn") options.trace = () => {};
        if (options.print === "throws") {
          options.print = () => {
            throw new Error("print sink refuses");
          };
        }
        const imports = importsFor(step.imports, h);
        const sizes = {
          stackSize: options.stackSize ?? undefined,
          heapSize: options.heapSize ?? undefined,
        };
        const model = isSize(sizes.stackSize) && isSize(sizes.heapSize)
          ? modelLayout(SEGMENTS, sizes as { stackSize?: number; heapSize?: number; })
          : undefined;
        const expected = instantiateExpectation(options, step.imports, model);
        let instance: Instance | undefined;
        perform(`instantiate(${step.imports}, ${show(step.options)})`, expected, () => {
          instance = onTier(tier, () => PROGRAM.instantiate(imports as Imports, options as never));
          return "an instance";
        });
        if (instance && model) lives.push({ instance, model });
        else instance?.dispose();
        break;
      }
      case "call": {
        const disposed = isDisposed(live!);
        const expected: Expected = step.args.length > 6
          ? [RangeError]
          : step.args.some((a) =>
              typeof a !== "bigint" && !(typeof a === "number" && Number.isFinite(a))
            )
          ? [TypeError]
          : disposed
          ? [Error]
          : "trap";
        running = live;
        const fn = live!.instance.exports[step.name];
        const what = `${step.name}${step.i64 ? ".i64" : ""}(${step.args.map(show)})`;
        const thrown = perform(
          what,
          expected,
          () => step.i64 ? fn.i64(...step.args as number[]) : fn(...step.args as number[]),
        );
        running = undefined;
        // What a host function throws is the HostError trap's cause, as it was.
        const threw = step.name === "f" && mode.kind === "throw" ? mode.value : undefined;
        if (
          threw !== undefined && thrown instanceof Trap && thrown.kind === "HostError"
          && thrown.cause !== threw
        ) {
          violations.push(
            `${what}: the HostError's cause is ${show(thrown.cause)}, not the thrown ${
              show(threw)
            }`,
          );
        }
        break;
      }
      case "run":
        running = live;
        perform("run()", isDisposed(live!) ? [Error] : "trap", () => live!.instance.run());
        running = undefined;
        break;
      case "resume":
        running = live;
        perform("resume()", "any", () => live!.instance.resume());
        running = undefined;
        break;
      case "dispose":
        perform("dispose()", "ok", () => live!.instance.dispose());
        break;
      case "usingDispose":
        perform("[Symbol.dispose]()", "ok", () => live!.instance[Symbol.dispose]());
        break;
      case "getGas":
        perform("gas", "any", () => live!.instance.gas);
        break;
      case "setGas":
        perform(`gas = ${show(step.value)}`, isGas(step.value) ? "any" : [RangeError], () => {
          live!.instance.gas = step.value as number;
        });
        break;
      case "memory":
        perform(
          `memory.${step.step.helper}(${show(step.step.address)}, ${show(step.step.length)})`,
          memoryExpectation(live!, step.step),
          () => memoryCall(live!.instance.memory, step.step),
        );
        break;
      case "host":
        mode = step.mode;
        events.push(`h = ${mode.kind}`);
        break;
      case "load":
        perform(
          `Program.fromBytes(${step.input}, ${show(step.options)})`,
          loadExpectation(step),
          () => {
            using loaded = Program.fromBytes(
              loadInput(step.input) as Uint8Array,
              step.options as never,
            );
            return loaded.entry;
          },
        );
        break;
    }
    for (const l of lives) {
      if (isDisposed(l)) continue;
      const gas = l.instance.gas;
      if (!Number.isSafeInteger(gas) || gas < 0) {
        violations.push(`after ${step.op}: instance gas is ${gas}`);
      }
    }
    events.push(`gas ${lives.map((l) => isDisposed(l) ? "-" : l.instance.gas).join(" ")}`);
  }
  for (const l of lives) l.instance.dispose();
  return { events, violations };
}

const disposedSet = new WeakSet<Instance>();

function isDisposed(live: Live): boolean {
  if (disposedSet.has(live.instance)) return true;
  // A disposed instance refuses memory access with an Error (not a RangeError).
  try {
    live.instance.memory.brk;
    live.instance.memory.read(live.model.heapStart, 0);
    return false;
  } catch (error) {
    if (error instanceof RangeError) return false;
    disposedSet.add(live.instance);
    return true;
  }
}

/** Whether an outcome is what was expected; a sentence saying why not, or undefined. */
function judge(thrown: unknown, expected: Expected): string | undefined {
  if (thrown !== undefined && !(thrown instanceof Error)) return "threw a non-Error";
  if (thrown instanceof Error && !(thrown instanceof Trap) && !thrown.message) {
    return "an error without a message";
  }
  if (expected === "any") return undefined;
  if (expected === "ok") return thrown === undefined ? undefined : "expected success";
  if (expected === "trap") {
    return thrown === undefined || thrown instanceof Trap
      ? undefined
      : "expected a result or a Trap";
  }
  if (thrown === undefined) {
    return `expected ${expected.map((e) => e.name).join(" or ")}, but it succeeded`;
  }
  if (!expected.some((e) => thrown instanceof e)) {
    return `expected ${expected.map((e) => e.name).join(" or ")}`;
  }
  return undefined;
}

function importsFor(
  kind: Step & { op: "instantiate"; } extends { imports: infer I; } ? I : never,
  h: HostFunction,
): unknown {
  switch (kind) {
    case "missing":
      return {};
    case "notFunction":
      return { h: 5 };
    case "extra":
      return { h, unused: () => 0 };
    case "null":
      return null;
    default:
      return { h };
  }
}

function instantiateExpectation(
  options: Record<string, unknown>,
  imports: string,
  model: MemoryModel | undefined,
): Expected {
  const errors: (abstract new(...args: never[]) => Error)[] = [];
  const badSize = !isSize(options.stackSize) || !isSize(options.heapSize);
  if ((options.gas != null && !isGas(options.gas)) || badSize || !model) errors.push(RangeError);
  if (
    !["auto", "interpreter", "wasm", "native", undefined, null].includes(options.tier as string)
  ) {
    errors.push(RangeError);
  }
  if (imports === "missing" || imports === "notFunction") errors.push(LinkError);
  if (imports === "null") errors.push(TypeError, LinkError);
  if (options.print !== undefined && typeof options.print !== "function") return "any";
  return errors.length ? errors : "ok";
}

function memoryExpectation(live: Live, step: MemoryStep): Expected {
  if (isDisposed(live)) return [Error];
  if (step.helper === "write" && step.data !== "bytes") return "any";
  // Not a number at all: a TypeError is as good as a RangeError.
  const bad = (v: unknown): Expected =>
    typeof v === "number" ? [RangeError] : [RangeError, TypeError];
  if (!isAddress(step.address)) return bad(step.address);
  const address = step.address as number;
  const length = lengthOf(step);
  if (length === undefined) return step.helper === "readString" ? "any" : [RangeError];
  if (!isLength(length)) return bad(length);
  if (length === 0) return "ok";
  const write = step.helper.startsWith("write");
  const regions = withHeap(live.model, live.instance.memory.brk);
  return allows(regions, address, length as number, write ? "write" : "read") ? "ok" : [RangeError];
}

/** The byte count a helper call touches (undefined: readString up to a NUL). */
function lengthOf(step: MemoryStep): unknown {
  if (step.helper.endsWith("U8")) return 1;
  if (step.helper.endsWith("32")) return 4;
  if (step.helper === "writeString") return 6; // "héllo" in UTF-8
  if (step.helper === "write") return writeLength(step.length);
  return step.length;
}

const writeLength = (length: unknown) =>
  typeof length === "number" && Number.isInteger(length) && length >= 0 && length <= 0x10000
    ? length
    : 4;

/** Performs a helper call with what the step gives, whatever its types. */
function memoryCall(memory: Memory, step: MemoryStep): unknown {
  const n = writeLength(step.length);
  const data = {
    bytes: new Uint8Array(n).fill(7),
    array: [1, 2, 3],
    string: "abc",
    null: null,
    u16: new Uint16Array(n),
  };
  return callHelper(memory, step.helper, step.address, step.length, data[step.data]);
}

/** A host function calling back into instances; only `gas` and `other` may work. */
function reenter(what: string, running: Live | undefined, lives: Live[]): number | void {
  const self = running?.instance;
  if (!self) return;
  switch (what) {
    case "run":
      return self.run();
    case "resume":
      return Number(self.resume());
    case "dispose":
      return self.dispose();
    case "call":
      return self.exports.load(0x22000);
    case "gas":
      self.gas = 5;
      return;
    default: {
      const other = lives.find((l) => l.instance !== self && !isDisposed(l));
      return other?.instance.exports.load(0x22000);
    }
  }
}

function loadExpectation(step: Step & { op: "load"; }): Expected {
  if (!["bytes", "buffer"].includes(step.input)) return [TypeError];
  if (Object.values(step.options).some((v) => !isGas(v))) return [RangeError];
  return Object.keys(step.options).length ? "any" : "ok"; // a small limit may reject it: ProgramError
}

function loadInput(input: string): unknown {
  switch (input) {
    case "bytes":
      return API_GUEST;
    case "buffer":
      return API_GUEST.slice().buffer;
    case "string":
      return "\x7fELF";
    case "array":
      return Array.from(API_GUEST);
    case "dataview":
      return new DataView(API_GUEST.slice().buffer);
    default:
      return null;
  }
}
