/**
 * The engines the benchmark compares, each running a workload's
 * `run(scale)` and timing it: rvbox's tiers and V8's WebAssembly in this
 * process, V8's baseline compiler (Liftoff only) in a child process, the
 * native binary and qemu-riscv32 as child processes.
 * @module
 */
import { nativeSupport } from "../jit/mod.ts";
import { wasmSupport } from "../wasm/mod.ts";
import { measureRvbox, measureWasm, type Timing } from "./_measure.ts";
import { buildNative, buildQemu, type WorkloadName } from "./guests/build.ts";

/** One engine. `prepare` returns a reason to skip it, or undefined. */
export interface Engine {
  readonly name: string;
  prepare(quick: boolean): Promise<string | undefined>;
  measure(workload: WorkloadName, scale: number, runs: number): Promise<Timing>;
}

const guestUrl = (name: string, ext: string) => new URL(`./guests/${name}.${ext}`, import.meta.url);

/** Reads a committed guest (`rv32em.elf`, `rv32imac.elf` or `wasm`). */
export function guestBytes(name: WorkloadName, ext: string): Uint8Array<ArrayBuffer> {
  return Deno.readFileSync(guestUrl(name, ext));
}

/** An rvbox tier on one ISA. */
export function rvboxEngine(
  tier: "interpreter" | "wasm" | "native",
  isa: "rv32em" | "rv32imac",
): Engine {
  const name = `rvbox ${tier} ${isa}`;
  return {
    name,
    prepare() {
      if (tier === "native" && !nativeSupport().ok) return Promise.resolve(nativeSupport().reason);
      if (tier === "wasm" && !wasmSupport().ok) return Promise.resolve(wasmSupport().reason);
      return Promise.resolve(undefined);
    },
    measure(workload, scale, runs) {
      const bytes = guestBytes(workload, `${isa}.elf`);
      return Promise.resolve(measureRvbox(bytes, tier, scale, runs, `${name} ${workload}`));
    },
  };
}

/** V8's WebAssembly with its default tiering, in this process. */
export const wasmEngine: Engine = {
  name: "V8 wasm",
  prepare: () => Promise.resolve(undefined),
  measure(workload, scale, runs) {
    return measureWasm(guestBytes(workload, "wasm"), scale, runs, `V8 wasm ${workload}`);
  },
};

export type { Timing } from "./_measure.ts";

/** Runs `deno` with `args`; its standard output, or throws with its standard error. */
export async function runChild(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  if (!out.success) throw new Error(`child ${args.join(" ")} failed: ${text.decode(out.stderr)}`);
  return text.decode(out.stdout);
}

/** V8's WebAssembly baseline compiler only (`--liftoff-only`), in a child process. */
export const liftoffEngine: Engine = {
  name: "V8 wasm liftoff",
  prepare: () => Promise.resolve(undefined),
  async measure(workload, scale, runs) {
    const child = new URL("./_wasm_child.ts", import.meta.url).pathname;
    const out = await runChild([
      "run",
      "--v8-flags=--liftoff-only,--no-wasm-tier-up",
      "--allow-read",
      child,
      "measure",
      workload,
      String(scale),
      String(runs),
    ]); // dprint-ignore
    return JSON.parse(out) as Timing;
  },
};

async function hasCommand(command: string): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

/** A program run as a child process; its wall time includes process start-up. */
function processEngine(
  name: string,
  build: (workload: WorkloadName, scale: number) => Promise<{ path?: string; skipped?: string; }>,
  launcher?: string,
): Engine {
  const built = new Map<string, { path?: string; skipped?: string; }>();
  return {
    name,
    async prepare() {
      if (launcher && !(await hasCommand(launcher))) return `${launcher} is not installed`;
      const probe = await build("fib", 1);
      return probe.skipped;
    },
    async measure(workload, scale, runs) {
      const key = `${workload}-${scale}`;
      if (!built.has(key)) built.set(key, await build(workload, scale));
      const { path, skipped } = built.get(key)!;
      if (!path) throw new Error(skipped);
      const times: number[] = [];
      for (let k = 0; k <= runs; k++) {
        const command = launcher ?? path;
        const t = performance.now();
        const out = await new Deno.Command(command, {
          args: launcher ? [path] : [],
          stdout: "null",
          stderr: "null",
        }).output();
        const ms = performance.now() - t;
        if (out.code !== 0) throw new Error(`${workload} failed its self-check on ${name}`);
        if (k > 0) times.push(ms);
      }
      return { times };
    },
  };
}

/** The same C compiled by clang-19 -O2 for x86-64: the physical limit. */
export const nativeEngine: Engine = processEngine("native clang -O2", buildNative);
/** qemu-riscv32 (Debian's qemu-user) on the workload built as a Linux riscv32 program. */
export const qemuEngine: Engine = processEngine("qemu-riscv32", buildQemu, "qemu-riscv32");
