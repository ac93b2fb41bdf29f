/**
 * `rvbox cc`: builds a guest from C sources with the SDK (abi/guest/cc.ts).
 * @module
 */
import {
  CompileError,
  compileGuest,
  GUEST_ISAS,
  type GuestBuild,
  type GuestIsa,
  ToolchainError,
} from "./abi/guest/cc.ts";

/** Compiler flags passed through as they are: macros, include paths, warnings, code generation. */
const PASSED_THROUGH = /^-(D|U|I|W|f|std=|g$)/;

/** Parses `cc`'s arguments into a build; throws a `RangeError` on a usage error. */
export function parseCcArgs(given: string[]): GuestBuild {
  const args = given.flatMap((a) => /^--(isa|output)=/.test(a) ? a.split(/=(.*)/s, 2) : [a]);
  const build: GuestBuild & { flags: string[]; } = { sources: [], output: "", flags: [] };
  let output: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new RangeError(`${arg} needs a value`);
      return next;
    };
    if (arg === "-o" || arg === "--output") output = value();
    else if (arg === "--isa") {
      const isa = value();
      if (!GUEST_ISAS.includes(isa as GuestIsa)) {
        throw new RangeError(`--isa ${isa}: use one of ${GUEST_ISAS.join(", ")}`);
      }
      build.isa = isa as GuestIsa;
    } else if (/^-O([0-3sz])?$/.test(arg)) build.optimize = arg;
    else if (arg === "--freestanding") build.libc = false;
    else if (arg === "--strip") build.strip = true;
    else if (PASSED_THROUGH.test(arg)) build.flags.push(arg);
    else if (arg.startsWith("-")) throw new RangeError(`unknown cc option ${arg}`);
    else build.sources.push(arg);
  }
  if (build.sources.length === 0) throw new RangeError("cc needs at least one source file");
  if (output === undefined) throw new RangeError("cc needs -o <program.elf>");
  build.output = output;
  return build;
}

/**
 * Runs `rvbox cc` in `cwd` (where the user's paths are relative to); returns
 * the exit status: 0, 1 when the compiler fails or the toolchain is missing,
 * 2 for a usage error.
 */
export async function ccCommand(args: string[], cwd: string, usage: string): Promise<number> {
  let build: GuestBuild;
  try {
    build = parseCcArgs(args);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    console.error(`rvbox: ${e.message}\n${usage}`);
    return 2;
  }
  try {
    const warnings = await compileGuest({ ...build, cwd });
    if (warnings !== "") console.error(warnings);
    const written = build.output.startsWith("/") ? build.output : `${cwd}/${build.output}`;
    const size = (await Deno.stat(written)).size;
    console.log(`${build.output}: ${size} bytes (${build.isa ?? "rv32imac"})`);
    return 0;
  } catch (e) {
    if (e instanceof ToolchainError || e instanceof CompileError || e instanceof RangeError) {
      console.error(`rvbox: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
