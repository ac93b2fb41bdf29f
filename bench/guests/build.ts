/**
 * `deno task bench:guests [--check]`: builds every benchmark workload in
 * `bench/guests/` for rvbox (`.rv32em.elf`, `.rv32imac.elf`) and WebAssembly
 * (`.wasm`), the committed files. `--check` builds into a temporary directory
 * and fails if a committed file differs (CI runs it).
 *
 * The native x86-64 and qemu (Linux riscv32) builds are made when the
 * benchmark runs, into `bench/.build/` ({@linkcode buildNative},
 * {@linkcode buildQemu}).
 * @module
 */
import { CLANG, compileGuest, haveClang, ISAS, ROOT } from "../../examples/build.ts";

/** The workloads, in the order the benchmark reports them. */
export const WORKLOADS = [
  "cpu6502",
  "sha256",
  "sieve",
  "sort",
  "fib",
  "tokenize",
  "memops",
  "utf8",
  "list",
  "matrix",
  "crc",
  "contract", // last: the whole-cycle figures take the last module as the contract
] as const;
/** One workload's name. */
export type WorkloadName = typeof WORKLOADS[number];

const BUILD = new URL("../.build/", import.meta.url);
const path = (url: URL) => decodeURIComponent(url.pathname);
const ROOT_PATH = path(ROOT).replace(/\/$/, "");

async function clang(args: string[]): Promise<void> {
  const out = await new Deno.Command(CLANG, { args, cwd: ROOT, stderr: "piped" }).output();
  const messages = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) throw new Error(`${CLANG} ${args.join(" ")} failed:\n${messages}`);
  if (messages) console.error(messages);
}

/** Builds `name` as a wasm32 module at `output` (relative to the repository root, or absolute). */
export async function buildWasm(name: WorkloadName, output: string): Promise<void> {
  await clang([
    "--target=wasm32",
    "-O2",
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-nostdlib",
    "-ffreestanding",
    `-ffile-prefix-map=${ROOT_PATH}=.`,
    "-Ibench/guests",
    "-Wl,--no-entry",
    "-Wl,--strip-debug",
    "bench/guests/wasm_rt.c",
    `bench/guests/${name}.c`,
    "-o",
    output,
  ]); // dprint-ignore
}

async function buildInto(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const name of WORKLOADS) {
    for (const isa of ISAS) {
      const file = `${dir}/${name}.${isa}.elf`;
      await compileGuest([`bench/guests/${name}.c`], file, isa, ["-Ibench/guests"]);
      files.push(file);
    }
    await buildWasm(name, `${dir}/${name}.wasm`);
    files.push(`${dir}/${name}.wasm`);
  }
  return files;
}

/**
 * Builds `name` natively (x86-64 Linux, clang -O2, no libc) running
 * `run(scale)`; returns the binary's path, or why it cannot be built here.
 */
export async function buildNative(
  name: WorkloadName,
  scale: number,
): Promise<{ path?: string; skipped?: string; }> {
  if (Deno.build.arch !== "x86_64" || Deno.build.os !== "linux") {
    return { skipped: "native builds are for x86-64 Linux" };
  }
  if (!(await haveClang())) return { skipped: `${CLANG} is not installed` };
  await Deno.mkdir(BUILD, { recursive: true });
  const output = path(new URL(`${name}-${scale}.x86_64`, BUILD));
  await clang([
    "-O2",
    "-std=c11",
    "-ffreestanding",
    "-nostdlib",
    "-static",
    "-fuse-ld=lld",
    "-Iabi/guest",
    "-Ibench/guests",
    "-include",
    "bench/native/imports.h",
    "-DBENCH_NATIVE",
    `-DBENCH_SCALE=${scale}`,
    "-Wl,-e,__native_entry",
    "abi/guest/start.c",
    "bench/native/linux_x64.c",
    "bench/guests/main.c",
    `bench/guests/${name}.c`,
    "-o",
    output,
  ]); // dprint-ignore
  return { path: output };
}

/** Builds `name` as a Linux riscv32 program for qemu-riscv32 running `run(scale)`. */
export async function buildQemu(
  name: WorkloadName,
  scale: number,
): Promise<{ path?: string; skipped?: string; }> {
  if (!(await haveClang())) return { skipped: `${CLANG} is not installed` };
  await Deno.mkdir(BUILD, { recursive: true });
  const output = path(new URL(`${name}-${scale}.riscv32`, BUILD));
  await compileGuest(
    [`bench/guests/${name}.c`, "bench/guests/main.c", "tests/qemu/linux.c"],
    output,
    "rv32imac",
    [
      "-Ibench/guests",
      "-include",
      "tests/qemu/linux_imports.h",
      "-DBENCH_LINUX",
      `-DBENCH_SCALE=${scale}`,
    ],
  );
  return { path: output };
}

async function main(args: string[]): Promise<number> {
  const check = args.includes("--check");
  if (!(await haveClang())) {
    const required = Deno.env.get("RVBOX_REQUIRE_TOOLS") === "1";
    console.error(`${CLANG} is not installed: benchmark guests not ${check ? "checked" : "built"}`);
    return required ? 1 : 0;
  }
  if (!check) {
    const files = await buildInto("bench/guests");
    console.log(`built ${files.length} files in bench/guests/`);
    return 0;
  }
  const dir = await Deno.makeTempDir({ prefix: "rvbox-bench-guests-" });
  try {
    const files = await buildInto(dir);
    const differ = files.filter((file) => {
      const committed = new URL(`./${file.slice(dir.length + 1)}`, import.meta.url);
      try {
        const a = Deno.readFileSync(committed), b = Deno.readFileSync(file);
        return a.length !== b.length || a.some((x, i) => x !== b[i]);
      } catch {
        return true;
      }
    });
    if (differ.length > 0) {
      console.error(
        `committed benchmark guests differ from a fresh build (run deno task bench:guests):`,
      );
      for (const file of differ) console.error(`  bench/guests/${file.slice(dir.length + 1)}`);
      return 1;
    }
    console.log(`${files.length} benchmark guest files match a fresh build`);
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
