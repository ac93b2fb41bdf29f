/// <reference lib="dom" />
/**
 * The web page (index.html): pick a sample or drop an ELF file or `.rvbox`
 * blob, call its entry point or an export on the interpreter with a gas
 * budget, and see the output, the result or the trap with its registers,
 * the last steps traced and the disassembly. Bundled into app.js by
 * `deno task bundle`; no eval, no WebAssembly (the page's CSP forbids both).
 * @module
 */
import { instructionAt } from "../../abi/code.ts";
import { newDecodedInstruction } from "../../abi/decode.ts";
import { disassemble, REGISTER_NAMES } from "../../abi/disasm.ts";
import { type HostFunction, type Imports, Program, Trap } from "../../portable.ts";
import * as samples from "../../samples.ts";
import { storageImports } from "../kvstore/storage.js";

/** Steps kept for the trace. */
const TRACE_STEPS = 16;
/** Instructions listed at most. */
const LISTED = 4000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const hex = (n: number) => "0x" + (n >>> 0).toString(16).padStart(8, "0");

let program: Program | undefined;
let programName = "";

/** The text of the instruction at `pc`. */
function instructionText(p: Program, pc: number): string {
  const code = p.image.code;
  const i = instructionAt(code, pc);
  if (i < 0) return "(no instruction)";
  const { op, rd, rs1, rs2, imm } = code.operands(i, i + 1);
  const d = newDecodedInstruction();
  Object.assign(d, { op: op[i], rd: rd[i], rs1: rs1[i], rs2: rs2[i], imm: imm[i] });
  d.size = code.size[i] as 2 | 4;
  d.compressed = d.size === 2;
  return disassemble(d, pc);
}

/** The disassembly, with the entry point and exports as labels. */
function listing(p: Program): string {
  const code = p.image.code;
  const labels = new Map<number, string[]>([[p.entry, ["entry"]]]);
  for (const [name, pc] of p.image.exports) labels.set(pc, [...(labels.get(pc) ?? []), name]);
  const lines: string[] = [];
  for (let i = 0; i < Math.min(code.count, LISTED); i++) {
    const pc = code.pc[i];
    for (const label of labels.get(pc) ?? []) lines.push(`${label}:`);
    lines.push(`  ${hex(pc)}  ${instructionText(p, pc)}`);
  }
  if (code.count > LISTED) lines.push(`  ... ${code.count - LISTED} more instructions`);
  return lines.join("\n");
}

/** Host functions for every import: known ones do what the examples expect, others log and return 0. */
function hostFunctions(p: Program, log: (line: string) => void): Imports {
  const known: Record<string, HostFunction> = {
    host_log: (ctx, ptr, len) => log(ctx.memory.readString(ptr, len)),
    ...storageImports(new Map()),
  };
  const imports: Imports = {};
  for (const name of p.imports.filter((n) => !n.startsWith("rvbox_"))) {
    imports[name] = known[name] ?? ((_ctx, ...args) => {
      log(`${name}(${args.map((a) => hex(Number(a))).join(", ")}) -> 0`);
      return 0;
    });
  }
  return imports;
}

/** Loads `bytes` as the current program and shows what it is. */
function load(bytes: Uint8Array, name: string): void {
  try {
    program = Program.fromBytes(bytes);
    programName = name;
  } catch (e) {
    program = undefined;
    $("status").textContent = `${name}: ${(e as Error).message}`;
    return;
  }
  const entry = $<HTMLSelectElement>("entry");
  entry.replaceChildren(new Option("run() (entry point)", ""));
  for (const name of program.exports) entry.add(new Option(name, name));
  $("status").textContent = `${name}: ${program.format}, ${program.base}, `
    + `${program.instructionCount} instructions, imports ${program.imports.join(", ") || "none"}`;
  $("disasm").textContent = listing(program);
  for (const id of ["output", "result", "trap", "trace"]) $(id).textContent = "";
}

/** Runs the chosen entry with the gas and arguments given; shows everything. */
function run(): void {
  if (program === undefined) return;
  const p = program;
  const out: string[] = [];
  const decoder = new TextDecoder();
  let printed = "";
  const steps: { pc: number; regs: Int32Array; }[] = [];
  const gas = Number($<HTMLInputElement>("gas").value);
  const name = $<HTMLSelectElement>("entry").value;
  const args = $<HTMLInputElement>("args").value.split(/[\s,]+/).filter((a) => a !== "").map(
    Number,
  );
  let instance;
  try {
    instance = p.instantiate(hostFunctions(p, (line) => out.push(line)), {
      tier: "interpreter",
      gas,
      print: (bytes) => void (printed += decoder.decode(bytes, { stream: true })),
      trace: (pc, regs) => {
        steps.push({ pc, regs: regs.slice(0, 32) });
        if (steps.length > TRACE_STEPS) steps.shift();
      },
    });
  } catch (e) {
    $("result").textContent = (e as Error).message;
    return;
  }
  let result = "", trap: Trap | undefined;
  try {
    const value = name === "" ? instance.run() : instance.exports[name](...args);
    result = `${name === "" ? "exit code" : `${name}(${args.join(", ")}) =`} ${value}`;
  } catch (e) {
    if (!(e instanceof Trap)) throw e;
    trap = e;
  }
  $("output").textContent = [...out, printed].filter((s) => s !== "").join("\n");
  $("result").textContent = `${result}${result ? "; " : ""}gas used ${gas - instance.gas}`;
  $("trap").textContent = trap === undefined ? "" : trapText(p, trap);
  $("trace").textContent = steps.map(({ pc }) => `${hex(pc)}  ${instructionText(p, pc)}`).join(
    "\n",
  );
  instance.dispose();
  document.body.dataset.ran = `${programName}:${name}:${Date.now()}`;
}

/** The trap, its instruction and its registers (16 on RV32E). */
function trapText(p: Program, trap: Trap): string {
  const count = p.base === "rv32e" ? 16 : 32;
  const regs = [...trap.registers.subarray(0, count)].map((v, r) =>
    `${REGISTER_NAMES[r].padStart(4)}=${hex(v)}`
  );
  const rows = [];
  for (let r = 0; r < count; r += 4) rows.push(regs.slice(r, r + 4).join(" "));
  return `${trap.message}\n  ${hex(trap.pc)}  ${instructionText(p, trap.pc)}\n${rows.join("\n")}`;
}

async function loadFile(file: File): Promise<void> {
  load(new Uint8Array(await file.arrayBuffer()), file.name);
}

const sampleBytes: Record<string, Uint8Array> = {
  hello: samples.hello,
  fib: samples.fib,
  kvstore: samples.kvstore,
};
const sample = $<HTMLSelectElement>("sample");
for (const name of Object.keys(sampleBytes)) sample.add(new Option(name, name));
sample.addEventListener("change", () => load(sampleBytes[sample.value], sample.value));
$<HTMLInputElement>("file").addEventListener("change", (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (file) loadFile(file);
});
document.body.addEventListener("dragover", (e) => e.preventDefault());
document.body.addEventListener("drop", (e) => {
  e.preventDefault();
  const file = e.dataTransfer?.files[0];
  if (file) loadFile(file);
});
$("run").addEventListener("click", run);
load(sampleBytes[sample.value], sample.value);
document.body.dataset.ready = "1";
