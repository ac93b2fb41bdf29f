/**
 * Pairs of instructions the switch loop performs in one dispatch
 * (interpreter/compile.ts `fusedOp`): two linear ops (ADD, ADDI, LI, MV), a
 * linear op and a branch, two LWs, two SWs. The second instruction of a pair
 * keeps its own entry: a jump into it, a fault in it, the end of a segment
 * after it and every gas amount must behave as without the fusion, on every
 * tier.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { loadProgram } from "../abi/load.ts";
import { compile, opOf, Pseudo } from "../interpreter/compile.ts";
import { Trap } from "../mod.ts";
import { assertEveryGasResumes, instantiate, li32 } from "./_fused.ts";
import { addressOf, buildGuest, DATA, format, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0, a1, a2, t0, t1, zero } = reg;

/**
 * A program that jumps (JALR) to instruction `at` of `pair`, placed at 5
 * (its first) and 6 (its second), then returns a0; instruction 8 is
 * `li a0, 42; ret`, a branch target. a1 holds DATA.
 */
function entering(pair: readonly [number, number], at: 5 | 6): number[] {
  const code = [
    ...li32(a1, DATA), // 0-1
    0, // 2-3: a2 = the address of instruction `at`
    0,
    ins.jalr(zero, a2, 0), // 4
    ...pair, // 5-6
    ins.ret(), // 7
    ins.li(a0, 42), // 8
    ins.ret(), // 9
  ];
  code.splice(2, 2, ...li32(a2, addressOf(code, at)));
  return code;
}

const slli = (rd: number, rs1: number, shamt: number) => format.i(shamt, rs1, 1, rd, 0x13);
const mul = (rd: number, rs1: number, rs2: number) => format.r(1, rs2, rs1, 0, rd, 0x33);

/** The words at DATA and DATA + 4 before a run (DATA + 12 holds 0x55). */
const UNTOUCHED = [0, 0x66];

/**
 * Each form: a0, the gas used and the words at DATA and DATA + 4 after
 * entering at the pair's first, and at its second. Blocks [0-4] (5), then
 * [5-7] (3 from 5, 2 from 6) unless the pair ends with a jump.
 */
const PAIRS: {
  name: string;
  /** The first entry's pseudo-op in the switch loop's stream. */
  fused: number;
  pair: [number, number];
  a0: [number, number];
  gas: [number, number];
  memory?: [number[], number[]];
}[] = [
  {
    name: "two linear ops",
    fused: Pseudo.LINEAR_PAIR,
    pair: [ins.li(a0, 100), ins.addi(a0, a0, 1)],
    a0: [101, 1],
    gas: [8, 7],
  },
  // Blocks [5-6], [7], [8-9]: not taken from 5 (a0 = 7), taken from 6 (a0 = 0).
  {
    name: "linear op, branch",
    fused: Pseudo.LINEAR_BRANCH,
    pair: [ins.li(a0, 7), ins.beq(a0, zero, 8)],
    a0: [7, 42],
    gas: [8, 8],
  },
  // Block [5-6] ends with the JALR (a return to the host).
  {
    name: "linear op, JALR",
    fused: Pseudo.LINEAR_JALR,
    pair: [ins.li(a0, 9), ins.ret()],
    a0: [9, 0],
    gas: [7, 6],
  },
  {
    name: "linear op, LW",
    fused: Pseudo.LINEAR_LW,
    pair: [ins.addi(a1, a1, 8), ins.lw(a0, a1, 4)],
    a0: [0x55, 0x66],
    gas: [8, 7],
  },
  {
    name: "linear op, LBU",
    fused: Pseudo.LINEAR_LBU,
    pair: [ins.addi(a1, a1, 8), ins.lbu(a0, a1, 4)],
    a0: [0x55, 0x66],
    gas: [8, 7],
  },
  {
    name: "SLLI, linear op",
    fused: Pseudo.SLLI_LINEAR,
    pair: [slli(a0, a1, 1), ins.addi(a0, a0, 3)],
    a0: [DATA * 2 + 3, 3],
    gas: [8, 7],
  },
  {
    name: "MUL, linear op",
    fused: Pseudo.MUL_LINEAR,
    pair: [mul(a0, a1, a1), ins.addi(a0, a0, 1)],
    a0: [Math.imul(DATA, DATA) + 1, 1],
    gas: [8, 7],
  },
  // DATA's low byte is 0.
  {
    name: "SB, linear op",
    fused: Pseudo.SB_LINEAR,
    pair: [ins.sb(a1, a1, 4), ins.li(a0, 5)],
    a0: [5, 5],
    gas: [8, 7],
    memory: [[0, 0], UNTOUCHED],
  },
  {
    name: "two LWs",
    fused: Pseudo.LW_PAIR,
    pair: [ins.lw(a0, a1, 12), ins.lw(a1, a1, 4)],
    a0: [0x55, 0],
    gas: [8, 7],
  },
  {
    name: "two SWs",
    fused: Pseudo.SW_PAIR,
    pair: [ins.sw(a1, a1, 4), ins.sw(a1, a1, 0)],
    a0: [0, 0],
    gas: [8, 7],
    memory: [[DATA, DATA], [DATA, 0x66]],
  },
];

/** The stream word of instruction 5 of `code` (past its block's GAS entry). */
function wordAt5(code: number[]): number {
  const stream = compile(loadProgram(buildGuest({ code })), false);
  const e = stream.enter(addressOf(code, 5));
  return stream.insn[((stream.insn[e << 1] & 255) === Pseudo.GAS ? e + 1 : e) << 1];
}

Deno.test("each pair of the table is fused in the interpreter's stream", () => {
  for (const { name, pair, fused } of PAIRS) {
    const word = wordAt5(entering(pair, 5));
    // The same first instruction before an EBREAK (which fuses with nothing): its own op.
    const alone = wordAt5(entering([pair[0], ins.ebreak()], 5)) & 255;
    assertEquals([word & 255, opOf(word)], [fused, alone], name);
  }
});

tierTest("a jump into the second instruction of a fused pair runs it alone", (tier) => {
  for (const { name, pair, a0: results, gas, memory } of PAIRS) {
    for (const at of [5, 6] as const) {
      const what = `${name}, entered at its ${at === 5 ? "first" : "second"}`;
      const instance = instantiate({ code: entering(pair, at) }, tier, 100);
      instance.memory.writeU32(DATA + 4, 0x66);
      instance.memory.writeU32(DATA + 12, 0x55);
      assertEquals(instance.run(), results[at - 5] | 0, what);
      assertEquals(instance.gas, 100 - gas[at - 5], `${what}: gas`);
      const stored = [instance.memory.readU32(DATA), instance.memory.readU32(DATA + 4)];
      assertEquals(stored, memory?.[at - 5] ?? UNTOUCHED, `${what}: memory`);
    }
  }
});

tierTest("a fault in the second of a fused pair leaves the first done", (tier) => {
  // The stack ends at DATA; the data page after it is the last accessible one (no heap yet).
  const top = DATA + 0x1000;
  const stores = [...li32(a0, top - 4), ...li32(a1, 0x55), ins.sw(a1, a0, 0), ins.sw(a1, a0, 4)];
  const instance = instantiate({ code: [...stores, ins.ret()] }, tier);
  const trap = assertThrows(() => instance.run(), Trap);
  assertEquals([trap.kind, trap.pc, trap.address, trap.access], [
    "MemoryFault",
    addressOf(stores, 5),
    top,
    "write",
  ]);
  assertEquals(instance.memory.readU32(top - 4), 0x55);
  // A load pair whose second reads through the register the first loaded.
  const loads = [...li32(a0, DATA), ins.lw(a0, a0, 0), ins.lw(a1, a0, 0), ins.ret()];
  const chase = instantiate({ code: loads }, tier);
  chase.memory.writeU32(DATA, top);
  const fault = assertThrows(() => chase.run(), Trap);
  assertEquals([fault.kind, fault.pc, fault.address, fault.registers[a0]], [
    "MemoryFault",
    addressOf(loads, 3),
    top,
    top,
  ]);
  // A linear op, then an LW that faults; an SB that faults before a linear op.
  for (
    const [pair, at, a2After] of [
      [[ins.addi(a0, a0, 4), ins.lw(a1, a0, 0)], 3, 0],
      [[ins.sb(a1, a0, 4), ins.addi(a2, a2, 1)], 2, 0],
    ] as const
  ) {
    const code = [...li32(a0, top - 4), ...pair, ins.ret()];
    const trap = assertThrows(() => instantiate({ code }, tier).run(), Trap);
    const expectedA0 = at === 3 ? top : top - 4;
    assertEquals([trap.kind, trap.pc, trap.address, trap.registers[a0], trap.registers[a2]], [
      "MemoryFault",
      addressOf(code, at),
      top,
      expectedA0,
      a2After,
    ]);
  }
});

tierTest("a fused pair ending a code segment falls off it with both done", (tier) => {
  const code = [ins.li(a0, 5), ins.addi(a0, a0, 1)];
  const trap = assertThrows(() => instantiate({ code }, tier).run(), Trap);
  assertEquals([trap.kind, trap.pc, trap.address, trap.registers[a0]], [
    "InvalidJump",
    addressOf(code, 1),
    addressOf(code, 2),
    6,
  ]);
});

tierTest("a loop of fused pairs: exact result and gas, out of gas at each block", (tier) => {
  const code = [
    ins.li(t0, 4), // 0
    ins.li(a0, 0), // 1
    ins.add(a0, a0, t0), // 2: loop (a block: the branch's target)
    ins.addi(t1, a0, 0), // 3: MV, then a linear op into a branch
    ins.addi(t0, t0, -1), // 4
    ins.bne(t0, zero, 4 * (2 - 5)), // 5
    ins.add(a0, a0, t1), // 6
    ins.ret(), // 7
  ];
  // Blocks: [0-1] 2, per iteration [2-5] 4, then [6-7] 2.
  const total = 2 + 4 * 4 + 2;
  assertEveryGasResumes(code, tier, total, 20);
});
