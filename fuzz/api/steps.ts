/**
 * Host-API misuse sequences: random calls of the public API with odd and bad
 * arguments — instantiate options, export arguments, resume without a trap,
 * dispose twice, calls after dispose, memory helpers with bad addresses and
 * lengths, host functions that throw non-Errors, set registers out of range,
 * set any gas, or call back into instances. Steps are plain data, so a
 * sequence prints as a readable script and the reducer can drop steps.
 * @module
 */
import type { HelperName } from "../observe.ts";
import type { Random } from "../random.ts";

/** What the host function `h` does when the guest calls it. */
export type HostMode =
  | { kind: "return"; value: unknown; }
  | { kind: "throw"; value: unknown; }
  | { kind: "setRegister"; index: unknown; value: unknown; }
  | { kind: "getRegister"; index: unknown; }
  | { kind: "setGas"; value: unknown; }
  | { kind: "memory"; step: MemoryStep; }
  | { kind: "reenter"; what: "run" | "resume" | "dispose" | "call" | "gas" | "other"; };

/** A host memory helper call. */
export interface MemoryStep {
  helper: HelperName;
  address: unknown;
  length: unknown;
  /** What `write` writes (not always a Uint8Array). */
  data: "bytes" | "array" | "string" | "null" | "u16";
}

/** One API call. `target` picks one of the live instances (modulo their number). */
export type Step =
  | {
    op: "instantiate";
    options: Record<string, unknown>;
    imports: "ok" | "missing" | "notFunction" | "extra" | "null";
  }
  | { op: "call"; target: number; name: string; args: unknown[]; i64: boolean; }
  | { op: "run" | "resume" | "dispose" | "usingDispose" | "getGas"; target: number; }
  | { op: "setGas"; target: number; value: unknown; }
  | { op: "memory"; target: number; step: MemoryStep; }
  | { op: "host"; mode: HostMode; }
  | {
    op: "load";
    input: "bytes" | "buffer" | "string" | "array" | "null" | "dataview";
    options: Record<string, unknown>;
  };

/** Exports of the guest the sequences drive (fuzz/api/run.ts builds it). */
export const EXPORTS = ["f", "spin", "brk", "grow", "load", "store", "print", "exit"] as const;

const BAD_NUMBERS = [
  NaN,
  Infinity,
  -Infinity,
  -1,
  -0,
  1.5,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  1e19,
  -(2 ** 31),
];
const GAS = [
  0,
  1,
  100,
  10_000,
  2 ** 32 + 3,
  Number.MAX_SAFE_INTEGER,
  ...BAD_NUMBERS,
  "100",
  10n,
  null,
];
const SIZES = [
  undefined,
  0,
  1,
  3,
  4095,
  4096,
  1 << 20,
  2 ** 30,
  2 ** 30 + 1,
  ...BAD_NUMBERS,
  "4096",
  null,
];
const TIERS = ["", "fast", null, 5, "auto", "interpreter"];
const ARGS = [
  0,
  1,
  -1,
  2 ** 31,
  0x22000,
  0x22ffc,
  0x10000,
  ...BAD_NUMBERS,
  10n ** 20n,
  -1n,
  "5",
  null,
  undefined,
  {},
];
const VALUES: unknown[] = [
  0,
  7,
  -1,
  2 ** 40,
  NaN,
  Infinity,
  1.5,
  -0,
  10n ** 30n,
  -1n,
  "7",
  undefined,
  null,
  {},
  Symbol("s"),
];
const THROWN: unknown[] = [
  "text",
  42,
  undefined,
  null,
  { message: "not an Error" },
  new Error(""),
  new TypeError("t"),
  Symbol("thrown"),
];
/** Addresses: region edges of the guest's layout, and values no address may be. */
const ADDRESSES = [
  0x10000,
  0x10ffc,
  0x11000,
  0x12000,
  0x21ffc,
  0x22000,
  0x22ffc,
  0x23000,
  0x24000,
  0,
  0xfffffffc,
  0xffffffff,
  2 ** 32,
  2 ** 32 + 0x22000,
  -4,
  -0x22000,
  0x22000 + 0.5,
  NaN,
  Infinity,
  "139264",
  139264n,
  null,
  2 ** 53 + 0x22000,
];
const LENGTHS = [0, 1, 4, 16, 0x1000, 0x10000, 2 ** 32, 2 ** 32 + 1, -1, 1.5, NaN, "4", undefined];
const HELPERS: MemoryStep["helper"][] = [
  "read",
  "write",
  "readU8",
  "readU32",
  "readI32",
  "writeU8",
  "writeU32",
  "readString",
  "writeString",
];

function memoryStep(rnd: Random): MemoryStep {
  return {
    helper: rnd.pick(HELPERS),
    address: rnd.pick(ADDRESSES),
    length: rnd.pick(LENGTHS),
    data: rnd.chance(0.8) ? "bytes" : rnd.pick(["array", "string", "null", "u16"] as const),
  };
}

function hostMode(rnd: Random): HostMode {
  switch (rnd.int(7)) {
    case 0:
      return { kind: "return", value: rnd.pick(VALUES) };
    case 1:
      return { kind: "throw", value: rnd.pick(THROWN) };
    case 2:
      return {
        kind: "setRegister",
        index: rnd.pick([0, 1, 2, 10, 15, 16, 31, 32, -1, 1.5, NaN, "3"]),
        value: rnd.pick(VALUES),
      };
    case 3:
      return { kind: "getRegister", index: rnd.pick([0, 2, 31, 32, -1, 1.5, NaN, "3", undefined]) };
    case 4:
      return { kind: "setGas", value: rnd.pick(GAS) };
    case 5:
      return { kind: "memory", step: memoryStep(rnd) };
    default:
      return {
        kind: "reenter",
        what: rnd.pick(["run", "resume", "dispose", "call", "gas", "other"] as const),
      };
  }
}

function instanceOptions(rnd: Random): Record<string, unknown> {
  // Always some gas: the default (10^10) would let a long call run for seconds.
  const options: Record<string, unknown> = {
    gas: rnd.chance(0.6) ? rnd.pick([1000, 100_000]) : rnd.pick(GAS),
  };
  if (rnd.chance(0.3)) options.stackSize = rnd.pick(SIZES);
  if (rnd.chance(0.3)) options.heapSize = rnd.pick(SIZES);
  if (rnd.chance(0.15)) options.tier = rnd.pick(TIERS);
  if (rnd.chance(0.1)) options.print = rnd.pick(["throws", 5, null]);
  if (rnd.chance(0.05)) {
    options.trace = "fn";
    options.tier = "interpreter"; // tracing is the interpreter's; the same on every configuration
  }
  return options;
}

/** A random sequence of 4 to 40 steps, starting with an instantiation. */
export function generateSteps(rnd: Random): Step[] {
  const steps: Step[] = [{ op: "instantiate", options: { gas: 100_000 }, imports: "ok" }];
  const target = () => rnd.int(4);
  for (let n = 4 + rnd.int(37); n > 0; n--) {
    const roll = rnd.int(100);
    if (roll < 10) {
      const imports = rnd.chance(0.85)
        ? "ok"
        : rnd.pick(["missing", "notFunction", "extra", "null"] as const);
      steps.push({ op: "instantiate", options: instanceOptions(rnd), imports });
    } else if (roll < 35) {
      const name = rnd.pick(EXPORTS);
      const count = rnd.chance(0.9) ? rnd.int(7) : 7 + rnd.int(3);
      const args = Array.from(
        { length: count },
        () => rnd.chance(0.7) ? rnd.pick([0, 1, 0x22000, 0x22ffc, 4]) : rnd.pick(ARGS),
      );
      steps.push({ op: "call", target: target(), name, args, i64: rnd.chance(0.2) });
    } else if (roll < 42) {
      steps.push({ op: rnd.pick(["run", "resume", "resume"] as const), target: target() });
    } else if (roll < 47) {
      steps.push({
        op: rnd.pick(["dispose", "usingDispose", "getGas"] as const),
        target: target(),
      });
    } else if (roll < 55) steps.push({ op: "setGas", target: target(), value: rnd.pick(GAS) });
    else if (roll < 77) steps.push({ op: "memory", target: target(), step: memoryStep(rnd) });
    else if (roll < 95) steps.push({ op: "host", mode: hostMode(rnd) });
    else {
      const options: Record<string, unknown> = {};
      if (rnd.chance(0.5)) {
        options[rnd.pick(["maxCodeSize", "maxImageSize", "maxFileSize"])] = rnd.pick([
          0,
          100,
          ...BAD_NUMBERS,
          "1",
        ]);
      }
      steps.push({
        op: "load",
        input: rnd.pick(["bytes", "buffer", "string", "array", "null", "dataview"] as const),
        options,
      });
    }
  }
  return steps;
}

/** A value as source text (strings quoted, bigints with n, symbols named). */
export function show(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (value instanceof Error) return `new ${value.name}(${JSON.stringify(value.message)})`;
  if (value && typeof value === "object") {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${show(v)}`).join(", ")} }`;
  }
  return String(value);
}
