/**
 * `deno task guests [--check] [name...]`: rebuilds the example guests.
 *
 * For every `examples/<name>/<name>.c` (or only the named examples) it builds
 * `examples/<name>/<name>.rv32em.elf` and `examples/<name>/<name>.rv32imac.elf`
 * with clang-19 and the SDK in `abi/guest/` (`abi/guest/cc.ts`, as `rvbox cc`
 * does): most on the C library with their symbols, the smallest on the SDK
 * alone and stripped. The output is byte-reproducible: no debug info, paths
 * relative to the repository root.
 *
 * `--check` builds into a temporary directory instead and exits 1, listing the
 * files, if a committed binary differs (CI runs this). When clang-19 (or,
 * for the examples on the C library, picolibc or libgcc) is missing,
 * `--check` prints a notice and exits 0, unless the environment sets
 * `RVBOX_REQUIRE_TOOLS=1`.
 *
 * Other scripts reuse {@linkcode compileGuest} to compile their own C files.
 * @module
 */

import {
  CLANG,
  compileGuest as cc,
  findLibc,
  GUEST_ISAS,
  type GuestIsa,
  haveClang,
  ToolchainError,
} from "../abi/guest/cc.ts";
export { CLANG, haveClang } from "../abi/guest/cc.ts";

/** The repository root, where the compiler runs (so no machine paths leak into outputs). */
export const ROOT: URL = new URL("..", import.meta.url);

/** The two instruction-set variants every example is built for, as `-march` values. */
export const ISAS = ["rv32em", "rv32imac"] as const;

/**
 * Examples on the SDK alone (the smallest contracts, stripped); every other
 * example links the C library and keeps its symbols.
 */
const FREESTANDING = new Set(["fib", "heap", "hello", "hostcalls", "kvstore", "sieve"]);

/** How a guest is linked: on the C library or not, with its symbols or not. */
export interface GuestLinking {
  /** Link picolibc and libgcc. Default false (the SDK alone). */
  libc?: boolean;
  /** Keep the symbol table. Default false. */
  symbols?: boolean;
}

/**
 * Compiles and links a guest: `sources` (relative to the repository root, or
 * absolute) plus the SDK, for `march`, into `output` (likewise), with
 * `-std=c11 -Wall -Wextra -O2`. Throws with the compiler's messages if it
 * fails; prints its warnings.
 *
 * @example
 * ```ts
 * import { compileGuest } from "./build.ts";
 * await compileGuest(["bench/loop.c"], "bench/loop.rv32imac.elf", "rv32imac", ["-DN=1000"]);
 * ```
 */
export async function compileGuest(
  sources: string[],
  output: string,
  march: string,
  extraFlags: string[] = [],
  linking: GuestLinking = {},
): Promise<void> {
  if (!GUEST_ISAS.includes(march as GuestIsa)) throw new RangeError(`unknown ISA ${march}`);
  const warnings = await cc({
    sources,
    output,
    isa: march as GuestIsa,
    libc: linking.libc ?? false,
    strip: !linking.symbols,
    flags: ["-std=c11", "-Wall", "-Wextra", ...extraFlags],
    cwd: ROOT,
  });
  if (warnings !== "") console.error(warnings);
}

/** How the example `name` is linked. */
export function exampleLinking(name: string): GuestLinking {
  return FREESTANDING.has(name) ? {} : { libc: true, symbols: true };
}

/** The names of all examples: directories `examples/<name>/` holding `<name>.c`. */
export function exampleNames(): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(new URL(".", import.meta.url))) {
    if (!entry.isDirectory) continue;
    try {
      Deno.statSync(new URL(`./${entry.name}/${entry.name}.c`, import.meta.url));
      names.push(entry.name);
    } catch {
      // not an example
    }
  }
  return names.sort();
}

/** What building the examples `names` needs and this machine lacks, or undefined. */
async function missingTools(names: string[]): Promise<string | undefined> {
  if (!(await haveClang())) return `${CLANG} not found (install Debian's clang-19 and lld-19)`;
  if (!names.some((name) => exampleLinking(name).libc)) return undefined;
  try {
    for (const isa of ISAS) findLibc(isa);
  } catch (e) {
    if (e instanceof ToolchainError) return e.message;
    throw e;
  }
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const requested = args.filter((a) => !a.startsWith("--"));
  const all = exampleNames();
  const unknown = requested.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown example(s): ${unknown.join(", ")} (have: ${all.join(", ")})`);
    return 1;
  }
  const names = requested.length > 0 ? requested : all;
  const missing = await missingTools(names);
  if (missing !== undefined) {
    const required = Deno.env.get("RVBOX_REQUIRE_TOOLS") === "1";
    console.error(
      `SKIPPED guest build: ${missing}`
        + (required ? "; RVBOX_REQUIRE_TOOLS=1 makes this an error" : ""),
    );
    return check && !required ? 0 : 1;
  }
  const outDir = check ? await Deno.makeTempDir({ prefix: "rvbox-guests-" }) : undefined;
  try {
    const jobs = names.flatMap((name) =>
      ISAS.map((isa) => {
        const file = `examples/${name}/${name}.${isa}.elf`;
        const output = outDir ? `${outDir}/${name}.${isa}.elf` : file;
        const source = `examples/${name}/${name}.c`;
        return {
          file,
          output,
          done: compileGuest([source], output, isa, [], exampleLinking(name)),
        };
      })
    );
    const results = await Promise.allSettled(jobs.map((j) => j.done));
    const failures = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
    if (failures.length > 0) {
      for (const error of failures) console.error(error instanceof Error ? error.message : error);
      return 1;
    }
    if (!outDir) {
      for (const j of jobs) {
        console.log(`built ${j.file} (${Deno.statSync(new URL(j.file, ROOT)).size} bytes)`);
      }
      return 0;
    }
    const differing = jobs.filter((j) => !sameFile(new URL(j.file, ROOT), j.output));
    if (differing.length > 0) {
      console.error("committed guest binaries differ from a fresh build (run `deno task guests`):");
      for (const j of differing) console.error(`  ${j.file}`);
      return 1;
    }
    console.log(`${jobs.length} guest binaries match a fresh build`);
    return 0;
  } finally {
    if (outDir) await Deno.remove(outDir, { recursive: true });
  }
}

function sameFile(a: URL, b: string): boolean {
  let x: Uint8Array;
  try {
    x = Deno.readFileSync(a);
  } catch {
    return false;
  }
  const y = Deno.readFileSync(b);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
