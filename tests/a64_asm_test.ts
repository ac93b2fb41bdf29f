/**
 * The AArch64 assembler against an independent assembler: every form over
 * registers and immediate ranges is written as assembly text by this test,
 * encoded by `llvm-mc-19 -triple=aarch64`, and compared word by word.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { A64Assembler, COND, SP, ZR } from "../jit/a64/asm.ts";
import { toolTest } from "./_tiers.ts";

const REGS = [0, 1, 7, 15, 16, 17, 19, 27, 28, 30];
const w = (r: number) => (r === ZR ? "wzr" : `w${r}`);
const x = (r: number) => (r === ZR ? "xzr" : `x${r}`);
const CONDS = ["eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le"];
// dprint-ignore-file

function forms(): [(a: A64Assembler) => void, string][] {
  const out: [(a: A64Assembler) => void, string][] = [];
  const add = (emit: (a: A64Assembler) => void, text: string) => out.push([emit, text]);
  for (const d of [...REGS, ZR]) {
    for (const n of REGS) {
      const m = REGS[(REGS.indexOf(n) + 3) % REGS.length];
      for (const [name, emit] of [["add", "add"], ["sub", "sub"], ["subs", "subs"], ["and", "and"], ["orr", "orr"], ["eor", "eor"], ["lsl", "lslv"], ["lsr", "lsrv"], ["asr", "asrv"], ["sdiv", "sdiv"], ["udiv", "udiv"], ["mul", "mul"]] as const) {
        add((a) => a[emit](false, d, n, m), `${name} ${w(d)}, ${w(n)}, ${w(m)}`);
        add((a) => a[emit](true, d, n, m), `${name} ${x(d)}, ${x(n)}, ${x(m)}`);
      }
      add((a) => a.madd(false, d, n, m, 5), `madd ${w(d)}, ${w(n)}, ${w(m)}, w5`);
      add((a) => a.msub(true, d, n, m, 6), `msub ${x(d)}, ${x(n)}, ${x(m)}, x6`);
      add((a) => a.smull(d, n, m), `smull ${x(d)}, ${w(n)}, ${w(m)}`);
      add((a) => a.umull(d, n, m), `umull ${x(d)}, ${w(n)}, ${w(m)}`);
      add((a) => a.mov(false, d, n), `mov ${w(d)}, ${w(n)}`);
      add((a) => a.mov(true, d, n), `mov ${x(d)}, ${x(n)}`);
      CONDS.forEach((c, k) => {
        add((a) => a.csel(false, d, n, m, k), `csel ${w(d)}, ${w(n)}, ${w(m)}, ${c}`);
        add((a) => a.csinv(true, d, n, m, k), `csinv ${x(d)}, ${x(n)}, ${x(m)}, ${c}`);
        add((a) => a.csinc(false, d, n, m, k), `csinc ${w(d)}, ${w(n)}, ${w(m)}, ${c}`);
      });
      if (d !== ZR) {
        add((a) => a.ldrW(d, n, m), `ldr ${w(d)}, [${x(n)}, ${w(m)}, uxtw]`);
        add((a) => a.ldrB(d, n, m), `ldrb ${w(d)}, [${x(n)}, ${w(m)}, uxtw]`);
        add((a) => a.ldrSB(d, n, m), `ldrsb ${w(d)}, [${x(n)}, ${w(m)}, uxtw]`);
        add((a) => a.ldrH(d, n, m), `ldrh ${w(d)}, [${x(n)}, ${w(m)}, uxtw]`);
        add((a) => a.ldrSH(d, n, m), `ldrsh ${w(d)}, [${x(n)}, ${w(m)}, uxtw]`);
        add((a) => a.addUxtw(d, n, m, 3), `add ${x(d)}, ${x(n)}, ${w(m)}, uxtw #3`);
      }
      add((a) => a.strW(d, n, m), `str ${w(d)}, [${x(n)}, ${w(m)}, uxtw]`);
      add((a) => a.strH(d, n, m), `strh ${w(d)}, [${x(n)}, ${w(m)}, uxtw]`);
      add((a) => a.strB(d, n, m), `strb ${w(d)}, [${x(n)}, ${w(m)}, uxtw]`);
      for (const imm of [0, 1, 4095, 4096, 0xfff000]) {
        if (d === ZR) continue;
        add((a) => a.addImm(false, d, n, imm), `add ${w(d)}, ${w(n)}, #${imm}`);
        add((a) => a.subImm(true, d, n, imm), `sub ${x(d)}, ${x(n)}, #${imm}`);
      }
      for (const imm of [0, 7, 4095]) {
        add((a) => a.subsImm(false, d, n, imm), `subs ${w(d)}, ${w(n)}, #${imm}`);
        add((a) => a.addsImm(true, d, n, imm), `adds ${x(d)}, ${x(n)}, #${imm}`);
      }
      for (const s of [0, 1, 13, 31]) {
        add((a) => a.lslImm(false, d, n, s), `lsl ${w(d)}, ${w(n)}, #${s}`);
        add((a) => a.lsrImm(false, d, n, s), `lsr ${w(d)}, ${w(n)}, #${s}`);
        add((a) => a.asrImm(false, d, n, s), `asr ${w(d)}, ${w(n)}, #${s}`);
      }
      add((a) => a.lsrImm(true, d, n, 32), `lsr ${x(d)}, ${x(n)}, #32`);
      add((a) => a.sxtw(d, n), `sxtw ${x(d)}, ${w(n)}`);
      for (const off of [-256, -8, 0, 8, 255]) {
        add((a) => a.ldur(false, d, n, off), `ldur ${w(d)}, [${x(n)}, #${off}]`);
        add((a) => a.stur(true, d, n, off), `stur ${x(d)}, [${x(n)}, #${off}]`);
      }
      add((a) => a.ldrX(d, n, 32760), `ldr ${x(d)}, [${x(n)}, #32760]`);
    }
    for (const v of [0, 1, 0xffff, 0x10000, 0x12345678, 0xffff0000, 0xfffffffe, 0x8000]) {
      if (d === ZR) continue;
      add((a) => a.movImm32(d, v), movText(d, v));
    }
    add((a) => a.movz(true, d, 0xbeef, 48), `movz ${x(d)}, #0xbeef, lsl #48`);
    add((a) => a.movk(false, d, 0x1234, 16), `movk ${w(d)}, #0x1234, lsl #16`);
    CONDS.forEach((c, k) => add((a) => a.cset(false, d, k), `cset ${w(d)}, ${c}`));
    if (d !== ZR) {
      add((a) => a.br(d), `br ${x(d)}`);
      add((a) => a.blr(d), `blr ${x(d)}`);
    }
  }
  add((a) => a.movSp(16, SP), "mov x16, sp");
  add((a) => a.movSp(SP, 16), "mov sp, x16");
  add((a) => a.stpPre(29, 30, SP, -16), "stp x29, x30, [sp, #-16]!");
  add((a) => a.ldpPost(19, 20, SP, 16), "ldp x19, x20, [sp], #16");
  add((a) => a.ret(), "ret");
  add((a) => a.nop(), "nop");
  add((a) => a.brk(), "brk #0");
  return out;
}

/** The instructions movImm32 picks for `v`, as text. */
function movText(d: number, v: number): string {
  const lo = v & 0xffff, hi = v >>> 16;
  if (hi === 0xffff && lo !== 0) return `movn ${w(d)}, #${~v & 0xffff}`;
  if (hi !== 0 && lo === 0) return `movz ${w(d)}, #${hi}, lsl #16`;
  if (hi === 0) return `movz ${w(d)}, #${lo}`;
  return `movz ${w(d)}, #${lo}\nmovk ${w(d)}, #${hi}, lsl #16`;
}

async function assemble(lines: string[]): Promise<number[]> {
  const child = new Deno.Command("llvm-mc-19", {
    args: ["-triple=aarch64", "-show-encoding"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(lines.join("\n") + "\n"));
  await writer.close();
  const { stdout, stderr } = await child.output();
  const errors = new TextDecoder().decode(stderr);
  if (errors.includes("error")) throw new Error(`llvm-mc: ${errors.slice(0, 800)}`);
  const words: number[] = [];
  for (const m of new TextDecoder().decode(stdout).matchAll(/encoding: \[([^\]]*)\]/g)) {
    const b = m[1].split(",").map((s) => parseInt(s, 16));
    words.push((b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0);
  }
  return words;
}

await toolTest(
  "AArch64 assembler: every form matches llvm-mc's encoding",
  ["llvm-mc-19"],
  async () => {
    const list = forms();
    const a = new A64Assembler(16);
    const texts: string[] = [];
    const owner: string[] = [];
    for (const [emit, text] of list) {
      emit(a);
      for (const line of text.split("\n")) {
        texts.push(line);
        owner.push(text);
      }
    }
    const bytes = a.finish();
    const ours = Array.from(new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
    const theirs = await assemble(texts);
    assertEquals(ours.length, theirs.length, "instruction count");
    const wrong = texts.flatMap((t, k) =>
      ours[k] === theirs[k]
        ? []
        : [`${t}: ours ${ours[k].toString(16)}, llvm ${theirs[k].toString(16)}`]
    );
    assertEquals(wrong.slice(0, 10), [], `${wrong.length} of ${texts.length} instructions differ`);
    console.log(`AArch64 assembler: ${texts.length} instructions match llvm-mc`);
  },
);

await toolTest("AArch64 assembler: branches, labels and patching", ["llvm-mc-19"], async () => {
  const a = new A64Assembler();
  const back = a.label();
  a.bind(back);
  a.nop();
  a.b(back);
  const forward = a.label();
  a.bcond(COND.NE, forward);
  a.cbz(false, 3, forward);
  a.cbnz(true, 4, forward);
  a.bl(forward);
  a.adr(5, forward);
  a.nop();
  a.bind(forward);
  a.b(back);
  const patched = a.offset;
  a.b(back);
  a.patchBranch(patched, 0);
  const bytes = a.finish();
  const ours = Array.from(new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
  const theirs = await assemble([
    "nop",
    "b #-4",
    "b.ne #24",
    "cbz w3, #20",
    "cbnz x4, #16",
    "bl #12",
    "adr x5, #8",
    "nop",
    "b #-32",
    "b #-36",
  ]);
  assertEquals(ours.map((v) => v.toString(16)), theirs.map((v) => v.toString(16)));
});

Deno.test("AArch64 assembler: out-of-range operands and label misuse throw", () => {
  const a = new A64Assembler();
  assertThrows(() => a.addImm(false, 0, 1, 4097), RangeError);
  assertThrows(() => a.ldur(false, 0, 1, 256), RangeError);
  assertThrows(() => a.ldrX(0, 1, 4), RangeError);
  assertThrows(() => a.lslImm(false, 0, 1, 32), RangeError);
  assertThrows(() => a.mov(false, 32, 0), RangeError);
  const l = a.label();
  a.bind(l);
  assertThrows(() => a.bind(l), Error, "already bound");
  a.b(a.label());
  assertThrows(() => a.finish(), Error, "not bound");
});
