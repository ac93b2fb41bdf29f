/**
 * Instruction conformance: every RV32IMA instruction and every compressed
 * form against a table of edge operands, in RV32I and RV32E mode, on every
 * tier. Expected values come from a BigInt reference model written here,
 * independently of the tiers.
 */
import { assertEquals } from "@std/assert";
import { Program } from "../mod.ts";
import { buildGuest, DATA, type GuestSpec, ins } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const A0 = 10, A1 = 11, A2 = 12, SP = 2;
const EDGES = [
  0,
  1,
  -1,
  2,
  31,
  32,
  0x7fff,
  0x8000,
  0xffff,
  -0x8000,
  0x7fffffff,
  -0x80000000,
  0x12345678,
  -0x789abcdf,
];
const IMMEDIATES = [0, 1, -1, 5, 31, 2047, -2048, 0x555, -0x556];

const u = (x: bigint) => BigInt.asUintN(32, x);
const s = (x: bigint) => BigInt.asIntN(32, x);
const sh = (b: bigint) => b & 31n;

/** Reference semantics of the register-register ops: [funct7, funct3, model]. */
const R_OPS: Record<string, [number, number, (a: bigint, b: bigint) => bigint]> = {
  add: [0, 0, (a, b) => a + b],
  sub: [0x20, 0, (a, b) => a - b],
  sll: [0, 1, (a, b) => u(a) << sh(b)],
  slt: [0, 2, (a, b) => (a < b ? 1n : 0n)],
  sltu: [0, 3, (a, b) => (u(a) < u(b) ? 1n : 0n)],
  xor: [0, 4, (a, b) => a ^ b],
  srl: [0, 5, (a, b) => u(a) >> sh(b)],
  sra: [0x20, 5, (a, b) => a >> sh(b)],
  or: [0, 6, (a, b) => a | b],
  and: [0, 7, (a, b) => a & b],
  mul: [1, 0, (a, b) => a * b],
  mulh: [1, 1, (a, b) => (a * b) >> 32n],
  mulhsu: [1, 2, (a, b) => (a * u(b)) >> 32n],
  mulhu: [1, 3, (a, b) => (u(a) * u(b)) >> 32n],
  div: [1, 4, (a, b) => (b === 0n ? -1n : a === -(2n ** 31n) && b === -1n ? a : a / b)],
  divu: [1, 5, (a, b) => (u(b) === 0n ? -1n : u(a) / u(b))],
  rem: [1, 6, (a, b) => (b === 0n ? a : a === -(2n ** 31n) && b === -1n ? 0n : a % b)],
  remu: [1, 7, (a, b) => (u(b) === 0n ? a : u(a) % u(b))],
};

/** Register-immediate ops: [funct3, funct7 for shifts, model]. */
const I_OPS: Record<string, [number, number, (a: bigint, imm: bigint) => bigint]> = {
  addi: [0, -1, (a, i) => a + i],
  slti: [2, -1, (a, i) => (a < i ? 1n : 0n)],
  sltiu: [3, -1, (a, i) => (u(a) < u(i) ? 1n : 0n)],
  xori: [4, -1, (a, i) => a ^ i],
  ori: [6, -1, (a, i) => a | i],
  andi: [7, -1, (a, i) => a & i],
  slli: [1, 0, (a, i) => u(a) << i],
  srli: [5, 0, (a, i) => u(a) >> i],
  srai: [5, 0x20, (a, i) => a >> i],
};

/** Branches: [funct3, taken?]. */
const BRANCHES: Record<string, [number, (a: bigint, b: bigint) => boolean]> = {
  beq: [0, (a, b) => a === b],
  bne: [1, (a, b) => a !== b],
  blt: [4, (a, b) => a < b],
  bge: [5, (a, b) => a >= b],
  bltu: [6, (a, b) => u(a) < u(b)],
  bgeu: [7, (a, b) => u(a) >= u(b)],
};

/** AMOs on a word in memory: [funct5, new value]; the old value is returned. */
const AMOS: Record<string, [number, (old: bigint, v: bigint) => bigint]> = {
  amoswap: [1, (_o, v) => v],
  amoadd: [0, (o, v) => o + v],
  amoxor: [4, (o, v) => o ^ v],
  amoand: [12, (o, v) => o & v],
  amoor: [8, (o, v) => o | v],
  amomin: [16, (o, v) => (o < v ? o : v)],
  amomax: [20, (o, v) => (o > v ? o : v)],
  amominu: [24, (o, v) => (u(o) < u(v) ? o : v)],
  amomaxu: [28, (o, v) => (u(o) > u(v) ? o : v)],
};

const rtype = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op = 0x33) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const itype = (imm: number, rs1: number, f3: number, rd: number, op: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const cr = (f4: number, rd: number, rs2: number) => (f4 << 12) | (rd << 7) | (rs2 << 2) | 2;
const ca = (f6: number, rd: number, f2: number, rs2: number) =>
  (f6 << 10) | ((rd - 8) << 7) | (f2 << 5) | ((rs2 - 8) << 2) | 1;
const ci = (f3: number, rd: number, imm: number, op: number) =>
  (f3 << 13) | (((imm >> 5) & 1) << 12) | (rd << 7) | ((imm & 0x1f) << 2) | op;
const cb = (f3: number, f2: number, rd: number, imm: number) =>
  (f3 << 13) | (((imm >> 5) & 1) << 12) | (f2 << 10) | ((rd - 8) << 7) | ((imm & 0x1f) << 2) | 1;

/** One function per case: its code, and what it must return for (a, b). */
interface Case {
  name: string;
  code: GuestSpec["code"];
  expect: (a: bigint, b: bigint) => bigint;
  /** Argument pairs; default: all pairs of EDGES. */
  args?: [number, number][];
}

function cases(): Case[] {
  const list: Case[] = [];
  const ret = ins.ret();
  for (const [name, [f7, f3, model]] of Object.entries(R_OPS)) {
    list.push({ name, code: [rtype(f7, A1, A0, f3, A0), ret], expect: model });
  }
  for (const [name, [f3, f7, model]] of Object.entries(I_OPS)) {
    const imms = f7 < 0 ? IMMEDIATES : [0, 1, 7, 31];
    for (const imm of imms) {
      const field = f7 < 0 ? imm : (f7 << 5) | imm;
      list.push({
        name: `${name} ${imm}`,
        code: [itype(field, A0, f3, A0, 0x13), ret],
        expect: (a) => model(a, BigInt(imm)),
      });
    }
  }
  for (const [name, [f3, taken]] of Object.entries(BRANCHES)) {
    // branch +12 over `li a0, 0; ret` to `li a0, 1; ret`
    const code = [
      ((f3 << 12) | (A1 << 20) | (A0 << 15) | (12 << 7) | 0x63) >>> 0,
      ins.li(A0, 0),
      ret,
      ins.li(A0, 1),
      ret,
    ];
    list.push({ name, code, expect: (a, b) => (taken(a, b) ? 1n : 0n) });
  }
  for (const imm20 of [0, 1, 0x80000, 0xfffff, 0x12345]) {
    list.push({
      name: `lui ${imm20}`,
      code: [ins.lui(A0, imm20), ret],
      expect: () => BigInt(imm20) << 12n,
      args: [[0, 0]],
    });
  }
  // auipc: pc-relative, so the result minus the function's own address (passed in a1).
  list.push({
    name: "auipc",
    code: [(0x12345 << 12) | (A0 << 7) | 0x17, rtype(0x20, A1, A0, 0, A0), ret],
    expect: () => 0x12345000n,
  });
  // jal/jalr link values, relative to the function start (a1).
  list.push({
    name: "jal link",
    code: [ins.jal(A0, 8), ret, rtype(0x20, A1, A0, 0, A0), ret],
    expect: () => 4n,
  });
  list.push({
    name: "jalr link and target",
    code: [itype(12, A1, 0, A2, 0x67), ret, ret, rtype(0x20, A1, A2, 0, A0), ret],
    expect: () => 4n,
  });
  memoryCases(list);
  compressedCases(list);
  return list;
}

/** Stores a1 with each width at DATA + a0 offset, loads it back with each width. */
function memoryCases(list: Case[]): void {
  const ret = ins.ret();
  const base = A2;
  const loads: [string, number, (v: bigint) => bigint][] = [
    ["lb", 0, (v) => BigInt.asIntN(8, v)],
    ["lh", 1, (v) => BigInt.asIntN(16, v)],
    ["lw", 2, (v) => s(v)],
    ["lbu", 4, (v) => BigInt.asUintN(8, v)],
    ["lhu", 5, (v) => BigInt.asUintN(16, v)],
  ];
  const stores: [string, number, number][] = [["sb", 0, 8], ["sh", 1, 16], ["sw", 2, 32]];
  for (const offset of [0, 1, 2, 3]) {
    for (const [sname, sf3, bits] of stores) {
      for (const [lname, lf3, model] of loads) {
        const code = [
          ins.lui(base, DATA >> 12),
          itype(-1, 0, 0, A0, 0x13), // a0 = -1: fill the word first so partial stores show
          ((offset & 0xfe0) << 20) | (A0 << 20) | (base << 15) | (2 << 12) | ((offset & 0x1f) << 7)
          | 0x23,
          (((offset >> 5) << 25) | (A1 << 20) | (base << 15) | (sf3 << 12) | ((offset & 0x1f) << 7)
            | 0x23) >>> 0,
          itype(offset, base, lf3, A0, 0x03),
          ret,
        ];
        const kept = (v: bigint) => {
          const mask = (1n << BigInt(bits)) - 1n;
          return (u(-1n) & ~mask) | (v & mask); // the stored bits over the all-ones word
        };
        list.push({
          name: `${sname}+${lname} @${offset}`,
          code,
          expect: (_a, b) => model(kept(b)),
        });
      }
    }
  }
  for (const [name, [f5, model]] of Object.entries(AMOS)) {
    // mem = a0; a0 = amo(mem, a1); return a0 + (mem after) * 0 ... checked as old and new below
    const code = [
      ins.lui(base, DATA >> 12),
      ins.sw(A0, base, 0),
      rtype(f5 << 2, A1, base, 2, A0, 0x2f),
      ins.lw(A1, base, 0),
      ret,
    ];
    list.push({ name, code, expect: (a) => a });
    list.push({
      name: `${name} stored`,
      code: [...code.slice(0, 4), rtype(0, 0, A1, 0, A0), ret],
      expect: model,
    });
  }
  // lr/sc: sc succeeds after a matching lr (returns 0 and stores), fails otherwise.
  const lr = rtype(2 << 2, 0, base, 2, A2 + 1, 0x2f);
  const sc = rtype(3 << 2, A1, base, 2, A0, 0x2f);
  list.push({
    name: "lr/sc",
    code: [ins.lui(base, DATA >> 12), lr, sc, ret],
    expect: () => 0n,
    args: [[0, 5]],
  });
  list.push({
    name: "sc without lr",
    code: [ins.lui(base, DATA >> 12), sc, ret],
    expect: () => 1n,
    args: [[0, 5]],
  });
  list.push({
    name: "sc twice",
    code: [ins.lui(base, DATA >> 12), lr, sc, sc, ret],
    expect: () => 1n,
    args: [[0, 5]],
  });
}

/** Compressed forms, each checked against the base instruction's model. */
function compressedCases(list: Case[]): void {
  const cret = { half: cr(8, 1, 0) }; // c.jr ra
  const half = (h: number) => ({ half: h });
  const r = R_OPS, i = I_OPS;
  list.push({ name: "c.add", code: [half(cr(9, A0, A1)), cret], expect: r.add[2] });
  list.push({ name: "c.mv", code: [half(cr(8, A0, A1)), cret], expect: (_a, b) => b });
  list.push({ name: "c.sub", code: [half(ca(0x23, A0, 0, A1)), cret], expect: r.sub[2] });
  list.push({ name: "c.xor", code: [half(ca(0x23, A0, 1, A1)), cret], expect: r.xor[2] });
  list.push({ name: "c.or", code: [half(ca(0x23, A0, 2, A1)), cret], expect: r.or[2] });
  list.push({ name: "c.and", code: [half(ca(0x23, A0, 3, A1)), cret], expect: r.and[2] });
  for (const imm of [1, -1, 31, -32]) {
    list.push({
      name: `c.addi ${imm}`,
      code: [half(ci(0, A0, imm, 1)), cret],
      expect: (a) => a + BigInt(imm),
    });
    list.push({
      name: `c.li ${imm}`,
      code: [half(ci(2, A0, imm, 1)), cret],
      expect: () => BigInt(imm),
    });
    list.push({
      name: `c.andi ${imm}`,
      code: [half(cb(4, 2, A0, imm)), cret],
      expect: (a) => a & BigInt(imm),
    });
    list.push({
      name: `c.lui ${imm}`,
      code: [half(ci(3, A0, imm, 1)), cret],
      expect: () => BigInt(imm) << 12n,
    });
  }
  for (const imm of [1, 5, 31]) {
    list.push({
      name: `c.slli ${imm}`,
      code: [half(ci(0, A0, imm, 2)), cret],
      expect: (a) => i.slli[2](a, BigInt(imm)),
    });
    list.push({
      name: `c.srli ${imm}`,
      code: [half(cb(4, 0, A0, imm)), cret],
      expect: (a) => i.srli[2](a, BigInt(imm)),
    });
    list.push({
      name: `c.srai ${imm}`,
      code: [half(cb(4, 1, A0, imm)), cret],
      expect: (a) => i.srai[2](a, BigInt(imm)),
    });
  }
  // c.beqz/c.bnez a0, +6 over `c.li a0, 0; c.jr ra` to `c.li a0, 1; c.jr ra`
  const cbr = (f3: number) => half((f3 << 13) | ((A0 - 8) << 7) | (1 << 3) | (1 << 4) | 1);
  const tail = [half(ci(2, A0, 0, 1)), cret, half(ci(2, A0, 1, 1)), cret];
  list.push({ name: "c.beqz", code: [cbr(6), ...tail], expect: (a) => (a === 0n ? 1n : 0n) });
  list.push({ name: "c.bnez", code: [cbr(7), ...tail], expect: (a) => (a !== 0n ? 1n : 0n) });
  // c.j +4 over c.li a0, 0; c.jal links the next address (relative to a1 = function start).
  list.push({
    name: "c.j",
    code: [half(0xa001 | (1 << 4)), half(ci(2, A0, 0, 1)), cret],
    expect: (a) => a,
  });
  // t0 = ra; c.jal +4; (skipped c.jr ra); a0 = ra - a1 (the function start); return through t0
  list.push({
    name: "c.jal link",
    code: [
      half(cr(8, 5, 1)),
      half(0x2001 | (1 << 4)),
      cret,
      half(cr(8, A0, 1)),
      half(ca(0x23, A0, 0, A1)),
      half(cr(8, 5, 0)),
    ],
    expect: () => 4n,
    args: [[0, 0]],
  });
  // Stack forms: c.swsp/c.lwsp at sp+4, c.addi16sp and c.addi4spn against the initial sp.
  list.push({
    name: "c.swsp+c.lwsp",
    code: [
      half((6 << 13) | (1 << 9) | (A1 << 2) | 2),
      half((2 << 13) | (A0 << 7) | (1 << 4) | 2),
      cret,
    ],
    expect: (_a, b) => b,
  });
  list.push({
    name: "c.sw+c.lw",
    code: [
      ins.lui(A2, DATA >> 12),
      half((6 << 13) | ((A2 - 8) << 7) | (1 << 6) | ((A1 - 8) << 2)),
      half((2 << 13) | ((A2 - 8) << 7) | (1 << 6) | ((A0 - 8) << 2)),
      cret,
    ],
    expect: (_a, b) => b,
  });
  list.push({
    name: "c.addi16sp+c.addi4spn", // sp -= 480; a0 = sp + 4
    code: [
      half((3 << 13) | (1 << 12) | (SP << 7) | (1 << 2) | 1),
      half((1 << 6) | ((A0 - 8) << 2)),
      cret,
    ],
    expect: () => BigInt(DATA - 480 + 4),
    args: [[0, 0]],
  });
}

const CASES = cases();

function program(rve: boolean): { program: Program; names: string[]; } {
  const code: GuestSpec["code"] = [];
  const exports = CASES.map((c, k) => {
    const at = code.length;
    code.push(...c.code);
    return { at, name: `case${k}` };
  });
  const names = exports.map((e) => e.name);
  return { program: Program.fromBytes(buildGuest({ code, exports, rve })), names };
}

for (const rve of [false, true]) {
  tierTest(
    `conformance: ${CASES.length} instruction cases on edge operands (${rve ? "RV32E" : "RV32I"})`,
    (tier) => {
      const { program: p, names } = program(rve);
      const instance = p.instantiate({}, { tier });
      const starts = p.image.exports;
      let checked = 0;
      CASES.forEach((c, k) => {
        const fn = instance.exports[names[k]];
        const start = starts.get(names[k])!;
        const pairs = c.args ?? EDGES.flatMap((a) => EDGES.map((b) => [a, b] as [number, number]));
        for (const [a, b] of pairs) {
          // Cases that compute pc-relative values get their own address in a1.
          const relative = /auipc|link|c\.jal/.test(c.name);
          const bArg = relative ? start : b;
          const expected = s(c.expect(BigInt(a), BigInt(bArg)));
          assertEquals(fn(a, bArg), Number(expected), `${c.name}(${a}, ${bArg})`);
          checked++;
        }
      });
      if (!rve && tier === "interpreter") console.log(`conformance: ${checked} checks per mode`);
    },
  );
}
