/**
 * The bench's jitless section: the interpreter under `--v8-flags=--jitless`
 * in a child process on every workload, at the small scale `--quick` uses
 * (Ignition runs some 20× slower than V8's JIT). The ratio to native is per
 * guest instruction, against the native binary's time at the default scale
 * over the instructions the JIT-mode interpreter counted there.
 * @module
 */
import { runChild, type Timing } from "./_engines.ts";
import { type Row, textTable } from "./_report.ts";
import type { WorkloadName } from "./guests/build.ts";

/** The engine name of the jitless rows. */
export const JITLESS = "rvbox interpreter rv32imac --jitless";
const JIT_MODE = "rvbox interpreter rv32imac";

/** Runs the jitless rows at `scaleOf(workload)`; `rows` are the execution rows (for the ratios). */
export async function jitless(
  workloads: readonly WorkloadName[],
  scaleOf: (workload: WorkloadName) => number,
  rows: readonly Row[],
): Promise<Row[]> {
  const child = new URL("./_jitless_child.ts", import.meta.url).pathname;
  const result: Row[] = [];
  for (const workload of workloads) {
    const args = [String(scaleOf(workload)), "1", "rv32imac"];
    const out = await runChild([
      "run",
      "--v8-flags=--jitless",
      "--allow-read",
      child,
      workload,
      ...args,
    ]);
    const { times, instructions } = JSON.parse(out) as Timing;
    const ms = times[0];
    const mips = instructions! / ms / 1000;
    const row = (engine: string) =>
      rows.find((r) => r.workload === workload && r.engine === engine);
    const native = row("native clang -O2")?.medianMs;
    const jit = row(JIT_MODE);
    // Native time per guest instruction, from the instructions the interpreter counted at that scale.
    const nativeNsPerInsn = native !== undefined && jit?.mips !== undefined
      ? native / (jit.mips * jit.medianMs! * 1000)
      : undefined;
    result.push({
      workload,
      engine: JITLESS,
      medianMs: ms,
      mips,
      ratio: nativeNsPerInsn === undefined ? undefined : ms / instructions! / nativeNsPerInsn,
    });
  }
  return result;
}

/** The jitless rows as a table, with the JIT-mode interpreter's MIPS beside them. */
export function jitlessTable(jitlessRows: readonly Row[], rows: readonly Row[]): string {
  const lines = jitlessRows.map((r) => {
    const jit = rows.find((x) => x.workload === r.workload && x.engine === JIT_MODE)?.mips;
    return [
      r.workload,
      r.mips!.toFixed(1),
      r.ratio === undefined ? "" : r.ratio.toFixed(0),
      jit === undefined ? "" : (jit / r.mips!).toFixed(1),
    ];
  });
  return textTable(["workload", "MIPS --jitless", "× native", "JIT-mode interpreter ×"], lines);
}
