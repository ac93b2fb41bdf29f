/**
 * What the campaigns observe of a run, as comparable text: the tiers to run,
 * call outcomes (result, trap with kind, pc, address, access and registers,
 * or a thrown error), and digests of memory.
 * @module
 */
import { interpreterLoop } from "../interpreter/mod.ts";
import { nativeSupport } from "../jit/mod.ts";
import type { InstanceOptions, Memory } from "../mod.ts";
import { Trap } from "../mod.ts";
import { wasmSupport } from "../wasm/mod.ts";
import { describeThrown, type Failure, type FailureKind } from "./campaign.ts";
import type { ModelRegion } from "./model.ts";

/** One configuration every case runs on; the first is the reference. */
export interface TierConfig {
  name: string;
  options: InstanceOptions;
  /** The interpreter's dispatch loop, when not the default (interpreter/mod.ts). */
  loop?: "switch" | "steps";
}

const INTERPRETER: TierConfig = {
  name: "interpreter",
  options: { tier: "interpreter" },
  loop: "switch",
};
const STEPS: TierConfig = {
  name: "interpreter (steps loop)",
  options: { tier: "interpreter" },
  loop: "steps",
};
const NATIVE: TierConfig = { name: "native", options: { tier: "native" } };
const WASM: TierConfig = { name: "wasm", options: { tier: "wasm" } };
const TRACED: TierConfig = {
  name: "interpreter (tracing)",
  options: { tier: "interpreter", trace: () => {} },
};

/** Whether the native tier runs here (x86-64 or AArch64 Linux with FFI granted). */
export const HAS_NATIVE: boolean = nativeSupport().ok;

/** Whether the wasm tier runs here (WebAssembly can be compiled). */
export const HAS_WASM: boolean = wasmSupport().ok;

/**
 * An auto instance that moves from the interpreter to native code (tier-up)
 * after 1-400 gas, chosen by `variety`, so that cases move at every kind of point.
 */
function tierUp(variety: number): TierConfig {
  const gas = 1 + (Math.imul(variety | 0, 0x9e3779b1) >>> 0) % 400;
  return { name: `tier-up after ${gas} gas`, options: { tier: "auto", tierUp: gas } };
}

/**
 * The interpreter on both its loops, the wasm tier where it runs, the native
 * tier where it runs and with it tier-up (moving after a threshold `variety`
 * picks), and the tracing build if asked.
 */
export function tierConfigs(traced: boolean, variety = 0): TierConfig[] {
  return [
    INTERPRETER,
    STEPS,
    ...(HAS_WASM ? [WASM] : []),
    ...(HAS_NATIVE ? [NATIVE, tierUp(variety)] : []),
    ...(traced ? [TRACED] : []),
  ];
}

/** Calls `create` (an instantiation) with `tier`'s interpreter loop chosen. */
export function onTier<T>(tier: TierConfig, create: () => T): T {
  const saved = interpreterLoop.kind;
  interpreterLoop.kind = tier.loop ?? saved;
  try {
    return create();
  } finally {
    interpreterLoop.kind = saved;
  }
}

const hex = (n: number | undefined) => n === undefined ? "-" : (n >>> 0).toString(16);

/** A trap as one line: kind, pc, address, access and the registers. */
export function trapText(trap: Trap): string {
  const regs = Array.from(trap.registers, hex).join(" ");
  return `${trap.kind} pc=${hex(trap.pc)} addr=${hex(trap.address)} ${
    trap.access ?? "-"
  } [${regs}]`;
}

/** The outcome of `call` as one line: its result, its trap, or what it threw. */
export function outcomeText(call: () => unknown): string {
  try {
    const result = call();
    return `result ${typeof result === "bigint" ? `${result}n` : String(result)}`;
  } catch (error) {
    return error instanceof Trap ? trapText(error) : `throws ${describeThrown(error)}`;
  }
}

/** FNV-1a over `bytes`, continuing from `hash`. */
export function digest(bytes: ArrayLike<number>, hash = 0x811c9dc5): number {
  let h = hash;
  for (let k = 0; k < bytes.length; k++) h = Math.imul(h ^ (bytes[k] & 0xff), 0x01000193);
  return h >>> 0;
}

/** Most bytes hashed per region end: writes land near the edges the programs aim at. */
const WINDOW = 0x10000;

/** A digest of every region's contents (the first and last 64 KiB of big ones). */
export function memoryDigest(memory: Memory, regions: readonly ModelRegion[]): string {
  const parts = regions.filter((r) => r.read).map((r) => {
    const size = r.end - r.start;
    const ranges = size <= 2 * WINDOW
      ? [[r.start, size]]
      : [[r.start, WINDOW], [r.end - WINDOW, WINDOW]];
    try {
      const hash = ranges.reduce((h, [at, n]) => digest(memory.read(at, n), h), 0x811c9dc5);
      return `${r.name}@${hex(r.start)}:${hex(hash)}`;
    } catch (error) {
      return `${r.name}@${hex(r.start)}: ${describeThrown(error)}`;
    }
  });
  return `memory ${parts.join(" ")}`;
}

/** The first line where two observations differ, for messages. */
export function firstDifference(
  expected: readonly string[],
  actual: readonly string[],
  names: [string, string],
): string {
  const n = Math.max(expected.length, actual.length);
  for (let k = 0; k < n; k++) {
    if (expected[k] !== actual[k]) {
      return `event ${k}:\n  ${names[0]}: ${expected[k] ?? "(none)"}\n  ${names[1]}: ${
        actual[k] ?? "(none)"
      }`;
    }
  }
  return "no difference";
}

/** What one tier did with a case: events to compare, and contract violations. */
export interface Observation {
  events: string[];
  violations: string[];
}

/**
 * The verdict over every tier's observation of one case: a divergence from
 * the first tier, else the first tier's violations (of kind `kindOf`), else
 * none.
 */
export function compareTiers(
  tiers: readonly TierConfig[],
  observations: readonly Observation[],
  kindOf: (violations: string[]) => FailureKind = () => "contract",
): Failure | undefined {
  const reference = observations[0].events;
  for (let k = 1; k < tiers.length; k++) {
    const actual = observations[k].events;
    if (actual.join("\n") !== reference.join("\n")) {
      const where = firstDifference(reference, actual, [tiers[0].name, tiers[k].name]);
      return {
        kind: "divergence",
        message: `${tiers[k].name} differs from ${tiers[0].name} at ${where}`,
      };
    }
  }
  for (let k = 0; k < tiers.length; k++) {
    const violations = observations[k].violations;
    if (violations.length) {
      return { kind: kindOf(violations), message: `${tiers[k].name}: ${violations.join("\n  ")}` };
    }
  }
  return undefined;
}

/** The host memory helpers. */
export type HelperName =
  | "read"
  | "write"
  | "readU8"
  | "readU32"
  | "readI32"
  | "writeU8"
  | "writeU32"
  | "readString"
  | "writeString";

/**
 * Calls helper `name` of `memory` with the arguments as given (any type, for
 * misuse); reads return a hash of the bytes, `write` writes `data`.
 */
export function callHelper(
  memory: Memory,
  name: HelperName,
  address: unknown,
  length: unknown,
  data: unknown = new Uint8Array(0),
): unknown {
  const at = address as number;
  switch (name) {
    case "read":
      return digest(memory.read(at, length as number));
    case "write":
      return memory.write(at, data as Uint8Array);
    case "readU8":
      return memory.readU8(at);
    case "readU32":
      return memory.readU32(at);
    case "readI32":
      return memory.readI32(at);
    case "writeU8":
      return memory.writeU8(at, 0xab);
    case "writeU32":
      return memory.writeU32(at, 0xdeadbeef);
    case "readString":
      return memory.readString(at, length as number).length;
    default:
      return memory.writeString(at, "h\u00e9llo");
  }
}
