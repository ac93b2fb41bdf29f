/**
 * Runs TypeScript in a child Deno process, for tests whose failure mode is
 * a crash (a signal, an abort) or that need V8 flags such as
 * `--expose-gc`. The code may import this checkout through `MOD` and
 * `GUEST` (URLs of mod.ts and tests/_guest.ts); it reports by printing one
 * JSON line last.
 */
import { assertEquals } from "@std/assert";

const MOD = new URL("../mod.ts", import.meta.url).href;
const GUEST = new URL("./_guest.ts", import.meta.url).href;

/** How the child ended and what it printed last (parsed as JSON). */
export interface ChildResult<T> {
  /** Exit code (a signal shows as 128 + its number in `code`, and in `signal`). */
  code: number;
  signal: Deno.Signal | null;
  /** The last line of standard output, parsed. */
  report: T;
  stderr: string;
}

/** Runs `code` with all permissions (and `gc()` when `exposeGc`); waits for it to exit. */
export async function runChild<T>(code: string, exposeGc = false): Promise<ChildResult<T>> {
  const source = `const MOD = ${JSON.stringify(MOD)}; const GUEST = ${
    JSON.stringify(GUEST)
  };\n${code}`;
  const args = ["eval", ...(exposeGc ? ["--v8-flags=--expose-gc"] : []), source];
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const stderr = new TextDecoder().decode(out.stderr);
  const last = stdout.split("\n").pop() ?? "";
  let report: T;
  try {
    report = JSON.parse(last);
  } catch {
    report = undefined as T;
  }
  return { code: out.code, signal: out.signal, report, stderr };
}

/** Asserts that the child exited normally, showing its standard error otherwise. */
export function assertClean(result: ChildResult<unknown>): void {
  assertEquals(
    { code: result.code, signal: result.signal },
    { code: 0, signal: null },
    `the child process failed:\n${result.stderr}`,
  );
}
