/**
 * `deno task bench`: runs the example guests on every tier available here
 * (interpreter; native when FFI is granted on x86-64 Linux) and the same C
 * compiled natively with clang-19 -O2, and prints wall time, guest
 * instructions per second (MIPS), the ratio to native, load and translation
 * speed, and the host-call round trip. `--quick` runs each workload once (CI
 * uses it to prove the harness works; it asserts nothing about time).
 *
 * Instructions are counted as gas used: every instruction costs 1 gas.
 * @module
 */
import { nativeSupport } from "../jit/mod.ts";
import { translate } from "../jit/translate.ts";
import { X64Backend } from "../jit/x64/backend.ts";
import { type Imports, Program, type Tier } from "../mod.ts";
import { buildNative, runNative } from "./_native.ts";

interface Workload {
  name: string;
  imports?: Imports;
  /** Host calls one run makes (for the per-call cost). */
  hostCalls?: number;
}

const WORKLOADS: Workload[] = [
  { name: "fib" },
  { name: "sieve" },
  { name: "heap" },
  { name: "hostcalls", imports: { host_add: (_ctx, a, b) => (a + b) | 0 }, hostCalls: 1_000_000 },
];
const ISAS = ["rv32em", "rv32imac"];

interface Stats {
  median: number;
  min: number;
  max: number;
}

interface Row {
  workload: string;
  isa: string;
  engine: string;
  runMs: Stats;
  instructions?: number;
  mips?: number;
  /** Run time over the native binary's. */
  ratio?: number;
  loadMs?: number;
  /** Guest code bytes translated per second (native tier). */
  translateMBps?: number;
  instantiateMs?: number;
  hostCallNs?: number;
  skipped?: string;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1], min: sorted[0], max: sorted[sorted.length - 1] };
}

function measureTier(w: Workload, isa: string, tier: Exclude<Tier, "auto">, runs: number): Row {
  const bytes = Deno.readFileSync(
    new URL(`../examples/${w.name}/${w.name}.${isa}.elf`, import.meta.url),
  );
  let t = performance.now();
  const program = Program.fromBytes(bytes);
  const loadMs = performance.now() - t;
  const gas = 1e12;
  const samples: number[] = [];
  let instructions = 0;
  let instantiateMs = 0;
  for (let i = 0; i < runs + 1; i++) { // the first run warms up
    t = performance.now();
    const instance = program.instantiate(w.imports ?? {}, { gas, print: () => {}, tier });
    if (i === 0) instantiateMs = performance.now() - t;
    t = performance.now();
    const exitCode = instance.run();
    if (i > 0) samples.push(performance.now() - t);
    instructions = gas - instance.gas;
    instance.dispose();
    if (exitCode !== 0) {
      throw new Error(`${w.name} (${isa}, ${tier}) failed its self-check: exit ${exitCode}`);
    }
  }
  const runMs = stats(samples);
  const row: Row = {
    workload: w.name,
    isa,
    engine: tier,
    runMs,
    instructions,
    mips: instructions / runMs.median / 1000,
    loadMs,
    instantiateMs,
  };
  if (w.hostCalls) row.hostCallNs = (runMs.median * 1e6) / w.hostCalls;
  if (tier === "native") {
    // Translation alone (instantiation includes it once, cold); the median of warm runs.
    const code = program.image.code;
    const times = [];
    for (let i = 0; i < 9; i++) {
      t = performance.now();
      translate(code, new X64Backend(code));
      times.push(performance.now() - t);
    }
    row.translateMBps = (code.end - code.start) / (stats(times).median * 1000);
  }
  return row;
}

async function measureNative(w: Workload, runs: number): Promise<Row> {
  const row: Row = { workload: w.name, isa: "x86-64", engine: "clang -O2", runMs: stats([NaN]) };
  if (w.imports) return { ...row, skipped: "needs host functions" };
  const { path, skipped } = await buildNative(w.name);
  if (!path) return { ...row, skipped };
  await runNative(path);
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await runNative(path));
  return { ...row, runMs: stats(samples) };
}

const fixed = (v: number | undefined, digits = 1) => (v === undefined ? "" : v.toFixed(digits));

function table(rows: Row[]): string {
  const header = [
    "workload",
    "isa",
    "engine",
    "run ms (min-max)",
    "MIPS",
    "x native",
    "load ms",
    "translate MB/s",
    "host call ns",
  ];
  const lines = rows.map((r) => [
    r.workload,
    r.isa,
    r.engine,
    r.skipped
      ? `skipped: ${r.skipped}`
      : `${fixed(r.runMs.median)} (${fixed(r.runMs.min)}-${fixed(r.runMs.max)})`,
    fixed(r.mips, 0),
    fixed(r.ratio, 2),
    fixed(r.loadMs, 2),
    fixed(r.translateMBps, 0),
    fixed(r.hostCallNs, 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd())
    .join("\n");
} // dprint-ignore

function cpuModel(): string {
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    return /model name\s*:\s*(.*)/.exec(info)?.[1] ?? Deno.build.arch;
  } catch {
    return Deno.build.arch;
  }
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const runs = quick ? 1 : 5;
  const support = nativeSupport();
  const tiers: Exclude<Tier, "auto">[] = support.ok ? ["interpreter", "native"] : ["interpreter"];
  if (!support.ok) console.log(`native tier skipped: ${support.reason}`);
  const rows: Row[] = [];
  for (const w of WORKLOADS) {
    const native = await measureNative(w, runs);
    rows.push(native);
    for (const isa of ISAS) {
      for (const tier of tiers) {
        const row = measureTier(w, isa, tier, runs);
        if (!native.skipped) row.ratio = row.runMs.median / native.runMs.median;
        rows.push(row);
      }
    }
  }
  console.log(table(rows));
  const machine =
    `${cpuModel()}, ${navigator.hardwareConcurrency} cores, ${Deno.build.os}, Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`;
  console.log(`\n${machine}`);
  if (!quick) {
    await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
    const out = new URL("./results/latest.json", import.meta.url);
    await Deno.writeTextFile(
      out,
      JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2) + "\n",
    );
    console.log("wrote bench/results/latest.json");
  }
}
