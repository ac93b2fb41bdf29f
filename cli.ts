/**
 * The rvbox command line.
 *
 * ```sh
 * deno run -R --allow-ffi jsr:@rvbox/rvbox/cli run prog.elf [--gas N] [--stats] [--trace]
 *                     [--tier T] [--host host.ts] [--import name=N]
 * deno run -R --allow-ffi jsr:@rvbox/rvbox/cli call prog.elf export [args...]
 * deno run -R jsr:@rvbox/rvbox/cli disasm prog.elf [--native]
 * deno run -R jsr:@rvbox/rvbox/cli inspect prog.elf
 * deno run -R -W jsr:@rvbox/rvbox/cli link prog.elf -o prog.rvbox
 * deno run -R -W --allow-run --allow-net=jsr.io jsr:@rvbox/rvbox/cli cc prog.c -o prog.elf [--isa rv32em]
 * deno run -R jsr:@rvbox/rvbox/cli help [command]
 * ```
 *
 * (`-R`: read the program; `--allow-ffi`: the native tier, else the
 * interpreter runs; `-W`: write the blob; `cc` runs clang-19 and, from JSR,
 * fetches the SDK's C files next to this module. In rvbox's repository,
 * `deno task rvbox ...` runs the same with paths relative to where you are.)
 *
 * Every command but `cc` reads an ELF file or an `.rvbox` blob.
 *
 * Exit status of `run`: the guest's exit code (modulo 256); of `call`: 0,
 * the export's result printed; for both, 2 for a usage, load or link error
 * and 3 when the guest traps. `--host host.ts` answers the guest's imports
 * with the module's exported functions of the same names; `--import name=N`
 * answers the import `name` with N (0 without `=N`).
 * @module
 */
import { parseArgs } from "node:util";
import { readProgramFile } from "./abi/_platform.ts";
import { type DecodedCode, instructionAt } from "./abi/code.ts";
import {
  DEFAULT_GAS,
  DEFAULT_HEAP_SIZE,
  DEFAULT_MAX_FILE_SIZE,
  DEFAULT_STACK_SIZE,
} from "./abi/constants.ts";
import { newDecodedInstruction } from "./abi/decode.ts";
import { disassemble, REGISTER_NAMES } from "./abi/disasm.ts";
import { Op } from "./abi/isa.ts";
import { computeLayout } from "./abi/memory.ts";
import { A64Backend } from "./jit/a64/backend.ts";
import { translate } from "./jit/translate.ts";
import { X64Backend } from "./jit/x64/backend.ts";

/** `disasm --native` lists the code of this machine's backend. */
const AARCH64 = Deno.build.arch === "aarch64";
import { ccCommand } from "./_cli_cc.ts";
import { COMMAND_HELP, USAGE } from "./_cli_help.ts";
import {
  type Imports,
  LinkError,
  linkProgram,
  Program,
  ProgramError,
  type Tier,
  Trap,
} from "./mod.ts";

const COMMANDS = ["run", "call", "disasm", "inspect", "link", "cc", "help"];
const EXIT_USAGE = 2;

/** NotFound, IsADirectory, PermissionDenied and the rest of `Deno.errors`. */
function isFileSystemError(e: unknown): boolean {
  return Object.values(Deno.errors).some((kind) => e instanceof kind);
}
const EXIT_TRAP = 3;

const encoder = new TextEncoder();
const hex = (n: number, width = 8) => (n >>> 0).toString(16).padStart(width, "0");

/** Buffered writer for large outputs (traces, listings). */
class Output {
  #chunks: string[] = [];
  #size = 0;
  constructor(private readonly stream: { writeSync(b: Uint8Array): number; }) {}
  line(text: string): void {
    this.#chunks.push(text, "\n");
    this.#size += text.length + 1;
    if (this.#size > 1 << 16) this.flush();
  }
  flush(): void {
    const bytes = encoder.encode(this.#chunks.join(""));
    let written = 0;
    while (written < bytes.length) written += this.stream.writeSync(bytes.subarray(written));
    this.#chunks = [];
    this.#size = 0;
  }
}

/** Formats instruction `i` of `code` (pc, encoding, text; a call's target by name when known). */
function listing(
  program: Program,
  code: DecodedCode,
  i: number,
  where?: (pc: number) => string | undefined,
): string {
  const d = newDecodedInstruction();
  d.op = code.op[i];
  d.rd = code.rd[i];
  d.rs1 = code.rs1[i];
  d.rs2 = code.rs2[i];
  d.imm = code.imm[i];
  d.size = code.size[i] as 2 | 4;
  d.compressed = d.size === 2;
  const pc = code.pc[i];
  const encoding = hex(rawEncoding(program, pc, d.size), d.size * 2).padStart(8);
  let text = `${hex(pc)}:  ${encoding}  ${disassemble(d, pc)}`;
  const imp = code.hostcall[i];
  if (imp >= 0) text += `    # import ${program.image.imports[imp]}`;
  const target = d.op === Op.JAL ? where?.(pc + d.imm) : undefined;
  if (target !== undefined) text += ` <${target}>`;
  return text;
}

function rawEncoding(program: Program, pc: number, size: number): number {
  for (const s of program.image.segments) {
    const at = pc - s.vaddr;
    if (at >= 0 && at + size <= s.data.length) {
      const b = s.data;
      return size === 2
        ? b[at] | (b[at + 1] << 8)
        : (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
    }
  }
  return 0; // zero-filled tail of a code segment
}

/**
 * Where a pc is, as `name` or `name+0x10`, from the program's function and
 * label symbols (none when it is stripped or a blob).
 */
function codeNames(program: Program): (pc: number) => string | undefined {
  const code = program.symbols.filter((s) => s.kind !== "object");
  return (pc) => {
    let low = 0, high = code.length; // first symbol above pc
    while (low < high) {
      const mid = (low + high) >> 1;
      if (code[mid].address <= pc) low = mid + 1;
      else high = mid;
    }
    const symbol = code[low - 1];
    if (!symbol || (symbol.size !== 0 && pc >= symbol.address + symbol.size)) return undefined;
    const offset = pc - symbol.address;
    return offset === 0 ? symbol.name : `${symbol.name}+0x${offset.toString(16)}`;
  };
}

/** Intel-syntax text for each machine instruction in `bytes`, or undefined without llvm-mc. */
async function nativeListing(
  bytes: Uint8Array,
): Promise<{ text: string; size: number; }[] | undefined> {
  try {
    const child = new Deno.Command("llvm-mc-19", {
      args: AARCH64
        ? ["--disassemble", "--show-encoding", "-triple=aarch64"]
        : ["--disassemble", "--show-encoding", "-triple=x86_64", "-output-asm-variant=1"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(
      new TextEncoder().encode(Array.from(bytes, (b) => `0x${b.toString(16)}`).join(" ")),
    );
    await writer.close();
    const out = new TextDecoder().decode((await child.output()).stdout);
    return out.split("\n").flatMap((line) => {
      const m = /^\s*(.*?)\s*# encoding: \[(.*)\]/.exec(line);
      return m ? [{ text: m[1].replace(/\s+/g, " "), size: m[2].split(",").length }] : [];
    });
  } catch {
    return undefined; // not installed, or no permission to run it
  }
}

async function disasmCommand(program: Program, native: boolean): Promise<void> {
  const out = new Output(Deno.stdout);
  const code = program.image.code;
  const backend = () => (AARCH64 ? new A64Backend(code) : new X64Backend(code));
  const translation = native ? translate(code, backend()) : undefined;
  const decoded = translation && await nativeListing(translation.bytes);
  let machine = 0; // next machine instruction of `decoded`
  let at = 0; // its offset
  const nativeLines = (end: number) => {
    const t = translation!;
    const lines: string[] = [];
    while (at < end) {
      const d = decoded?.[machine];
      const size = d ? d.size : end - at;
      const hexBytes = Array.from(
        t.bytes.subarray(at, at + size),
        (b) => b.toString(16).padStart(2, "0"),
      ).join(" ");
      lines.push(
        `        ${at.toString(16).padStart(6, "0")}:  ${d ? d.text.padEnd(40) : ""}${hexBytes}`,
      );
      machine++;
      at += size;
    }
    return lines;
  };
  if (translation) {
    out.line(
      `native ${
        AARCH64 ? "AArch64" : "x86-64"
      }: ${translation.bytes.length} bytes (entry, exit and lookup routines first)`,
    );
    nativeLines(translation.startOffset[0]).forEach((l) => out.line(l));
  }
  const where = codeNames(program);
  const labels = new Map<number, string[]>();
  const addLabel = (pc: number, name: string) => labels.set(pc, [...(labels.get(pc) ?? []), name]);
  addLabel(program.entry, "_entry");
  for (const [name, pc] of program.image.exports) addLabel(pc, name);
  for (const symbol of program.symbols) {
    const known = labels.get(symbol.address) ?? [];
    if (symbol.kind !== "object" && !known.includes(symbol.name)) {
      addLabel(symbol.address, symbol.name);
    }
  }
  for (let i = 0; i < code.count; i++) {
    const names = labels.get(code.pc[i]);
    if (names) out.line(`\n${hex(code.pc[i])} <${names.join(", ")}>:`);
    out.line(listing(program, code, i, where));
    if (translation) {
      const end = i + 1 < code.count ? translation.startOffset[i + 1] : translation.coldOffset;
      nativeLines(end).forEach((l) => out.line(l));
    }
  }
  if (translation) {
    out.line(`\ncold paths (gas, memory slow paths, jump faults):`);
    nativeLines(translation.bytes.length).forEach((l) => out.line(l));
  }
  out.flush();
}

/** The default memory layout's lines, or why it cannot be instantiated with the defaults. */
function layoutLines(program: Program): string[] {
  let layout;
  try {
    layout = computeLayout(program.image, {});
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return [`  does not fit with the default limits: ${e.message}`];
  }
  return [
    ...layout.regions.filter((r) => r.name === "stack").map((r) =>
      `  stack        0x${hex(r.start)}-0x${hex(r.end)} (${DEFAULT_STACK_SIZE} bytes)`
    ),
    `  heap         0x${hex(layout.heapStart)}-0x${
      hex(layout.heapLimit)
    } (up to ${DEFAULT_HEAP_SIZE} bytes)`,
  ];
}

function inspectCommand(program: Program, path: string): void {
  const image = program.image;
  const lines = [
    `file:         ${path} (${image.fileSize} bytes, ${
      program.format === "rvbox" ? "rvbox blob" : "ELF"
    })`,
    `base ISA:     ${program.base} + M, A, C`,
    `entry:        0x${hex(program.entry)}`,
    `instructions: ${program.instructionCount}`,
    `symbols:      ${program.symbols.length}${
      program.format === "rvbox" ? " (a blob keeps none)" : ""
    }`,
    "segments:",
    ...program.segments.map((s) => `  0x${hex(s.start)}-0x${hex(s.end)}  ${s.permissions}`),
    "memory (default limits):",
    ...layoutLines(program),
    `  gas          ${DEFAULT_GAS}`,
    `imports (${image.imports.length}):`,
    ...image.imports.map((name) => `  ${name}${name.startsWith("rvbox_") ? " (built-in)" : ""}`),
    `exports (${image.exports.size}):`,
    ...[...image.exports].map(([name, pc]) => `  ${name} at 0x${hex(pc)}`),
  ];
  console.log(lines.join("\n"));
}

/** Writes the blob of the program in `bytes` to `output` (default: the input's name with `.rvbox`). */
async function linkCommand(bytes: Uint8Array, path: string, output?: string): Promise<void> {
  const blob = linkProgram(bytes);
  const to = output ?? path.replace(/(\.elf)?$/, ".rvbox");
  await Deno.writeFile(to, blob);
  console.log(`${to}: ${blob.length} bytes (${path}: ${bytes.length} bytes)`);
}

/** Prints each instruction with the registers it changed. */
function tracer(program: Program): { hook: (pc: number, regs: Int32Array) => void; end(): void; } {
  const out = new Output(Deno.stderr);
  const code = program.image.code;
  const before = new Int32Array(32);
  const where = codeNames(program);
  let place: string | undefined; // the function of the previous instruction
  let pending = "";
  let live: Int32Array = before; // the engine's register file, seen on the first hook call
  const changes = (regs: Int32Array) => {
    let text = "";
    for (let r = 1; r < 32; r++) {
      if (regs[r] !== before[r]) text += `  ${REGISTER_NAMES[r]}=0x${hex(regs[r])}`;
    }
    return text;
  };
  return {
    hook(pc, regs) {
      live = regs;
      if (pending) out.line(pending + changes(regs));
      before.set(regs.subarray(0, 32));
      const i = instructionAt(code, pc);
      const name = where(pc)?.replace(/\+0x[0-9a-f]+$/, "");
      if (name !== place && name !== undefined) out.line(`${hex(pc)} <${where(pc)}>:`);
      place = name;
      pending = listing(program, code, i, where).padEnd(56);
    },
    end() {
      if (pending) out.line(pending + changes(live));
      out.flush();
    },
  };
}

function number(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`--${name} needs a non-negative integer`);
  }
  return n;
}

type Flags = Record<string, string | boolean | string[] | undefined>;

/** `--import name=N`: host functions answering N (an integer, 0 when left out). */
function stubImports(specs: string[] | undefined): Record<string, () => number> {
  const imports: Record<string, () => number> = {};
  for (const spec of specs ?? []) {
    const [name, value = "0"] = spec.split("=", 2);
    const n = Number(value.replaceAll("_", ""));
    if (!name || !Number.isSafeInteger(n)) {
      throw new RangeError(`--import needs name=integer, got ${JSON.stringify(spec)}`);
    }
    imports[name] = () => n;
  }
  return imports;
}

/**
 * `--host FILE`: the module's exported functions, by name, as host
 * functions; with `--import` stubs, which must not name the same imports.
 */
async function hostImports(flags: Flags): Promise<Imports> {
  const imports: Imports = stubImports(flags.import as string[] | undefined);
  const file = flags.host as string | undefined;
  if (file === undefined) return imports;
  const url = new URL(userPath(file), `file://${Deno.cwd()}/`);
  let module: Record<string, unknown>;
  try {
    module = await import(url.href);
  } catch (e) {
    throw new RangeError(`--host ${file}: ${(e as Error).message.split("\n")[0]}`);
  }
  const functions = Object.entries(module).filter(([, value]) => typeof value === "function");
  if (functions.length === 0) throw new RangeError(`--host ${file} exports no function`);
  for (const [name, fn] of functions) {
    if (name in imports) {
      throw new RangeError(`import ${name} is given by both --host and --import`);
    }
    imports[name] = fn as Imports[string];
  }
  return imports;
}

/**
 * A path as the user typed it, against the directory they typed it in:
 * `deno task` runs in the repository root and says where the user was in
 * INIT_CWD (read when the env permission allows it).
 */
function userPath(path: string): string {
  if (path.startsWith("/")) return path;
  const granted = Deno.permissions.querySync({ name: "env", variable: "INIT_CWD" }).state;
  const base = granted === "granted" ? Deno.env.get("INIT_CWD") : undefined;
  return base ? `${base.replace(/\/$/, "")}/${path}` : path;
}

/** Runs `body` on a new instance; prints a trap with its registers, and the gas with --stats. */
function withInstance(
  program: Program,
  flags: Flags,
  imports: Imports,
  body: (instance: ReturnType<Program["instantiate"]>) => number,
): number {
  const trace = flags.trace ? tracer(program) : undefined;
  const gas = number(flags.gas as string | undefined, "gas") ?? DEFAULT_GAS;
  const instance = program.instantiate(imports, {
    gas,
    tier: (flags.tier as Tier | undefined) ?? "auto",
    stackSize: number(flags.stack as string | undefined, "stack"),
    heapSize: number(flags.heap as string | undefined, "heap"),
    trace: trace?.hook,
  });
  const started = performance.now();
  let status: number;
  let trap: Trap | undefined;
  try {
    status = body(instance);
  } catch (e) {
    if (!(e instanceof Trap)) throw e;
    trap = e;
    status = EXIT_TRAP;
  }
  trace?.end();
  if (trap) {
    console.error(`trap: ${trap.message}`);
    const count = program.base === "rv32e" ? 16 : 32;
    const regs = [...trap.registers.subarray(0, count)].map((v, r) =>
      `${REGISTER_NAMES[r].padStart(4)}=0x${hex(v)}`
    );
    for (let r = 0; r < count; r += 4) console.error("  " + regs.slice(r, r + 4).join(" "));
  }
  if (flags.stats) {
    const seconds = (performance.now() - started) / 1000;
    const used = gas - instance.gas;
    console.error(
      `tier ${instance.tier}; ${used} instructions (gas) in ${seconds.toFixed(3)} s = `
        + `${(used / seconds / 1e6).toFixed(1)} MIPS; exit status ${status}`,
    );
  }
  return status;
}

/** `call`: the export's result on standard output. */
function callCommand(
  program: Program,
  flags: Flags,
  imports: Imports,
  name: string | undefined,
  args: string[],
) {
  if (name === undefined) throw new RangeError("call needs an export name");
  if (!program.exports.includes(name)) {
    throw new RangeError(
      `no export ${JSON.stringify(name)} (exports: ${program.exports.join(", ") || "none"})`,
    );
  }
  const values = args.map((a) => {
    const n = Number(a.replaceAll("_", ""));
    if (!Number.isSafeInteger(n)) {
      throw new RangeError(`argument ${JSON.stringify(a)} is not an integer`);
    }
    return n;
  });
  return withInstance(program, flags, imports, (instance) => {
    console.log(String(instance.exports[name](...values)));
    return 0;
  });
}

/** Runs the CLI with `args`; returns the process exit status. */
export async function main(args: string[]): Promise<number> {
  // cc takes compiler flags (-O2, -DNAME...), parsed on their own.
  if (args[0] === "cc" && !args.includes("--help") && !args.includes("-h")) {
    const here = userPath(".");
    return await ccCommand(
      args.slice(1),
      here === "." ? Deno.cwd() : here.slice(0, -2),
      COMMAND_HELP.cc,
    );
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        gas: { type: "string" },
        stack: { type: "string" },
        heap: { type: "string" },
        tier: { type: "string" },
        stats: { type: "boolean" },
        trace: { type: "boolean" },
        native: { type: "boolean" },
        output: { type: "string", short: "o" },
        help: { type: "boolean", short: "h" },
        import: { type: "string", multiple: true },
        host: { type: "string" },
      },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  const [command, path, ...rest] = parsed.positionals;
  if (command === "help" || parsed.values.help) {
    const topic = command === "help" ? path : command;
    if (topic !== undefined && !(topic in COMMAND_HELP)) {
      console.error(`rvbox: no command ${JSON.stringify(topic)}\n${USAGE}`);
      return EXIT_USAGE;
    }
    console.log(topic === undefined ? USAGE : COMMAND_HELP[topic]);
    return 0;
  }
  const problem = !command
    ? "no command given"
    : !COMMANDS.includes(command)
    ? `unknown command ${JSON.stringify(command)}`
    : !path
    ? `${command} needs a program file`
    : undefined;
  if (problem) {
    console.error(`rvbox: ${problem}\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    const bytes = await readProgramFile(userPath(path), DEFAULT_MAX_FILE_SIZE);
    if (command === "link") {
      const output = parsed.values.output;
      await linkCommand(bytes, userPath(path), output === undefined ? undefined : userPath(output));
      return 0;
    }
    const program = Program.fromBytes(bytes);
    if (command === "disasm") await disasmCommand(program, parsed.values.native === true);
    else if (command === "inspect") inspectCommand(program, path);
    else {
      const imports = await hostImports(parsed.values);
      if (command === "call") {
        return callCommand(program, parsed.values, imports, rest[0], rest.slice(1));
      }
      return withInstance(program, parsed.values, imports, (instance) => instance.run() & 255);
    }
    return 0;
  } catch (e) {
    if (
      e instanceof ProgramError || e instanceof LinkError || e instanceof RangeError
      || isFileSystemError(e)
    ) {
      console.error(`rvbox: ${(e as Error).message}`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
