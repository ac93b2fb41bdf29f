/**
 * `deno task bench`: every workload in `bench/guests/` on every engine
 * available here, in one run: rvbox's interpreter, wasm and native tiers
 * (both ISAs), V8's WebAssembly (default tiering, and Liftoff only in a child
 * process), the same C compiled natively by clang-19 -O2 (the physical
 * limit) and qemu-riscv32; then rvbox's wasm tier and Chromium's own
 * WebAssembly in headless Chromium (bench/_browser.ts). Prints execution
 * times, MIPS and ratios to native with their geometric means, then the
 * whole cycle around execution (load, translate, instantiate + call, host
 * calls). Writes `bench/results/latest.json` and `bench/results/ratios.svg`.
 *
 * `--quick` (CI) runs tiny inputs once to prove the harness works; it writes
 * no results and asserts nothing about time. Every run fails if a workload's
 * self-check fails on any engine.
 * @module
 */
import * as esbuild from "npm:esbuild@0.28.2";
import { nativeSupport } from "../jit/mod.ts";
import { wasmSupport } from "../wasm/mod.ts";
import { browserBench } from "./_browser.ts";
import type { BrowserOutput } from "./_browser_page.ts";
import { type Cycle, rvboxCycle, wasmCycle } from "./_cycle.ts";
import { type Engine, guestBytes, liftoffEngine, nativeEngine, qemuEngine } from "./_engines.ts";
import { rvboxEngine, wasmEngine } from "./_engines.ts";
import { JITLESS, jitless, jitlessTable } from "./_jitless.ts";
import { executionTable, geomeans, ratioChart, type Row, textTable } from "./_report.ts";
import { type WholeCycle, wholeCycles } from "./_whole_cycle.ts";
import { type WorkloadName, WORKLOADS } from "./guests/build.ts";

/** `run(scale)` for each workload: [quick, default] (default: ~0.1-0.2 s in the interpreter). */
const SCALES: Record<WorkloadName, [number, number]> = {
  cpu6502: [1, 12],
  sha256: [1, 2],
  sieve: [1, 5],
  sort: [1, 1],
  fib: [10, 160],
  tokenize: [1, 6],
  memops: [1, 4],
  contract: [10, 1000],
  utf8: [1, 10],
  list: [1, 8],
  matrix: [4, 128],
  crc: [1, 7],
};

const ENGINES: Engine[] = [
  nativeEngine,
  rvboxEngine("native", "rv32em"),
  rvboxEngine("native", "rv32imac"),
  rvboxEngine("wasm", "rv32em"),
  rvboxEngine("wasm", "rv32imac"),
  rvboxEngine("interpreter", "rv32em"),
  rvboxEngine("interpreter", "rv32imac"),
  wasmEngine,
  liftoffEngine,
  qemuEngine,
];

async function machine(): Promise<string> {
  let cpu = Deno.build.arch as string;
  try {
    // Deno guards /proc with --allow-all; reading it through a child needs only --allow-run.
    const out = await new Deno.Command("cat", { args: ["/proc/cpuinfo"], stdout: "piped" })
      .output();
    cpu = /model name\s*:\s*(.*)/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return `${cpu}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}, Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`;
}

async function execution(quick: boolean): Promise<Row[]> {
  const runs = quick ? 1 : 5;
  const skipped = new Map<Engine, string | undefined>();
  for (const e of ENGINES) skipped.set(e, await e.prepare(quick));
  const rows: Row[] = [];
  for (const workload of WORKLOADS) {
    const scale = SCALES[workload][quick ? 0 : 1];
    let nativeMs: number | undefined;
    for (const engine of ENGINES) {
      const reason = skipped.get(engine);
      if (reason) {
        rows.push({ workload, engine: engine.name, skipped: reason });
        continue;
      }
      const { times, instructions } = await engine.measure(workload, scale, runs);
      const sorted = [...times].sort((a, b) => a - b);
      const medianMs = sorted[sorted.length >> 1];
      if (engine === nativeEngine) nativeMs = medianMs;
      rows.push({
        workload,
        engine: engine.name,
        medianMs,
        minMs: sorted[0],
        maxMs: sorted[sorted.length - 1],
        mips: instructions === undefined ? undefined : instructions / medianMs / 1000,
        ratio: nativeMs === undefined ? undefined : medianMs / nativeMs,
      });
    }
  }
  return rows;
}

/** Suffix of the engines measured in headless Chromium. */
const IN_CHROMIUM = " (Chromium)";

/**
 * The workloads in headless Chromium (rvbox's wasm tier, Chromium's
 * WebAssembly), as rows beside this run's (ratios to its native times), and
 * their cycle figures; or why not.
 */
async function chromium(quick: boolean, rows: Row[]): Promise<
  { rows: Row[]; cycles: Record<string, Cycle>; userAgent: string; } | string
> {
  // The contract last: the cycle's figures are its. `--quick` proves the harness with two.
  const names = quick ? ["fib", "contract"] as const : [
    ...WORKLOADS.filter((w) => w !== "contract"),
    "contract" as const,
  ];
  const workloads = names.map((name) => ({ name, scale: SCALES[name][quick ? 0 : 1] }));
  const output: BrowserOutput | string = await browserBench({
    workloads,
    runs: quick ? 1 : 5,
    quick,
  });
  if (typeof output === "string") return output;
  const browserRows: Row[] = [];
  for (const { name } of workloads) {
    const nativeMs = rows.find((r) => r.workload === name && r.engine === nativeEngine.name)
      ?.medianMs;
    for (const [engine, timings] of Object.entries(output.timings)) {
      const { times, instructions } = timings[name];
      const sorted = [...times].sort((a, b) => a - b);
      const medianMs = sorted[sorted.length >> 1];
      browserRows.push({
        workload: name,
        engine: engine + IN_CHROMIUM,
        medianMs,
        minMs: sorted[0],
        maxMs: sorted[sorted.length - 1],
        mips: instructions === undefined ? undefined : instructions / medianMs / 1000,
        ratio: nativeMs === undefined ? undefined : medianMs / nativeMs,
      });
    }
  }
  const cycles = Object.fromEntries(
    Object.entries(output.cycles).map(([engine, c]) => [engine + IN_CHROMIUM, c]),
  );
  return { rows: browserRows, cycles, userAgent: output.userAgent };
}

/** `rows` with `more` after each workload's own. */
function interleave(rows: Row[], more: Row[]): Row[] {
  return WORKLOADS.flatMap((w) => [
    ...rows.filter((r) => r.workload === w),
    ...more.filter((r) => r.workload === w),
  ]);
}

async function cycle(quick: boolean): Promise<Record<string, Cycle | string>> {
  const elves = WORKLOADS.map((w) => guestBytes(w, "rv32imac.elf"));
  const contract = elves[WORKLOADS.indexOf("contract")]; // the same array: rvboxCycle tells it apart
  const result: Record<string, Cycle | string> = {
    "rvbox interpreter rv32imac": rvboxCycle("interpreter", elves, contract, quick),
  };
  result["rvbox wasm rv32imac"] = wasmSupport().ok
    ? rvboxCycle("wasm", elves, contract, quick)
    : `skipped: ${wasmSupport().reason}`;
  const support = nativeSupport();
  result["rvbox native rv32imac"] = support.ok
    ? rvboxCycle("native", elves, contract, quick)
    : `skipped: ${support.reason}`;
  // The same programs as RV32E: 4 bytes per instruction, where the compressed builds average 2.9.
  const elvesE = WORKLOADS.map((w) => guestBytes(w, "rv32em.elf"));
  result["rvbox native rv32em"] = support.ok
    ? rvboxCycle("native", elvesE, elvesE[WORKLOADS.indexOf("contract")], quick)
    : `skipped: ${support.reason}`;
  Object.assign(result, await nodeCycle(quick));
  result["V8 wasm"] = await wasmCycle(WORKLOADS.map((w) => guestBytes(w, "wasm")), quick);
  const child = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--liftoff-only,--no-wasm-tier-up",
      "--allow-read",
      "--allow-ffi", // the thread's CPU clock (bench/_clock.ts)
      new URL("./_wasm_child.ts", import.meta.url).pathname,
      "cycle",
    ],
    stdout: "piped",
  }).output();
  result["V8 wasm liftoff"] = child.success
    ? JSON.parse(new TextDecoder().decode(child.stdout))
    : "skipped: the child process failed";
  return result;
}

/** The RV32IMAC rows again under Node (bench/_node_child.ts), the native tier through koffi. */
async function nodeCycle(quick: boolean): Promise<Record<string, Cycle | string>> {
  const rows = ["rvbox interpreter rv32imac (Node)", "rvbox native rv32imac (Node, koffi)"];
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/node_child.mjs`;
    await esbuild.build({
      entryPoints: [new URL("./_node_child.ts", import.meta.url).pathname],
      outfile: script,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "warning",
    });
    await esbuild.stop();
    const paths = WORKLOADS.map((w) =>
      new URL(`./guests/${w}.rv32imac.elf`, import.meta.url).pathname
    );
    const tools = new URL("../.ci/tools/node_modules", import.meta.url).pathname;
    const child = await new Deno.Command("node", {
      args: [script, quick ? "quick" : "full", String(WORKLOADS.indexOf("contract")), ...paths],
      env: { NODE_PATH: tools },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!child.success) throw new Error(new TextDecoder().decode(child.stderr));
    const { interpreter, native } = JSON.parse(new TextDecoder().decode(child.stdout));
    return { [rows[0]]: interpreter, [rows[1]]: native };
  } catch (error) {
    const why = `skipped: ${(error as Error).message.split("\n")[0]}`;
    return { [rows[0]]: why, [rows[1]]: why };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function cycleTable(cycles: Record<string, Cycle | string>): string {
  const f = (v: number | undefined, d = 1) => (v === undefined ? "" : v.toFixed(d));
  return textTable(
    [
      "engine",
      "load MB/s",
      "translate MB/s",
      "compute only",
      "1st translate MB/s",
      "instantiate+call µs",
      "reload+call µs",
      "call ns",
      "host call ns",
      "per-call clock", // bench/_clock.ts: thread CPU time where the host gives it
    ],
    Object.entries(cycles).map(([engine, c]) =>
      typeof c === "string"
        ? [engine, c]
        : [
          engine,
          f(c.loadMBps),
          f(c.translateMBps),
          f(c.computeTranslateMBps),
          f(c.firstTranslateMBps),
          f(c.instantiateCallUs),
          f(c.reloadCallUs),
          f(c.callNs, 0),
          f(c.hostCallNs, 0),
          c.clock ?? "",
        ]
    ),
  );
}

function wholeCycleTable(cycles: Record<string, WholeCycle | string>): string {
  return "whole cycle, contract bytes → result of one small call (ms, medians of child processes;\n"
    + "rvbox imported from its bundles, dist/*.min.js)\n"
    + textTable(
      [
        "engine",
        "import (sources)",
        "import (bundle)",
        "fresh process",
        "import + fresh",
        "warm process",
      ],
      Object.entries(cycles).map(([engine, c]) =>
        typeof c === "string" ? [engine, c] : [
          engine,
          c.importSourceMs.toFixed(1),
          c.importMs.toFixed(1),
          c.freshMs.toFixed(1),
          (c.importMs + c.freshMs).toFixed(1),
          c.warmMs.toFixed(2),
        ]
      ),
    );
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  let rows = await execution(quick);
  const browser = await chromium(quick, rows);
  if (typeof browser !== "string") rows = interleave(rows, browser.rows);
  console.log(executionTable(rows));
  const means = geomeans(rows);
  console.log(
    `\ngeometric mean of the ratio to native: ${
      [...means].map(([e, m]) => `${e} ${m.toFixed(2)}`).join(", ")
    }`,
  );
  // Under --jitless at the scale of --quick; --quick itself runs the two examples of the issue.
  const jitlessWorkloads = quick ? (["sieve", "fib"] as const) : WORKLOADS;
  const jitlessRows = await jitless(jitlessWorkloads, (w) => SCALES[w][0], rows);
  console.log(`\nthe interpreter under --jitless (V8's Ignition only; run(scale) of --quick):`);
  console.log(jitlessTable(jitlessRows, rows));
  console.log(
    `geometric mean of the ratio to native: ${geomeans(jitlessRows).get(JITLESS)?.toFixed(0)}`,
  );
  const cycles = await cycle(quick);
  if (typeof browser === "string") {
    cycles[`rvbox wasm rv32imac${IN_CHROMIUM}`] = browser;
  } else Object.assign(cycles, browser.cycles);
  console.log(`\n${cycleTable(cycles)}`);
  const whole = await wholeCycles(quick ? 1 : 5);
  console.log(`\n${wholeCycleTable(whole)}`);
  const where = await machine();
  console.log(`\n${where}`);
  if (typeof browser !== "string") console.log(`Chromium: ${browser.userAgent}`);
  if (!quick) {
    const dir = new URL("./results/", import.meta.url);
    await Deno.mkdir(dir, { recursive: true });
    const record = {
      machine: where,
      chromium: typeof browser === "string" ? browser : browser.userAgent,
      date: new Date().toISOString(),
      scales: SCALES,
      rows,
      geomeans: Object.fromEntries(means),
      jitless: jitlessRows,
      jitlessGeomean: geomeans(jitlessRows).get(JITLESS),
      cycles,
      wholeCycles: whole,
    };
    await Deno.writeTextFile(new URL("latest.json", dir), JSON.stringify(record, null, 2) + "\n");
    const title = `Time relative to native clang -O2 (lower is better; log scale) — ${where}`;
    await Deno.writeTextFile(
      new URL("ratios.svg", dir),
      ratioChart(
        rows,
        [...ENGINES.map((e) => e.name), ...ENGINES.map((e) => e.name + IN_CHROMIUM)],
        title,
      ),
    );
    console.log("wrote bench/results/latest.json and bench/results/ratios.svg");
  }
}
