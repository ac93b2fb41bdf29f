/**
 * Building guests: finds the toolchain (Debian's clang-19 and lld-19, and for
 * guests on the C library picolibc and libgcc built for RISC-V), passes the
 * flags the machine contract needs and links the SDK in this directory.
 * `rvbox cc` (cli.ts), `deno task guests` (examples/build.ts) and the
 * benchmark build use it. Not part of the library's import graph: it runs
 * processes.
 *
 * @example
 * ```ts ignore
 * import { compileGuest } from "./cc.ts";
 * await compileGuest({ sources: ["prog.c"], output: "prog.elf", isa: "rv32em" });
 * ```
 * @module
 */

/** Instruction-set variants a guest can be built for (`-march`); each has its C library build. */
export const GUEST_ISAS = ["rv32e", "rv32em", "rv32emac", "rv32i", "rv32im", "rv32imac"] as const;
/** One of {@linkcode GUEST_ISAS}. */
export type GuestIsa = typeof GUEST_ISAS[number];

/** The compiler; Debian's clang-19 with lld-19. */
export const CLANG = "clang-19";
const LLD = "ld.lld-19";
/** Where Debian's `picolibc-riscv64-unknown-elf` installs picolibc. */
const PICOLIBC = "/usr/lib/picolibc/riscv64-unknown-elf";
/** Where Debian's `gcc-riscv64-unknown-elf` installs libgcc, one directory per GCC version. */
const LIBGCC = "/usr/lib/gcc/riscv64-unknown-elf";

/** What to install on Debian, and with which command. */
const INSTALL_CLANG = "clang-19 and lld-19 (apt-get install clang-19 lld-19)";
const INSTALL_LIBC = "picolibc-riscv64-unknown-elf and gcc-riscv64-unknown-elf "
  + "(apt-get install picolibc-riscv64-unknown-elf gcc-riscv64-unknown-elf)";

/** A tool or library that building a guest needs is missing; the message says what to install. */
export class ToolchainError extends Error {
  /** @param message what is missing and the Debian packages that provide it */
  constructor(message: string) {
    super(message);
    this.name = "ToolchainError";
  }
}

/** The compiler failed; `message` holds its diagnostics. */
export class CompileError extends Error {
  /** @param message the compiler's diagnostics, with hints for rvbox's limits */
  constructor(message: string) {
    super(message);
    this.name = "CompileError";
  }
}

/** What {@linkcode compileGuest} builds. */
export interface GuestBuild {
  /** C (or assembly) files, relative to `cwd` or absolute. */
  sources: string[];
  /** The ELF file to write, relative to `cwd` or absolute. */
  output: string;
  /** Instruction set. Default `"rv32imac"`. */
  isa?: GuestIsa;
  /** Optimization flag. Default `"-O2"`. */
  optimize?: string;
  /**
   * Link picolibc and libgcc (`stdio.h`, `malloc`, `math.h`, 64-bit
   * division, soft float...). Default true; false builds a freestanding guest
   * on the SDK alone (`rvbox.h`: the smallest programs).
   */
  libc?: boolean;
  /** Drop the symbol table (`--strip-all`). Default false: hosts can look up symbols. */
  strip?: boolean;
  /** More compiler flags (`-I`, `-D`, warnings), before the sources. */
  flags?: string[];
  /** Directory the compiler runs in. Default: the current directory. */
  cwd?: string | URL;
}

const path = (url: URL) => decodeURIComponent(url.pathname);

/** The ABI that goes with `isa`. */
export function abiOf(isa: GuestIsa): "ilp32e" | "ilp32" {
  return isa.startsWith("rv32e") ? "ilp32e" : "ilp32";
}

async function runs(command: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, { args: ["--version"], stdout: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

function exists(file: string): boolean {
  try {
    return Deno.statSync(file).isFile;
  } catch {
    return false;
  }
}

/** Whether clang-19 and lld-19 can be run. */
export async function haveClang(): Promise<boolean> {
  return await runs(CLANG) && await runs(LLD);
}

/** The C library's directories for `isa`: picolibc's headers and libraries, libgcc's. */
export interface LibcPaths {
  /** picolibc's headers. */
  include: string;
  /** The directory of picolibc's `libc.a` for the ISA. */
  libc: string;
  /** The directory of libgcc's `libgcc.a` for the ISA. */
  libgcc: string;
}

/**
 * Finds picolibc and libgcc for `isa` in Debian's locations (the newest GCC
 * version that has the ISA).
 * @throws {ToolchainError} naming the packages to install.
 */
export function findLibc(isa: GuestIsa): LibcPaths {
  const multilib = `${isa}/${abiOf(isa)}`;
  const include = `${PICOLIBC}/include`;
  const libc = `${PICOLIBC}/lib/${multilib}`;
  if (!exists(`${include}/stdio.h`) || !exists(`${libc}/libc.a`)) {
    throw new ToolchainError(
      `picolibc for ${multilib} not found in ${PICOLIBC}: install ${INSTALL_LIBC}`,
    );
  }
  let versions: string[] = [];
  try {
    versions = [...Deno.readDirSync(LIBGCC)].filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    // not installed
  }
  const byVersion = (a: string, b: string) => b.localeCompare(a, "en", { numeric: true });
  const found = versions.sort(byVersion).find((v) => exists(`${LIBGCC}/${v}/${multilib}/libgcc.a`));
  if (found === undefined) {
    throw new ToolchainError(
      `libgcc for ${multilib} not found in ${LIBGCC}: install ${INSTALL_LIBC}`,
    );
  }
  return { include, libc, libgcc: `${LIBGCC}/${found}/${multilib}` };
}

/** The SDK's files (this directory) as a local path: copied to a temporary directory when remote. */
let sdkDirectory: Promise<string> | undefined;
const SDK_FILES = ["rvbox.h", "start.c", "libc.c", "rvbox.ld", "rvbox_libc.ld"];

function sdk(): Promise<string> {
  const here = new URL(".", import.meta.url);
  if (here.protocol === "file:") return Promise.resolve(path(here).replace(/\/$/, ""));
  sdkDirectory ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "rvbox-sdk-" });
    for (const name of SDK_FILES) {
      const response = await fetch(new URL(name, here));
      if (!response.ok) {
        throw new ToolchainError(`cannot fetch the SDK's ${name}: ${response.status}`);
      }
      await Deno.writeFile(`${dir}/${name}`, new Uint8Array(await response.arrayBuffer()));
    }
    return dir;
  })();
  return sdkDirectory;
}

/**
 * The compiler arguments for `build` (see {@linkcode GuestBuild}), with the
 * SDK in `sdkDir` (given as the compiler should see it: relative to the
 * build's directory keeps paths out of the output) and, for the C library,
 * `libc`.
 */
export function guestArgs(
  build: GuestBuild,
  sdkDir: string,
  cwd: string,
  libc?: LibcPaths,
): string[] {
  const isa = build.isa ?? "rv32imac";
  const withLibc = build.libc ?? true;
  if (withLibc && libc === undefined) {
    throw new TypeError("a build on the C library needs its paths");
  }
  const sdkFiles = withLibc ? ["start.c", "libc.c"] : ["start.c"];
  const scripts = withLibc ? ["rvbox.ld", "rvbox_libc.ld"] : ["rvbox.ld"];
  return [
    "--target=riscv32",
    `-march=${isa}`,
    `-mabi=${abiOf(isa)}`,
    build.optimize ?? "-O2",
    "-nostdlib",
    ...(withLibc ? ["-DRVBOX_LIBC", "-isystem", libc!.include] : ["-ffreestanding"]),
    `-ffile-prefix-map=${cwd}=.`,
    "-fuse-ld=lld",
    ...scripts.map((script) => `-Wl,-T,${sdkDir}/${script}`),
    build.strip ? "-Wl,--strip-all" : "-Wl,--strip-debug",
    `-I${sdkDir}`,
    ...build.flags ?? [],
    ...sdkFiles.map((file) => `${sdkDir}/${file}`),
    ...build.sources,
    ...(withLibc
      ? [
        `-L${libc!.libc}`,
        `-L${libc!.libgcc}`,
        "-Wl,--start-group",
        "-lc",
        "-lgcc",
        "-Wl,--end-group",
      ]
      : []),
    "-o",
    build.output,
  ];
}

/** Undefined symbols that mean the program reads input or files, which guests have not. */
const NO_FILES = /undefined symbol: (stdin|open|read|close|lseek|fstat|stat|unlink|getpid|kill)\b/;

/** The compiler's messages, with a word on rvbox's limits where they explain a link error. */
function explain(messages: string): string {
  if (NO_FILES.test(messages)) {
    return `${messages}\nrvbox guests have no standard input and no files: stdout and stderr go to `
      + `the host's print sink (rvbox_print); data comes from host imports and export arguments.`;
  }
  return messages;
}

/**
 * Compiles and links a guest. Returns the compiler's warnings (empty when
 * none).
 * @throws {ToolchainError} when clang-19, lld-19 or the C library is missing, saying what to install.
 * @throws {CompileError} with the compiler's messages when it fails.
 */
export async function compileGuest(build: GuestBuild): Promise<string> {
  if (!(await haveClang())) {
    throw new ToolchainError(`${CLANG} or ${LLD} not found: install ${INSTALL_CLANG}`);
  }
  const isa = build.isa ?? "rv32imac";
  if (!GUEST_ISAS.includes(isa)) {
    throw new RangeError(`unknown ISA ${JSON.stringify(isa)} (use ${GUEST_ISAS.join(", ")})`);
  }
  const libc = (build.libc ?? true) ? findLibc(isa) : undefined;
  const cwd = build.cwd === undefined
    ? Deno.cwd()
    : typeof build.cwd === "string"
    ? build.cwd
    : path(build.cwd);
  const dir = cwd.replace(/\/$/, "");
  let sdkDir = await sdk();
  // The SDK under the build's directory is named relatively, as a user would type it.
  if (sdkDir.startsWith(`${dir}/`)) sdkDir = sdkDir.slice(dir.length + 1);
  const args = guestArgs(build, sdkDir, dir, libc);
  const out = await new Deno.Command(CLANG, { args, cwd: dir, stdout: "piped", stderr: "piped" })
    .output();
  const messages = new TextDecoder().decode(out.stderr).trimEnd();
  if (!out.success) {
    throw new CompileError(`${CLANG} ${args.join(" ")} failed:\n${explain(messages)}`);
  }
  return messages;
}
