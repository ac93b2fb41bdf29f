/**
 * The test matrix: every behavioural test runs once per tier through
 * `tierTest`, so a new tier joins every suite by being added here.
 * @module
 */
import { tierUpDefault } from "../abi/_tiered.ts";
import { interpreterLoop } from "../interpreter/mod.ts";
import { nativeSupport } from "../jit/mod.ts";
import type { Tier } from "../mod.ts";
import { wasmSupport } from "../wasm/mod.ts";

const native = nativeSupport();
const wasm: readonly Tier[] = wasmSupport().ok ? ["wasm"] : [];

/**
 * Tiers that run on this machine, in the order tests run them: the wasm
 * tier where WebAssembly can be compiled; the native tier when the
 * platform has a backend and FFI is granted; and `"auto"` with either,
 * whose instances start on the interpreter and move to native code, else
 * to wasm (tier-up) — in these tests after a few dozen gas, in the middle
 * of a call.
 */
export const TIERS: readonly Tier[] = native.ok
  ? ["interpreter", ...wasm, "native", "auto"]
  : wasm.length > 0
  ? ["interpreter", "wasm", "auto"]
  : ["interpreter"];

/** The tier `"auto"` instances move to here. */
export const AUTO_TARGET: Tier = native.ok ? "native" : "wasm";

/**
 * `RVBOX_TIERS=wasm,native,tier-up` registers the tier tests of those columns
 * only (`deno task test:arm64`: the interpreter's JavaScript is the same on
 * every architecture, and under qemu each column costs minutes).
 */
const ONLY = envVar("RVBOX_TIERS")?.split(",");

/**
 * The runs of each tier test: every tier once, the interpreter once per
 * dispatch loop (interpreter/mod.ts: the switch loop, and the steps loop
 * that `--jitless` picks), each forced whatever V8's mode.
 */
interface Variant {
  tier: Tier;
  label: string;
  loop?: "switch" | "steps";
}
const VARIANTS: readonly Variant[] = TIERS
  .flatMap((tier): Variant[] =>
    tier === "interpreter"
      ? [
        { tier, label: "interpreter", loop: "switch" },
        { tier, label: "interpreter steps", loop: "steps" },
      ]
      : [{ tier, label: tier === "auto" ? "tier-up" : tier }]
  )
  .filter(({ label }) => ONLY === undefined || ONLY.includes(label));

/** A tier-up threshold from 1 to 96 gas for the test `name` (so tests move at different points). */
function tierUpFor(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x9e3779b1);
  return 1 + ((h >>> 0) % 96);
}

/** Registers one Deno test per tier (and interpreter loop), named `name [tier]`. */
export function tierTest(name: string, fn: (tier: Tier) => void | Promise<void>): void {
  for (const { tier, label, loop } of VARIANTS) {
    Deno.test(`${name} [${label}]`, async () => {
      const savedGas = tierUpDefault.gas;
      const savedLoop = interpreterLoop.kind;
      if (tier === "auto") tierUpDefault.gas = tierUpFor(name);
      if (loop !== undefined) interpreterLoop.kind = loop;
      try {
        await fn(tier);
      } finally {
        tierUpDefault.gas = savedGas;
        interpreterLoop.kind = savedLoop;
      }
    });
  }
}

/**
 * Reads an environment variable, or `undefined` without env permission (the
 * portable suite also runs with no permissions at all).
 */
export function envVar(name: string): string | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  return granted ? Deno.env.get(name) : undefined;
}

/** True when CI demands that tests needing outside tools run rather than skip. */
export const REQUIRE_TOOLS = envVar("RVBOX_REQUIRE_TOOLS") === "1";

/** An outside tool a test needs: a command run with `--version`, or a name and a check. */
export type Tool = string | { name: string; available: () => Promise<boolean>; };

/**
 * Registers a test that needs outside tools: ignored (so the summary counts
 * it as not run) when one is missing, unless `RVBOX_REQUIRE_TOOLS=1` (CI),
 * which makes it fail saying which.
 */
export async function toolTest(
  name: string,
  tools: readonly Tool[],
  fn: () => void | Promise<void>,
): Promise<void> {
  const missing: string[] = [];
  for (const tool of tools) {
    const ok = typeof tool === "string" ? await hasCommand(tool) : await tool.available();
    if (!ok) missing.push(typeof tool === "string" ? tool : tool.name);
  }
  Deno.test({
    name: missing.length === 0 ? name : `${name} (needs ${missing.join(", ")})`,
    ignore: missing.length > 0 && !REQUIRE_TOOLS,
    fn: missing.length === 0 ? fn : () => {
      throw new Error(`${missing.join(", ")} not installed (RVBOX_REQUIRE_TOOLS=1)`);
    },
  });
}

/** Whether `command` can be run (e.g. `qemu-riscv32`). */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(command, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}
