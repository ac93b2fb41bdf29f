/**
 * `deno task guests [--check] [name...]`: rebuilds the example guests.
 *
 * For every `examples/<name>/<name>.c` (or only the named examples) it builds
 * `examples/<name>/<name>.rv32em.elf` and `examples/<name>/<name>.rv32imac.elf`
 * with clang-19 and the SDK in `abi/guest/`. The output is byte-reproducible:
 * no debug info, no symbols, paths relative to the repository root.
 *
 * `--check` builds into a temporary directory instead and exits 1, listing the
 * files, if a committed binary differs (CI runs this). When clang-19 is
 * missing, `--check` prints a notice and exits 0, unless the environment sets
 * `RVBOX_REQUIRE_TOOLS=1`.
 *
 * Other scripts reuse {@linkcode compileGuest} to compile their own C files.
 * @module
 */

/** The compiler; Debian's clang-19 with lld-19. */
export const CLANG = "clang-19";

/** The repository root, where the compiler runs (so no machine paths leak into outputs). */
export const ROOT: URL = new URL("..", import.meta.url);

/** The two instruction-set variants every example is built for, as `-march` values. */
export const ISAS = ["rv32em", "rv32imac"] as const;

/**
 * The compiler arguments that build a guest from `sources` (paths relative to
 * the repository root) into `output` for `march` (e.g. `"rv32em"`,
 * `"rv32imac"`); the ABI follows from the base (`ilp32e` for RV32E).
 */
export function guestArgs(
  sources: string[],
  output: string,
  march: string,
  extraFlags: string[] = [],
): string[] {
  const mabi = march.startsWith("rv32e") ? "ilp32e" : "ilp32";
  return [
    "--target=riscv32",
    `-march=${march}`,
    `-mabi=${mabi}`,
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-O2",
    "-nostdlib",
    "-ffreestanding",
    `-ffile-prefix-map=${decodeURIComponent(ROOT.pathname).replace(/\/$/, "")}=.`,
    "-fuse-ld=lld",
    "-Wl,-T,abi/guest/rvbox.ld",
    "-Wl,--strip-all",
    "-Iabi/guest",
    ...extraFlags,
    "abi/guest/start.c",
    ...sources,
    "-o",
    output,
  ];
}

/**
 * Compiles and links a guest: `sources` (relative to the repository root, or
 * absolute) plus the SDK's `start.c`, for `march`, into `output` (likewise).
 * Throws with the compiler's messages if it fails; prints its warnings.
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
): Promise<void> {
  const args = guestArgs(sources, output, march, extraFlags);
  const command = new Deno.Command(CLANG, { args, cwd: ROOT, stdout: "piped", stderr: "piped" });
  const result = await command.output();
  const messages = new TextDecoder().decode(result.stderr);
  if (!result.success) {
    throw new Error(`${CLANG} ${args.join(" ")} failed:\n${messages}`);
  }
  if (messages.trim() !== "") console.error(messages.trimEnd());
}

/** Whether `clang-19` can be run. */
export async function haveClang(): Promise<boolean> {
  try {
    const result = await new Deno.Command(CLANG, { args: ["--version"], stdout: "null" }).output();
    return result.success;
  } catch {
    return false;
  }
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

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  const requested = args.filter((a) => !a.startsWith("--"));
  const all = exampleNames();
  const unknown = requested.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown example(s): ${unknown.join(", ")} (have: ${all.join(", ")})`);
    return 1;
  }
  if (!(await haveClang())) {
    const required = Deno.env.get("RVBOX_REQUIRE_TOOLS") === "1";
    console.error(
      `SKIPPED guest build: ${CLANG} not found (install Debian's clang-19 and lld-19)`
        + (required ? "; RVBOX_REQUIRE_TOOLS=1 makes this an error" : ""),
    );
    return check && !required ? 0 : 1;
  }
  const names = requested.length > 0 ? requested : all;
  const outDir = check ? await Deno.makeTempDir({ prefix: "rvbox-guests-" }) : undefined;
  try {
    const jobs = names.flatMap((name) =>
      ISAS.map((isa) => {
        const file = `examples/${name}/${name}.${isa}.elf`;
        const output = outDir ? `${outDir}/${name}.${isa}.elf` : file;
        return { file, output, done: compileGuest([`examples/${name}/${name}.c`], output, isa) };
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
