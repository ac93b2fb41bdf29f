/**
 * The whole cycle as a user feels it: the contract workload's bytes → the
 * result of one small call, in a fresh process (rvbox's import included) and
 * in a warm one that has served other programs. Each figure is the median
 * of child processes, the engines interleaved so that machine load falls on
 * all of them alike.
 * @module
 */
import { nativeSupport } from "../jit/mod.ts";

/** Medians over the child processes, ms. */
export interface WholeCycle {
  /** Importing rvbox's bundle in a fresh process (0 for V8's built-in WebAssembly). */
  importMs: number;
  /** Importing rvbox's source entry point instead (portable.ts or mod.ts; 0 for V8). */
  importSourceMs: number;
  /** Bytes → result in a fresh process, after the import. */
  freshMs: number;
  /** Bytes → result in a warm process that has served other programs. */
  warmMs: number;
}

const CHILD = new URL("./_whole_cycle_child.ts", import.meta.url).pathname;

const ENGINES: Record<string, { args: string[]; engine: string; }> = {
  "rvbox interpreter": { args: ["--allow-read"], engine: "interpreter" },
  "rvbox native": { args: ["--allow-read", "--allow-ffi"], engine: "native" },
  // The default: the interpreter first, native code once the program is hot (tier-up).
  "rvbox auto": { args: ["--allow-read", "--allow-ffi"], engine: "auto" },
  "rvbox wasm": { args: ["--allow-read"], engine: "rvbox-wasm" },
  // Without FFI permission the default tiers up to the wasm tier.
  "rvbox auto (no FFI)": { args: ["--allow-read"], engine: "auto" },
  "V8 wasm": { args: ["--allow-read"], engine: "wasm" },
  "V8 wasm liftoff": {
    args: ["--allow-read", "--v8-flags=--liftoff-only,--no-wasm-tier-up"],
    engine: "wasm",
  },
};

async function child(args: string[], engine: string, mode: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...args, CHILD, engine, mode],
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error(`whole-cycle child ${engine} ${mode} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout)) as { importMs: number; cycleMs: number; };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];

/** Runs `rounds` child processes per engine and mode. */
export async function wholeCycles(rounds: number): Promise<Record<string, WholeCycle | string>> {
  const engines = Object.entries(ENGINES).filter(([name]) =>
    !name.startsWith("rvbox native") && name !== "rvbox auto" || nativeSupport().ok
  );
  const samples = new Map(
    engines.map((
      [name],
    ) => [name, {
      imp: [] as number[],
      src: [] as number[],
      fresh: [] as number[],
      warm: [] as number[],
    }]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const [name, { args, engine }] of engines) {
      const s = samples.get(name)!;
      const fresh = await child(args, engine, "fresh");
      const warm = await child(args, engine, "warm");
      const source = engine === "wasm" ? fresh : await child(args, engine, "import-source");
      s.src.push(source.importMs);
      s.imp.push(fresh.importMs);
      s.fresh.push(fresh.cycleMs);
      s.warm.push(warm.cycleMs);
    }
  }
  const result: Record<string, WholeCycle | string> = {};
  for (const name of Object.keys(ENGINES)) {
    const s = samples.get(name);
    result[name] = s
      ? {
        importMs: median(s.imp),
        importSourceMs: median(s.src),
        freshMs: median(s.fresh),
        warmMs: median(s.warm),
      }
      : `skipped: ${nativeSupport().reason}`;
  }
  return result;
}
