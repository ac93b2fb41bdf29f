/**
 * The test matrix: every behavioural test runs once per tier through
 * `tierTest`, so a new tier joins every suite by being added here.
 * @module
 */
import { nativeSupport } from "../jit/mod.ts";
import type { Tier } from "../mod.ts";

const native = nativeSupport();

/**
 * Tiers that run on this machine, in the order tests run them: the native
 * tier joins when the platform has a backend and FFI is granted.
 */
export const TIERS: readonly Exclude<Tier, "auto">[] = native.ok
  ? ["interpreter", "native"]
  : ["interpreter"];

/** Registers one Deno test per tier, named `name [tier]`. */
export function tierTest(
  name: string,
  fn: (tier: Exclude<Tier, "auto">) => void | Promise<void>,
): void {
  for (const tier of TIERS) {
    Deno.test(`${name} [${tier}]`, () => fn(tier));
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

/**
 * Reports a missing outside tool: a visible skip locally, a failure when
 * `RVBOX_REQUIRE_TOOLS=1` (CI).
 */
export function missingTool(tool: string, what: string): void {
  const message = `SKIPPED ${what}: ${tool} is not installed`;
  if (REQUIRE_TOOLS) throw new Error(`${message} (RVBOX_REQUIRE_TOOLS=1)`);
  console.warn(message);
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
