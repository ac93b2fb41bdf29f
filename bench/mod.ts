/**
 * `deno task bench`: runs the example guests on every available tier and
 * prints guest instructions per second (MIPS) with load and instantiate
 * costs. `--quick` runs each workload once (CI uses it to prove the harness
 * works; it asserts nothing about time).
 *
 * Instructions are counted as gas used: every instruction costs 1 gas.
 * @module
 */
import { type Imports, Program } from "../mod.ts";

interface Workload {
  name: string;
  file: string;
  imports?: Imports;
}

const WORKLOADS: Workload[] = [
  { name: "fib", file: "fib/fib" },
  { name: "sieve", file: "sieve/sieve" },
  { name: "heap", file: "heap/heap" },
  {
    name: "hostcalls",
    file: "hostcalls/hostcalls",
    imports: { host_add: (_ctx, a, b) => (a + b) | 0 },
  },
];

const ISAS = ["rv32em", "rv32imac"];

interface Row {
  workload: string;
  isa: string;
  tier: string;
  loadMs: number;
  instantiateMs: number;
  runMs: { median: number; min: number; max: number; };
  instructions: number;
  mips: number;
  exitCode: number;
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1], min: sorted[0], max: sorted[sorted.length - 1] };
}

function measure(workload: Workload, isa: string, runs: number): Row {
  const path = new URL(`../examples/${workload.file}.${isa}.elf`, import.meta.url);
  const bytes = Deno.readFileSync(path);
  let t = performance.now();
  const program = Program.fromBytes(bytes);
  const loadMs = performance.now() - t;
  const gas = 1e12;
  const samples: number[] = [];
  let instructions = 0;
  let exitCode = 0;
  let instantiateMs = 0;
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    const instance = program.instantiate(workload.imports ?? {}, { gas, print: () => {} });
    instantiateMs = performance.now() - t;
    t = performance.now();
    exitCode = instance.run();
    samples.push(performance.now() - t);
    instructions = gas - instance.gas;
    if (exitCode !== 0) {
      throw new Error(`${workload.name} (${isa}) failed its self-check: exit ${exitCode}`);
    }
  }
  const runMs = stats(samples);
  return {
    workload: workload.name,
    isa,
    tier: "interpreter",
    loadMs,
    instantiateMs,
    runMs,
    instructions,
    mips: instructions / runMs.median / 1000,
    exitCode,
  };
}

function table(rows: Row[]): string {
  const header = ["workload", "isa", "tier", "instructions", "run ms (min-max)", "MIPS", "load ms"];
  const lines = rows.map((r) => [
    r.workload,
    r.isa,
    r.tier,
    String(r.instructions),
    `${r.runMs.median.toFixed(1)} (${r.runMs.min.toFixed(1)}-${r.runMs.max.toFixed(1)})`,
    r.mips.toFixed(1),
    r.loadMs.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i])).join("  ")).join("\n");
}

if (import.meta.main) {
  const quick = Deno.args.includes("--quick");
  const runs = quick ? 1 : 5;
  const rows: Row[] = [];
  for (const workload of WORKLOADS) {
    for (const isa of ISAS) rows.push(measure(workload, isa, runs));
  }
  console.log(table(rows));
  if (!quick) {
    const out = new URL("./results/interpreter.json", import.meta.url);
    await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
    const machine = `${Deno.build.os}-${Deno.build.arch}, Deno ${Deno.version.deno}`;
    await Deno.writeTextFile(out, JSON.stringify({ machine, rows }, null, 2) + "\n");
    console.log(`\nwrote bench/results/interpreter.json (${machine})`);
  }
}
