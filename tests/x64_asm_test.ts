/**
 * The x86-64 assembler against an independent disassembler: every form the
 * backend can emit, over all registers, immediate classes and memory
 * shapes, is decoded by `llvm-mc-19` (Intel syntax) and compared with text
 * this test writes from its own register and mnemonic tables.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { State } from "../jit/state.ts";
import { aluGuest, loadGuest, putGuest, setGuest } from "../jit/x64/_guest_regs.ts";
import { ALU, type Mem, MOVE, type Reg, SHIFT, X64Assembler } from "../jit/x64/asm.ts";
import { R12, R13, R14, R15, R9, RAX, RBP, RDX, RSP } from "../jit/x64/asm.ts";
import { toolTest } from "./_tiers.ts";

const NUM = [...Array(16).keys()];
const R64 = [
  "rax",
  "rcx",
  "rdx",
  "rbx",
  "rsp",
  "rbp",
  "rsi",
  "rdi",
  ...[8, 9, 10, 11, 12, 13, 14, 15].map((n) => `r${n}`),
];
const R32 = [
  "eax",
  "ecx",
  "edx",
  "ebx",
  "esp",
  "ebp",
  "esi",
  "edi",
  ...R64.slice(8).map((r) => `${r}d`),
];
const R16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di", ...R64.slice(8).map((r) => `${r}w`)];
const R8 = [
  "al",
  "cl",
  "dl",
  "bl",
  "spl",
  "bpl",
  "sil",
  "dil",
  ...R64.slice(8).map((r) => `${r}b`),
];
const ALU_NAMES = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"];
const SHIFTS: [number, string][] = [[SHIFT.ROL, "rol"], [SHIFT.ROR, "ror"], [SHIFT.SHL, "shl"], [
  SHIFT.SHR,
  "shr",
], [SHIFT.SAR, "sar"]];
const CCS = [
  "o",
  "no",
  "b",
  "ae",
  "e",
  "ne",
  "be",
  "a",
  "s",
  "ns",
  "p",
  "np",
  "l",
  "ge",
  "le",
  "g",
];
const IMMS = [0, 1, -1, 127, 128, -128, -129, 1000, 0x7fffffff, -0x80000000];
const DISPS = [0, 8, -8, 127, 128, -129, 100000, -0x80000000];
const fitsI8 = (v: number) => v >= -128 && v <= 127;
/** llvm prints imm8 operands signed and imm32 operands of 32-bit instructions unsigned. */
const imm32 = (v: number) => String(fitsI8(v) ? v : v >>> 0);
// dprint-ignore-file

/** Memory shapes: every base, no index or a few indexes with every scale, several displacements. */
function memoryShapes(): Mem[] {
  const shapes: Mem[] = [];
  for (const base of NUM) {
    for (const disp of DISPS) {
      shapes.push({ base, disp });
      for (const index of [RAX, R9, RBP, R13]) {
        for (const scale of [1, 2, 4, 8] as const) {
          if ((disp & 3) === 0 || scale === 1) shapes.push({ base, index, scale, disp });
        }
      }
    }
  }
  return shapes;
}

function memText(m: Mem, size: string): string {
  let text = R64[m.base];
  if (m.index !== undefined) {
    text += ` + ${m.scale && m.scale > 1 ? `${m.scale}*` : ""}${R64[m.index]}`;
  }
  const d = m.disp ?? 0;
  if (d > 0) text += ` + ${d}`;
  if (d < 0) text += ` - ${-d}`;
  return `${size}${size ? " ptr " : ""}[${text}]`;
}

/** Every instruction form, as (emit, expected Intel text) pairs. */
function forms(): [(a: X64Assembler) => void, string][] {
  const out: [(a: X64Assembler) => void, string][] = [];
  const add = (emit: (a: X64Assembler) => void, text: string) => out.push([emit, text]);
  for (const d of NUM) {
    for (const s of NUM) {
      add((a) => a.mov32(d, s), `mov ${R32[d]}, ${R32[s]}`);
      add((a) => a.mov64(d, s), `mov ${R64[d]}, ${R64[s]}`);
      ALU_NAMES.forEach((name, op) => {
        add((a) => a.alu32(op, d, s), `${name} ${R32[d]}, ${R32[s]}`);
        add((a) => a.alu64(op, d, s), `${name} ${R64[d]}, ${R64[s]}`);
      });
      add((a) => a.imul32(d, s), `imul ${R32[d]}, ${R32[s]}`);
      add((a) => a.imul64(d, s), `imul ${R64[d]}, ${R64[s]}`);
      add((a) => a.movsxd(d, s), `movsxd ${R64[d]}, ${R32[s]}`);
      add((a) => a.movzx8(d, s), `movzx ${R32[d]}, ${R8[s]}`);
      add((a) => a.movsx8(d, s), `movsx ${R32[d]}, ${R8[s]}`);
      add((a) => a.movzx16(d, s), `movzx ${R32[d]}, ${R16[s]}`);
      add((a) => a.movsx16(d, s), `movsx ${R32[d]}, ${R16[s]}`);
      add((a) => a.test32(d, s), `test ${R32[d]}, ${R32[s]}`);
      add((a) => a.test64(d, s), `test ${R64[d]}, ${R64[s]}`);
      CCS.forEach((cc, c) => add((a) => a.cmov32(c, d, s), `cmov${cc} ${R32[d]}, ${R32[s]}`));
    }
    for (
      const [name, emit] of [
        ["mul", "mul32"],
        ["imul", "imul32One"],
        ["div", "div32"],
        ["idiv", "idiv32"],
        ["neg", "neg32"],
        ["not", "not32"],
      ] as const
    ) {
      add((a) => a[emit](d), `${name} ${R32[d]}`);
    }
    for (const [op, name] of SHIFTS) {
      add((a) => a.shift32(op, d), `${name} ${R32[d]}, cl`);
      for (const n of [1, 5, 31]) add((a) => a.shift32Imm(op, d, n), `${name} ${R32[d]}, ${n}`);
      add((a) => a.shift64Imm(op, d, 63), `${name} ${R64[d]}, 63`);
    }
    CCS.forEach((cc, c) => add((a) => a.setcc(c, d), `set${cc} ${R8[d]}`));
    add((a) => a.push(d), `push ${R64[d]}`);
    add((a) => a.pop(d), `pop ${R64[d]}`);
    add((a) => a.jmpReg(d), `jmp ${R64[d]}`);
    add((a) => a.callReg(d), `call ${R64[d]}`);
    for (const v of IMMS) {
      add((a) => a.movImm32(d, v), `mov ${R32[d]}, ${v >>> 0}`);
      ALU_NAMES.forEach((name, op) => {
        add((a) => a.alu32Imm(op, d, v), `${name} ${R32[d]}, ${imm32(v)}`);
        add((a) => a.alu64Imm(op, d, v), `${name} ${R64[d]}, ${v}`);
      });
      add(
        (a) => a.imul32Imm(d, (d + 3) & 15, v),
        `imul ${R32[d]}, ${R32[(d + 3) & 15]}, ${imm32(v)}`,
      );
      add((a) => a.test32Imm(d, v), `test ${R32[d]}, ${v >>> 0}`);
    }
    add((a) => a.movImm64(d, -5n), `mov ${R64[d]}, -5`);
    add((a) => a.movImm64(d, 0xffffffffn), `mov ${R32[d]}, 4294967295`);
    add((a) => a.movImm64(d, 0x123456789abn), `movabs ${R64[d]}, ${0x123456789ab}`);
  }
  const shapes = memoryShapes();
  shapes.forEach((m, k) => {
    const r: Reg = k % 16;
    add((a) => a.load32(r, m), `mov ${R32[r]}, ${memText(m, "dword")}`);
    add((a) => a.load64(r, m), `mov ${R64[r]}, ${memText(m, "qword")}`);
    add((a) => a.loadU8(r, m), `movzx ${R32[r]}, ${memText(m, "byte")}`);
    add((a) => a.loadS8(r, m), `movsx ${R32[r]}, ${memText(m, "byte")}`);
    add((a) => a.loadU16(r, m), `movzx ${R32[r]}, ${memText(m, "word")}`);
    add((a) => a.loadS16(r, m), `movsx ${R32[r]}, ${memText(m, "word")}`);
    add((a) => a.store32(m, r), `mov ${memText(m, "dword")}, ${R32[r]}`);
    add((a) => a.store64(m, r), `mov ${memText(m, "qword")}, ${R64[r]}`);
    add((a) => a.store16(m, r), `mov ${memText(m, "word")}, ${R16[r]}`);
    add((a) => a.store8(m, r), `mov ${memText(m, "byte")}, ${R8[r]}`);
    add((a) => a.lea32(r, m), `lea ${R32[r]}, ${memText(m, "")}`);
    if (m.index === undefined) {
      add((a) => a.leaDisp32(r, m.base, m.disp ?? 0), `lea ${R32[r]}, ${memText(m, "")}`);
    }
    add((a) => a.lea64(r, m), `lea ${R64[r]}, ${memText(m, "")}`);
    if (m.index !== undefined && m.scale === 1 && (m.disp ?? 0) === 0) {
      const [base, index] = [m.base, m.index];
      const moves: [number, string][] = [
        [MOVE.LOAD32, `mov ${R32[r]}, ${memText(m, "dword")}`],
        [MOVE.LOADU8, `movzx ${R32[r]}, ${memText(m, "byte")}`],
        [MOVE.LOADS8, `movsx ${R32[r]}, ${memText(m, "byte")}`],
        [MOVE.LOADU16, `movzx ${R32[r]}, ${memText(m, "word")}`],
        [MOVE.LOADS16, `movsx ${R32[r]}, ${memText(m, "word")}`],
        [MOVE.STORE32, `mov ${memText(m, "dword")}, ${R32[r]}`],
        [MOVE.STORE16, `mov ${memText(m, "word")}, ${R16[r]}`],
        [MOVE.STORE8, `mov ${memText(m, "byte")}, ${R8[r]}`],
      ];
      for (const [kind, text] of moves) add((a) => a.moveIndexed(kind, r, base, index), text);
    }
    const v = IMMS[k % IMMS.length];
    add((a) => a.storeImm32(m, v), `mov ${memText(m, "dword")}, ${v >>> 0}`);
    add((a) => a.storeImm64(m, v), `mov ${memText(m, "qword")}, ${v}`);
    const op = k % 8, name = ALU_NAMES[op];
    add((a) => a.alu32RM(op, r, m), `${name} ${R32[r]}, ${memText(m, "dword")}`);
    add((a) => a.alu64RM(op, r, m), `${name} ${R64[r]}, ${memText(m, "qword")}`);
    add((a) => a.alu32MR(op, m, r), `${name} ${memText(m, "dword")}, ${R32[r]}`);
    add((a) => a.alu32MI(op, m, v), `${name} ${memText(m, "dword")}, ${imm32(v)}`);
    add((a) => a.alu64MI(op, m, v), `${name} ${memText(m, "qword")}, ${v}`);
    add((a) => a.jmpMem(m), `jmp ${memText(m, "qword")}`);
    add((a) => a.callMem(m), `call ${memText(m, "qword")}`);
  });
  for (
    const [emit, text] of [["cdq", "cdq"], ["ret", "ret"], ["ud2", "ud2"], ["int3", "int3"], [
      "nop",
      "nop",
    ]] as const
  ) {
    add((a) => a[emit](), text);
  }
  return out;
}

async function disassemble(bytes: Uint8Array): Promise<string[]> {
  const child = new Deno.Command("llvm-mc-19", {
    args: ["--disassemble", "-triple=x86_64", "-output-asm-variant=1"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode(Array.from(bytes, (b) => `0x${b.toString(16)}`).join(" ")),
  );
  await writer.close();
  const { stdout, stderr } = await child.output();
  const warnings = new TextDecoder().decode(stderr);
  if (warnings.includes("invalid")) throw new Error(`llvm-mc: ${warnings.slice(0, 500)}`);
  return new TextDecoder().decode(stdout).split("\n").map((l) => l.trim().replace(/\s+/g, " "))
    .filter((l) => l && !l.startsWith("."));
}

await toolTest(
  "x86-64 assembler: every form over every register, immediate and memory shape matches llvm-mc",
  ["llvm-mc-19"],
  async () => {
    const list = forms();
    const a = new X64Assembler(16);
    for (const [emit] of list) emit(a);
    const lines = await disassemble(a.finish());
    assertEquals(
      lines.length,
      list.length,
      "instruction count (a mis-sized encoding desynchronizes the stream)",
    );
    const wrong = list.flatMap((
      [, text],
      k,
    ) => (lines[k] === text ? [] : [`#${k}: expected "${text}", llvm-mc says "${lines[k]}"`]));
    assertEquals(wrong.slice(0, 10), [], `${wrong.length} of ${list.length} forms differ`);
    console.log(`x86-64 assembler: ${list.length} forms match llvm-mc`);
  },
);

await toolTest(
  "x86-64 assembler: labels, rel8/rel32 choice and fix-ups",
  ["llvm-mc-19"],
  async () => {
    const a = new X64Assembler();
    const back = a.label();
    a.bind(back);
    a.nop();
    a.jcc(4, back); // bound and near: rel8 (2 bytes)
    a.jmp(back);
    const forward = a.label();
    a.jcc(5, forward); // unbound: rel32 (6 bytes)
    a.jmp(forward); // 5 bytes
    a.call(forward); // 5 bytes
    a.leaLabel(R12, forward); // 7 bytes
    for (let k = 0; k < 200; k++) a.nop();
    a.bind(forward);
    a.jmp(back); // bound but far: rel32
    assertEquals(a.offsetOf(forward), 1 + 2 + 2 + 6 + 5 + 5 + 7 + 200);
    const cold = a.offset;
    a.callThenJmp(0, cold + 100); // a cold path: back to a routine, forward to its site
    const charges = [a.subJs(R14, 5), a.subJs(RAX, 200), a.subJs(R9, -129)]; // block charges
    for (const field of charges) a.patchRel32(field, field + 4 + 16);
    const lines = await disassemble(a.finish());
    assertEquals(lines.filter((l) => l !== "nop"), [
      "je -3",
      "jmp -5",
      "jne 217",
      "jmp 212",
      "call 207",
      "lea r12, [rip + 200]",
      `jmp ${-(a.offsetOf(forward) + 5)}`,
      `call ${-(cold + 5)}`,
      "jmp 90",
      "sub r14, 5",
      "js 16",
      "sub rax, 200",
      "js 16",
      "sub r9, -129",
      "js 16",
    ]);
  },
);

Deno.test("x86-64 assembler: invalid operands and label misuse throw", () => {
  const a = new X64Assembler();
  assertThrows(() => a.load32(RAX, { base: RAX, index: RSP }), RangeError, "index");
  assertThrows(() => a.load32(RAX, { base: RAX, index: RAX, scale: 3 as 1 }), RangeError, "scale");
  assertThrows(() => a.load32(RAX, { base: RAX, disp: 2 ** 31 }), RangeError, "displacement");
  assertThrows(() => a.alu64Imm(ALU.ADD, RAX, 0xffffffff), RangeError);
  assertThrows(() => a.movImm32(RAX, 2 ** 32), RangeError);
  assertThrows(() => a.shift32Imm(SHIFT.SHL, RAX, 32), RangeError);
  assertThrows(() => a.mov32(16, RAX), RangeError, "register");
  const l = a.label();
  a.bind(l);
  assertThrows(() => a.bind(l), Error, "already bound");
  const unbound = a.label();
  a.jmp(unbound);
  assertThrows(() => a.finish(), Error, "not bound");
  // Growth past the initial capacity keeps every byte.
  const big = new X64Assembler(16);
  for (let k = 0; k < 1000; k++) big.movImm32(R15, k);
  const bytes = big.finish();
  assertEquals(bytes.length, 6000);
  assertEquals([bytes[5994], bytes[5995], bytes[5996]], [0x41, 0xbf, 999 & 0xff]);
});

Deno.test("x86-64 raw encoders: the guest-register forms are the assembler's instructions", () => {
  // Guest x1-x11 in host registers (every REX combination), the rest in state-block slots.
  const host = Array.from(
    { length: 32 },
    (_, g) => (g >= 1 && g <= 11 ? [3, 6, 7, 5, 8, 9, 10, 11, 12, 13, 1][g - 1] : -1),
  );
  const slot = (r: number): Mem => ({ base: R15, disp: State.REGS + 4 * r });
  const same = (
    raw: (buf: Uint8Array, p: number) => number,
    emit: (a: X64Assembler) => void,
    what: string,
  ) => {
    const buf = new Uint8Array(32);
    const a = new X64Assembler(64);
    emit(a);
    assertEquals(Array.from(buf.subarray(0, raw(buf, 0))), Array.from(a.finish()), what);
  };
  for (let r = 0; r < 32; r++) {
    const h = host[r];
    for (const into of [RAX, RDX, R9, R13]) {
      same((b, p) => loadGuest(b, p, host, into, r), (a) => {
        if (h === into) return;
        if (h >= 0) a.mov32(into, h);
        else if (r === 0) a.movImm32(into, 0);
        else a.load32(into, slot(r));
      }, `load x${r} into ${into}`);
      same((b, p) => putGuest(b, p, host, r, into), (a) => {
        if (r === 0 || h === into) return;
        if (h >= 0) a.mov32(h, into);
        else a.store32(slot(r), into);
      }, `put ${into} into x${r}`);
      for (const op of [ALU.ADD, ALU.CMP]) {
        same((b, p) => aluGuest(b, p, host, op, into, r), (a) => {
          if (h >= 0) a.alu32(op, into, h);
          else if (r === 0) a.alu32Imm(op, into, 0);
          else a.alu32RM(op, into, slot(r));
        }, `alu ${op} ${into}, x${r}`);
      }
    }
    for (const v of IMMS) {
      same((b, p) => setGuest(b, p, host, r, v), (a) => {
        if (r === 0) return;
        if (h >= 0) a.movImm32(h, v);
        else a.storeImm32(slot(r), v);
      }, `x${r} = ${v}`);
    }
  }
});
