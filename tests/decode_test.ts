/**
 * Decoder and disassembler tests. The main check compares abi/decode.ts +
 * abi/disasm.ts with an independent decoder, LLVM's: instruction words are
 * generated from the table (every encoding, random and edge fields), plus
 * random parcels and words, assembled with llvm-mc and disassembled with
 * llvm-objdump, and every line is compared after normalizing LLVM's compressed
 * forms and number formatting.
 *
 * Without the LLVM tools the comparison is skipped with a message, or fails
 * when `RVBOX_REQUIRE_TOOLS=1`. `RVBOX_FUZZ_CASES=n` sets the number of random
 * words and parcels (default 2000).
 */
import { assertEquals } from "@std/assert";
import {
  type DecodedInstruction,
  decodeInstruction,
  newDecodedInstruction,
} from "../abi/decode.ts";
import { disassemble, REGISTER_NAMES } from "../abi/disasm.ts";
import { GAS_COST } from "../abi/gas.ts";
import { type Encoding, Op, OP_COUNT, OPS } from "../abi/isa.ts";

const MC = "llvm-mc-19";
const OBJDUMP = "llvm-objdump-19";
const REQUIRE_TOOLS = Deno.env.get("RVBOX_REQUIRE_TOOLS") === "1";
const FUZZ_CASES = Number(Deno.env.get("RVBOX_FUZZ_CASES") ?? "") || 2000;

async function toolRuns(command: string): Promise<boolean> {
  try {
    const cmd = new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" });
    return (await cmd.output()).success;
  } catch {
    return false;
  }
}

const TOOLS = (await toolRuns(MC)) && (await toolRuns(OBJDUMP));
if (!TOOLS) {
  const missing = `${MC} / ${OBJDUMP} not found`;
  console.log(
    REQUIRE_TOOLS
      ? `decode_test: ${missing} and RVBOX_REQUIRE_TOOLS=1: the LLVM comparison FAILS`
      : `decode_test: SKIPPED the LLVM comparison: ${missing}`,
  );
}

// ---------------------------------------------------------------------------
// Case generation

/** One instruction to test: a 16-bit parcel (size 2) or a 32-bit word (size 4). */
interface Case {
  readonly bits: number;
  readonly size: 2 | 4;
}

/** Deterministic xorshift32, so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const EDGE_REGS = [0, 1, 2, 8, 15, 16, 31];

/**
 * Random bits for the free (unmatched) positions of an encoding, biased to
 * edge values: all zeros, all ones, and edge register numbers in the
 * rd/rs1/rs2 fields of the given positions.
 */
function fill(next: () => number, regShifts: readonly number[]): number {
  const choice = next() % 4;
  if (choice === 0) return 0;
  if (choice === 1) return -1;
  let bits = next();
  if (choice === 2) {
    for (const shift of regShifts) {
      bits = (bits & ~(31 << shift)) | (EDGE_REGS[next() % EDGE_REGS.length] << shift);
    }
  }
  return bits;
}

/** Words and parcels covering every encoding in the table, plus random ones. */
function generateCases(): Case[] {
  const next = rng(0x5eed1234);
  const cases: Case[] = [];
  const variants = 24;
  const add = (bits: number, size: 2 | 4) => cases.push({ bits: bits >>> 0, size });
  for (const info of OPS) {
    const e = info.encoding;
    if (e !== undefined) {
      for (let v = 0; v < variants; v++) add(e.match | (fill(next, [7, 15, 20]) & ~e.mask), 4);
      // Near misses: one fixed bit flipped (never the length bits).
      for (let v = 0; v < 8; v++) add(e.match ^ (e.mask & ~3 & (1 << (next() % 32))), 4);
    }
    for (const f of info.compressed) {
      for (let v = 0; v < variants; v++) {
        add((f.match | (fill(next, [2, 7]) & ~f.mask)) & 0xffff, 2);
      }
    }
  }
  for (let i = 0; i < FUZZ_CASES / 2; i++) {
    const parcel = next() & 0xffff;
    if ((parcel & 3) !== 3) add(parcel, 2);
    add(next() | 3, 4);
  }
  for (const word of SPECIAL_WORDS) add(word, 4);
  return cases;
}

/** Encodings LLVM knows that are outside the rvbox instruction set, and edge encodings. */
const SPECIAL_WORDS = [
  0x30200073, // mret
  0x10200073, // sret
  0x10500073, // wfi
  0x34011073, // csrrw zero, mscratch, sp
  0xc0002573, // csrrs a0, cycle, zero (rdcycle)
  0x0005a507, // flw fa0, 0(a1)
  0x00b57553, // fadd.s
  0x0015051b, // addiw (RV64)
  0x02b5053b, // mulw (RV64)
  0x0205d513, // srli with imm[5] = 1
  0x00100073 | (1 << 7), // ebreak with rd set
  0x00000073 | (1 << 15), // ecall with rs1 set
  0x8330000f, // fence.tso
  0x0100000f, // pause
  0x0000100f, // fence.i
  0x1015a52f, // lr.w with rs2 != 0
  0x0005b52f, // amoadd.d (RV64)
  0x0005952f, // amoadd.h (reserved width)
];

// ---------------------------------------------------------------------------
// Normalization: both sides become "mnemonic op1,op2,..." with numbers decimal.

const ABI_NAMES = new Set(REGISTER_NAMES);
const OUR_MNEMONICS = new Set(OPS.filter((o) => o.kind !== "invalid").map((o) => o.name));

function parseNumber(text: string): number | undefined {
  const m = /^(-?)(0x[0-9a-f]+|\d+)$/.exec(text);
  if (!m) return undefined;
  const value = Number(m[2]);
  return m[1] ? -value : value;
}

/** Canonical form of one operand: numbers in decimal, `imm(reg)` kept. */
function canonOperand(text: string): string {
  const mem = /^(.*)\((\w+)\)$/.exec(text);
  if (mem) return `${mem[1] === "" ? "" : canonOperand(mem[1])}(${mem[2]})`;
  const value = parseNumber(text);
  return value === undefined ? text : String(value);
}

function canon(mnemonic: string, operands: readonly string[]): string {
  return `${mnemonic} ${operands.map(canonOperand).join(",")}`.trim();
}

/** Canonical form of our disassembly. */
function canonOurs(text: string): string {
  const [mnemonic, ...rest] = text.split(" ");
  return canon(mnemonic, rest.join(" ").split(",").map((s) => s.trim()).filter((s) => s));
}

type Expansion = (ops: string[]) => string[] | null;
const binary = (base: string): Expansion => ([rd, rs2]) => [base, rd, rd, rs2];
const shift = (base: string): Expansion => ([rd, sh]) => [base, rd, rd, sh];
const shift64 = (base: string): Expansion => ([rd]) => [base, rd, rd, "0"];
const branchZero = (base: string): Expansion => ([rs1, target]) => [base, rs1, "zero", target];

/**
 * Compressed instructions as LLVM prints them -> the base instruction they
 * expand to (C extension spec). `null` marks an encoding LLVM decodes that the
 * contract reserves: C.LUI with a zero immediate.
 */
const EXPANSIONS: Readonly<Record<string, Expansion>> = {
  "c.addi4spn": ([rd, sp, imm]) => ["addi", rd, sp, imm],
  "c.lw": ([rd, mem]) => ["lw", rd, mem],
  "c.lwsp": ([rd, mem]) => ["lw", rd, mem],
  "c.sw": ([rs2, mem]) => ["sw", rs2, mem],
  "c.swsp": ([rs2, mem]) => ["sw", rs2, mem],
  "c.nop": ([imm]) => ["addi", "zero", "zero", imm ?? "0"],
  "c.addi": ([rd, imm]) => ["addi", rd, rd, imm],
  "c.li": ([rd, imm]) => ["addi", rd, "zero", imm],
  "c.addi16sp": ([sp, imm]) => ["addi", sp, sp, imm],
  // LLVM prints the HINT form (rd=zero) signed, others as the 20-bit field.
  "c.lui": ([rd, imm]) => {
    const value = parseNumber(imm) ?? 0;
    return value === 0 ? null : ["lui", rd, String(value & 0xfffff)];
  },
  "c.andi": ([rd, imm]) => ["andi", rd, rd, imm],
  "c.slli": shift("slli"),
  "c.srli": shift("srli"),
  "c.srai": shift("srai"),
  "c.slli64": shift64("slli"),
  "c.srli64": shift64("srli"),
  "c.srai64": shift64("srai"),
  "c.sub": binary("sub"),
  "c.xor": binary("xor"),
  "c.or": binary("or"),
  "c.and": binary("and"),
  "c.add": binary("add"),
  "c.mv": ([rd, rs2]) => ["add", rd, "zero", rs2],
  "c.j": ([target]) => ["jal", "zero", target],
  "c.jal": ([target]) => ["jal", "ra", target],
  "c.beqz": branchZero("beq"),
  "c.bnez": branchZero("bne"),
  "c.jr": ([rs1]) => ["jalr", "zero", `0(${rs1})`],
  "c.jalr": ([rs1]) => ["jalr", "ra", `0(${rs1})`],
  "c.ebreak": () => ["ebreak"],
};

const INVALID = "<invalid>";

/**
 * What our decoder must produce for an LLVM line: its canonical base form if
 * the instruction is in the rvbox set, else `<invalid>`.
 */
function expectedFromLlvm(text: string): string {
  if (text.startsWith("<unknown>")) return INVALID;
  const [mnemonic, rest = ""] = text.replace(/\s*<[^>]*>\s*$/, "").split("\t");
  let ops = rest.split(",").map((s) => s.trim()).filter((s) => s);
  let mn = mnemonic.trim();
  const expand = EXPANSIONS[mn];
  if (expand !== undefined) {
    const expanded = expand(ops);
    if (expanded === null) return INVALID;
    [mn, ...ops] = expanded;
  }
  // aq/rl are dropped. LLVM accepts shift amounts >= 32 in some HINT forms
  // (rd = zero); RV32 reserves shamt[5] = 1 everywhere.
  mn = mn.replace(/\.(aqrl|aq|rl)$/, "");
  if (/^s(ll|rl|ra)i$/.test(mn) && (parseNumber(ops[2]) ?? 0) >= 32) return INVALID;
  // FENCE operands (pred/succ/fm) are not kept; FENCE.TSO and PAUSE are FENCE.
  if (mn === "fence" || mn === "fence.tso" || mn === "pause") return "fence";
  if (!OUR_MNEMONICS.has(mn)) return INVALID;
  if (ops.some((op) => /^[a-z]\w*$/.test(op) && !ABI_NAMES.has(op))) return INVALID;
  return canon(mn, ops);
}

/**
 * Encodings the contract accepts where LLVM does not: FENCE and FENCE.I with
 * non-zero reserved fields (rd, rs1, fm, imm) are ordinary fences, as the
 * spec asks base implementations to ignore those fields.
 */
function contractOverride(c: Case): string | undefined {
  if (c.size !== 4) return undefined;
  if ((c.bits & 0x707f) === 0x000f) return "fence";
  if ((c.bits & 0x707f) === 0x100f) return "fence.i";
  return undefined;
}

function decodeCase(c: Case, rve: boolean, out: DecodedInstruction): DecodedInstruction {
  return decodeInstruction(c.bits & 0xffff, c.bits >>> 16, rve, out);
}

function ours(c: Case, pc: number, rve: boolean, d: DecodedInstruction): string {
  decodeCase(c, rve, d);
  return d.op === Op.INVALID ? INVALID : canonOurs(disassemble(d, pc));
}

// ---------------------------------------------------------------------------
// Running LLVM

async function run(command: string, args: string[]): Promise<string> {
  const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  if (!result.success) {
    throw new Error(`${command} failed: ${decoder.decode(result.stderr).slice(0, 2000)}`);
  }
  return decoder.decode(result.stdout);
}

/**
 * Disassembles the cases with llvm-objdump, once per feature string; returns
 * per feature string the text of the first line at each case's address. A
 * label per case makes objdump restart there, so an unknown word cannot
 * desynchronize the rest.
 */
async function llvmDisassemble(
  cases: readonly Case[],
  addresses: readonly number[],
  featureSets: readonly string[],
): Promise<Map<number, string>[]> {
  const dir = await Deno.makeTempDir({ prefix: "rvbox_decode_" });
  try {
    const source = cases
      .map((c, i) => `c${i}: .insn ${c.size}, 0x${c.bits.toString(16)}`)
      .join("\n");
    await Deno.writeTextFile(`${dir}/cases.s`, `.text\n${source}\n`);
    const object = `${dir}/cases.o`;
    await run(MC, [
      "--triple=riscv32",
      "-mattr=+m,+a,+c",
      "-filetype=obj",
      `${dir}/cases.s`,
      "-o",
      object,
    ]);
    const wanted = new Set(addresses);
    const results: Map<number, string>[] = [];
    for (const features of featureSets) {
      const text = await run(OBJDUMP, ["-d", "-M", "no-aliases", `--mattr=${features}`, object]);
      const lines = new Map<number, string>();
      for (const line of text.split("\n")) {
        const m = /^\s*([0-9a-f]+):\s[0-9a-f ]+\t(.*)$/.exec(line);
        if (!m) continue;
        const address = parseInt(m[1], 16);
        if (wanted.has(address) && !lines.has(address)) lines.set(address, m[2]);
      }
      results.push(lines);
    }
    return results;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Lays cases out back to back from address 0, as the assembler will. */
function layout(cases: readonly Case[]): number[] {
  const addresses: number[] = [];
  let pc = 0;
  for (const c of cases) {
    addresses.push(pc);
    pc += c.size;
  }
  return addresses;
}

function hex(c: Case): string {
  return c.bits.toString(16).padStart(c.size * 2, "0");
}

const HIGH_REGISTERS = new Set(REGISTER_NAMES.slice(16));

function namesHighRegister(canonical: string): boolean {
  return canonical.split(/[ ,()]/).some((token) => HIGH_REGISTERS.has(token));
}

/**
 * Compares our decoder with LLVM's lines; returns the mismatches, described.
 * For RV32E, `rv32i` holds the RV32I lines of the same cases: LLVM's RV32E
 * decoder prints some HINT encodings that name x16..x31 (e.g. `c.mv zero, s3`)
 * with bogus operands instead of rejecting them, so the RV32I reading decides
 * whether a high register is named.
 */
function compare(
  cases: readonly Case[],
  addresses: readonly number[],
  llvm: Map<number, string>,
  rve: boolean,
  rv32i: Map<number, string> = llvm,
): string[] {
  const d = newDecodedInstruction();
  const mismatches: string[] = [];
  cases.forEach((c, i) => {
    const line = llvm.get(addresses[i]);
    const baseLine = rv32i.get(addresses[i]);
    if (line === undefined || baseLine === undefined) {
      mismatches.push(`${hex(c)}: no objdump line at ${addresses[i]}`);
      return;
    }
    const override = contractOverride(c);
    const expected = rve && namesHighRegister(override ?? expectedFromLlvm(baseLine))
      ? INVALID
      : override ?? expectedFromLlvm(line);
    const actual = ours(c, addresses[i], rve, d);
    if (actual !== expected) {
      mismatches.push(`${hex(c)}: llvm "${line}" -> ${expected}, ours ${actual}`);
    }
  });
  return mismatches;
}

// ---------------------------------------------------------------------------
// Tests

Deno.test({
  name: "decoder and disassembler agree with llvm-objdump (RV32IMAC and RV32E)",
  ignore: !TOOLS && !REQUIRE_TOOLS,
  async fn() {
    if (!TOOLS) throw new Error(`RVBOX_REQUIRE_TOOLS=1 but ${MC} / ${OBJDUMP} are missing`);
    const cases = generateCases();
    const addresses = layout(cases);
    const [rv32i, rv32e] = await llvmDisassemble(cases, addresses, ["+m,+a,+c", "+e,+m,+a,+c"]);
    const mismatches = [
      ...compare(cases, addresses, rv32i, false),
      ...compare(cases, addresses, rv32e, true, rv32i).map((m) => `rve ${m}`),
    ];
    const d = newDecodedInstruction();
    const valid = cases.filter((c) => decodeCase(c, false, d).op !== Op.INVALID);
    const seen = new Set(valid.map((c) => decodeCase(c, false, d).op));
    const unseen = OPS.filter((o, op) => o.kind !== "invalid" && !seen.has(op)).map((o) => o.name);
    console.log(
      `decode_test: compared ${cases.length} cases (${valid.length} valid, `
        + `${cases.filter((c) => c.size === 2).length} compressed) against ${OBJDUMP}, `
        + `in RV32I and RV32E mode`,
    );
    assertEquals(mismatches.slice(0, 30), [], `${mismatches.length} mismatches`);
    assertEquals(unseen, [], "ops never generated");
  },
});

Deno.test({
  name: "every compressed parcel agrees with llvm-objdump (RV32IC and RV32EC)",
  ignore: !TOOLS && !REQUIRE_TOOLS,
  async fn() {
    if (!TOOLS) throw new Error(`RVBOX_REQUIRE_TOOLS=1 but ${MC} / ${OBJDUMP} are missing`);
    const cases: Case[] = [];
    for (let p = 0; p < 0x10000; p++) if ((p & 3) !== 3) cases.push({ bits: p, size: 2 });
    const addresses = layout(cases);
    const [rv32i, rv32e] = await llvmDisassemble(cases, addresses, ["+m,+a,+c", "+e,+m,+a,+c"]);
    const mismatches = [
      ...compare(cases, addresses, rv32i, false),
      ...compare(cases, addresses, rv32e, true, rv32i).map((m) => `rve ${m}`),
    ];
    console.log(`decode_test: compared all ${cases.length} compressed parcels, RV32I and RV32E`);
    assertEquals(mismatches.slice(0, 30), [], `${mismatches.length} mismatches`);
  },
});

Deno.test("the op table is dense, complete and unambiguous", () => {
  assertEquals(OPS.length, OP_COUNT);
  assertEquals(Object.values(Op), [...Array(OP_COUNT).keys()]);
  assertEquals(new Set(OPS.map((o) => o.name)).size, OP_COUNT);
  assertEquals(GAS_COST.length, OP_COUNT);
  assertEquals([...GAS_COST].every((cost) => cost === 1), true);
  const terminators = OPS.filter((o) => o.terminator).map((o) => o.name);
  assertEquals(terminators, [
    "jal",
    "jalr",
    "beq",
    "bne",
    "blt",
    "bge",
    "bltu",
    "bgeu",
    "ecall",
    "ebreak",
  ]);
  const d = newDecodedInstruction();
  const wide: Encoding[] = [];
  OPS.forEach((info, op) => {
    if (info.encoding === undefined) return;
    // The match word itself (all free fields zero) decodes to the op.
    decodeInstruction(info.encoding.match & 0xffff, info.encoding.match >>> 16, false, d);
    assertEquals([d.op, d.size], [op, 4], info.name);
    for (const other of wide) {
      const overlap = ((other.match ^ info.encoding.match) & other.mask & info.encoding.mask) === 0;
      assertEquals(overlap, false, `${info.name} overlaps another encoding`);
    }
    wide.push(info.encoding);
  });
});

/** Decodes a 32-bit word or a 16-bit parcel. */
function decode(bits: number, rve = false): DecodedInstruction {
  return decodeInstruction(bits & 0xffff, bits >>> 16, rve, newDecodedInstruction());
}

function text(bits: number, pc = 0, rve = false): string {
  return disassemble(decode(bits, rve), pc);
}

Deno.test("disassembly format", () => {
  assertEquals(text(0x00150513), "addi a0, a0, 1");
  assertEquals(text(0x00812583), "lw a1, 8(sp)");
  assertEquals(text(0xff042e23), "sw a6, -4(s0)");
  assertEquals(text(0x22050a63, 0x1000), "beq a0, zero, 0x1234");
  assertEquals(text(0x12345537), "lui a0, 0x12345");
  assertEquals(text(0xfffff197), "auipc gp, 0xfffff");
  assertEquals(text(0x00008067), "jalr zero, 0(ra)");
  assertEquals(text(0x00b6252f), "amoadd.w a0, a1, (a2)");
  assertEquals(text(0x1005a52f), "lr.w a0, (a1)");
  assertEquals(text(0x18c5a52f), "sc.w a0, a2, (a1)");
  assertEquals(text(0x41f5d513), "srai a0, a1, 31");
  assertEquals(text(0x0ff0000f), "fence");
  assertEquals(text(0x0000100f), "fence.i");
  assertEquals(text(0x00000073), "ecall");
  assertEquals(text(0x00100073), "ebreak");
  assertEquals(text(0x30200073), "<invalid>");
  assertEquals(text(0x4532), "lw a0, 12(sp)"); // c.lwsp
  assertEquals(text(0x3f6d, 0x1020), "jal ra, 0xfda"); // c.jal backwards
  assertEquals(text(0x8000006f, 0x10), "jal zero, 0xfff00010"); // wraps below 0
  assertEquals(REGISTER_NAMES.length, 32);
});

Deno.test("decoded fields", () => {
  const fields = (bits: number, rve = false) => {
    const d = decode(bits, rve);
    return [d.op, d.rd, d.rs1, d.rs2, d.imm, d.size, d.compressed];
  };
  assertEquals(fields(0x12345537), [Op.LUI, 10, 0, 0, 0x12345000, 4, false]);
  assertEquals(fields(0xfffff197), [Op.AUIPC, 3, 0, 0, -4096, 4, false]);
  assertEquals(fields(0x22050a63), [Op.BEQ, 0, 10, 0, 0x234, 4, false]);
  assertEquals(fields(0x8000006f), [Op.JAL, 0, 0, 0, -0x100000, 4, false]);
  assertEquals(fields(0x46c5a52f), [Op.AMOOR_W, 10, 11, 12, 0, 4, false]); // aq/rl set
  assertEquals(fields(0x8330000f), [Op.FENCE, 0, 0, 0, 0, 4, false]); // fence.tso
  assertEquals(fields(0x0001), [Op.ADDI, 0, 0, 0, 0, 2, true]); // c.nop
  assertEquals(fields(0x8082), [Op.JALR, 0, 1, 0, 0, 2, true]); // c.jr ra
  assertEquals(fields(0x9502), [Op.JALR, 1, 10, 0, 0, 2, true]); // c.jalr a0
  assertEquals(fields(0x852e), [Op.ADD, 10, 0, 11, 0, 2, true]); // c.mv a0, a1
  assertEquals(fields(0x952e), [Op.ADD, 10, 10, 11, 0, 2, true]); // c.add a0, a1
  assertEquals(fields(0xc101), [Op.BEQ, 0, 10, 0, 0, 2, true]); // c.beqz a0, 0
  assertEquals(fields(0x9002), [Op.EBREAK, 0, 0, 0, 0, 2, true]);
  assertEquals(fields(0x0000), [Op.INVALID, 0, 0, 0, 0, 2, true]);
  assertEquals(fields(0xffffffff), [Op.INVALID, 0, 0, 0, 0, 4, false]);
});

Deno.test("reserved and floating-point compressed encodings are invalid", () => {
  const reserved: Record<string, number> = {
    "all-zero parcel": 0x0000,
    "c.addi4spn zero immediate": 0x0004,
    "c.lwsp rd=0": 0x4002,
    "c.jr rs1=0": 0x8002,
    "c.addi16sp zero immediate": 0x6101,
    "c.lui zero immediate": 0x6501,
    "c.lui rd=0 zero immediate": 0x6001,
    "c.slli shamt[5]": 0x1506,
    "c.srli shamt[5]": 0x9105,
    "c.srai shamt[5]": 0x9505,
    "c.subw (RV64)": 0x9d0d,
    "c.fld": 0x2188,
    "c.fsd": 0xa188,
    "c.flw": 0x6188,
    "c.fsw": 0xe188,
    "c.fldsp": 0x2522,
    "c.fsdsp": 0xa02a,
    "c.flwsp": 0x6522,
    "c.fswsp": 0xe02a,
  };
  for (const [name, parcel] of Object.entries(reserved)) {
    assertEquals(decode(parcel).op, Op.INVALID, name);
  }
});

Deno.test("compressed HINTs decode to the base op with rd=0", () => {
  const hints: Record<string, [number, number]> = {
    "c.nop with immediate": [0x0005, Op.ADDI],
    "c.addi rd=0": [0x0015, Op.ADDI],
    "c.li rd=0": [0x4015, Op.ADDI],
    "c.lui rd=0": [0x6005, Op.LUI],
    "c.mv rd=0": [0x802e, Op.ADD],
    "c.add rd=0": [0x902e, Op.ADD],
    "c.slli rd=0": [0x0016, Op.SLLI],
  };
  for (const [name, [parcel, op]] of Object.entries(hints)) {
    const d = decode(parcel);
    assertEquals([d.op, d.rd, d.size], [op, 0, 2], name);
  }
  assertEquals(text(0x0006), "slli zero, zero, 1");
  assertEquals(text(0x8101), "srli a0, a0, 0"); // c.srli shamt=0 (HINT)
});

Deno.test("RV32E rejects registers x16..x31 in every field", () => {
  const cases: Record<string, number> = {
    "rd": 0x00a58833, // add a6, a1, a0
    "rs1": 0x00a80533, // add a0, a6, a0
    "rs2": 0x01058533, // add a0, a1, a6
    "store source": 0x0105a023, // sw a6, 0(a1)
    "load base": 0x00082503, // lw a0, 0(a6)
    "jal link": 0x000008ef, // jal a7, 0
    "c.lwsp rd": 0x4842, // lw a6, 16(sp)
    "c.mv rs2": 0x8542, // add a0, zero, a6
  };
  for (const [field, bits] of Object.entries(cases)) {
    assertEquals(decode(bits).op !== Op.INVALID, true, `${field} valid in RV32I`);
    assertEquals(decode(bits, true).op, Op.INVALID, `${field} invalid in RV32E`);
  }
  // Everything else decodes the same in both modes.
  const next = rng(7);
  for (let i = 0; i < 5000; i++) {
    const bits = i & 1 ? next() | 3 : next() & 0xffff;
    const full = decode(bits);
    const e = decode(bits, true);
    const high = ((full.rd | full.rs1 | full.rs2) & 16) !== 0;
    const rejected = { ...full, op: Op.INVALID, rd: 0, rs1: 0, rs2: 0, imm: 0 };
    assertEquals(e, high ? rejected : full);
  }
});

Deno.test("size follows the low two bits and decoding never throws", () => {
  const next = rng(99);
  const d = newDecodedInstruction();
  for (let i = 0; i < 5000; i++) {
    const lo = next() & 0xffff;
    decodeInstruction(lo, next() & 0xffff, (i & 2) !== 0, d);
    assertEquals(d.size, (lo & 3) === 3 ? 4 : 2);
    assertEquals(d.compressed, d.size === 2);
  }
  for (const [lo, hi] of [[NaN, NaN], [-1, -1], [0x1ffff, 0x12345], [Infinity, 0.5]]) {
    decodeInstruction(lo, hi, false, d);
    assertEquals(d.size === 2 || d.size === 4, true);
  }
});

Deno.test("the decoder's literal tables are what abi/isa.ts derives (else: deno task tables)", async () => {
  const { deriveTables } = await import("../abi/_decode_build.ts");
  const tables = await import("../abi/_decode_tables.ts");
  const derived = deriveTables();
  assertEquals(tables.WIDE, derived.WIDE);
  assertEquals(tables.NARROW, derived.NARROW);
  assertEquals(tables.ENDS_BLOCK, derived.ENDS_BLOCK);
});
