/**
 * Code is swept at load for its block structure and decoded, and compiled by
 * the interpreter, only where it runs (abi/code.ts, interpreter/compile.ts).
 * The sweep must find exactly the blocks a full decode finds, on any bytes.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { computeBlocks, decodeCode, Flow, instructionAt, OP_FLOW } from "../abi/code.ts";
import { decodeInstruction, mayEndBlock, newDecodedInstruction } from "../abi/decode.ts";
import { Program, Trap } from "../mod.ts";
import { addressOf, buildGuest, CODE, type GuestSpec, ins, reg } from "./_guest.ts";
import { mulberry32 } from "./_random.ts";
import { TIERS, tierTest } from "./_tiers.ts";

const CONTRACT = new URL("../bench/guests/contract.rv32imac.elf", import.meta.url);

/** Leaders and entry costs from a decode of every instruction: the rules of abi/README.md §4, plainly. */
function reference(bytes: Uint8Array, start: number, rve: boolean) {
  const d = newDecodedInstruction();
  const pcs: number[] = [], flows: number[] = [], targets: number[] = [];
  for (let offset = 0; offset < bytes.length;) {
    const lo = bytes[offset] | ((bytes[offset + 1] ?? 0) << 8);
    const size = (lo & 3) === 3 ? 4 : 2;
    const whole = offset + size <= bytes.length;
    const op = whole
      ? decodeInstruction(lo, bytes[offset + 2] | (bytes[offset + 3] << 8), rve, d).op
      : 0;
    pcs.push(start + offset);
    flows.push(OP_FLOW[op]);
    targets.push(whole && OP_FLOW[op] >= Flow.BRANCH ? (start + offset + d.imm) >>> 0 : -1);
    offset += size;
  }
  const leader = pcs.map((_, i) => i === 0 || flows[i - 1] !== Flow.NONE ? 1 : 0);
  for (const t of targets) {
    const i = pcs.indexOf(t);
    if (t >= 0 && i >= 0) leader[i] = 1;
  }
  const cost = new Array<number>(pcs.length);
  for (let i = pcs.length - 1; i >= 0; i--) {
    const ends = flows[i] !== Flow.NONE || i + 1 === pcs.length || leader[i + 1] === 1;
    cost[i] = ends ? 1 : 1 + cost[i + 1];
  }
  return { pcs, flows, leader, cost };
}

Deno.test("lazy code: the sweep finds the blocks a full decode finds, on random bytes", () => {
  const rnd = mulberry32(11);
  for (let round = 0; round < 300; round++) {
    const length = 2 + Math.floor(rnd() * 400);
    const bytes = Uint8Array.from({ length }, () => Math.floor(rnd() * 256));
    // Bias towards control flow: every few bytes, the low parcel of a branch, JAL or compressed jump.
    for (let at = 0; at + 1 < length; at += 2 + 2 * Math.floor(rnd() * 4)) {
      const kind = Math.floor(rnd() * 6);
      if (kind === 0) bytes[at] = 0x63; // BRANCH
      else if (kind === 1) bytes[at] = 0x6f; // JAL
      else if (kind === 2) bytes[at] = 0xe7 & 0x7f; // JALR
      else if (kind === 3) (bytes[at + 1] = 0xa0 | (bytes[at + 1] & 0x1f)), (bytes[at] |= 1); // C.J
    }
    const rve = rnd() < 0.5;
    const start = 0x10000;
    const code = decodeCode([{ start, bytes }], rve);
    computeBlocks(code, []);
    const want = reference(bytes, start, rve);
    assertEquals([...code.pc], want.pcs, `round ${round}`);
    assertEquals([...code.flow], want.flows, `round ${round}`);
    assertEquals([...code.leader], want.leader, `round ${round}`);
    assertEquals([...code.entryCost], want.cost, `round ${round}`);
    for (let i = 0; i < code.count; i++) {
      if (code.flow[i] >= Flow.BRANCH) {
        const t = (code.pc[i] + code.imm[i]) >>> 0;
        assertEquals(code.target[i], instructionAt(code, t), `round ${round} #${i}`);
      }
    }
  }
});

Deno.test("lazy code: only a parcel that may end a block can decode to a terminator", () => {
  const d = newDecodedInstruction();
  for (let lo = 0; lo < 0x10000; lo++) {
    if (mayEndBlock(lo)) continue;
    for (const hi of [0, 0x0001, 0x00f0, 0x8000, 0xffff]) {
      for (const rve of [false, true]) {
        assertEquals(
          OP_FLOW[decodeInstruction(lo, hi, rve, d).op],
          Flow.NONE,
          `0x${lo.toString(16)}`,
        );
      }
    }
  }
});

Deno.test("lazy code: loading decodes almost nothing; a small call on the interpreter decodes what it runs", () => {
  const program = Program.fromBytes(Deno.readFileSync(CONTRACT));
  const code = program.image.code;
  assertEquals(code.decoded, 0, "decoded at load");
  const instance = program.instantiate({ host_inc: (_ctx, x) => ((x as number) + 1) | 0 }, {
    tier: "interpreter",
  });
  assertEquals(instance.exports.small(1), instance.exports.small(1));
  assert(code.decoded < code.count / 2, `${code.decoded} of ${code.count} after a small call`);
  if (TIERS.includes("native")) {
    program.instantiate({ host_inc: (_ctx, x) => ((x as number) + 1) | 0 }, { tier: "native" });
    assertEquals(code.decoded, code.count);
  }
});

/**
 * The native tier fills jump-table entries on first use (jit/_native_code.ts):
 * a JALR or an entry that finds its target's entry empty exits, and the host
 * fills it and carries on. Every such first jump must behave as the contract
 * says: link written, target charged, out of gas at the target.
 */
const { a0, s1, t0 } = reg;
const RA = 1;
/** `variant` makes different bytes: translations are shared (with their tables) by identical code. */
function callThroughPointer(variant: number): GuestSpec {
  return {
    code: [
      ins.lui(t0, CODE >>> 12), // 0: t0 = CODE
      ins.addi(t0, t0, 24), //     1: t0 = the callee (index 6)
      ins.addi(s1, RA, 0), //      2: keep the host's return address
      ins.jalr(RA, t0, 0), //      3: call the callee; link = index 4
      ins.addi(a0, a0, 1), //      4: back from it
      ins.jalr(0, s1, 0), //       5: return to the host
      ins.li(a0, 41), //           6: the callee
      ins.ret(), //                7
      ins.jalr(0, a0, 0), //       8: `tail`: jump to the address in a0
      ins.li(a0, variant),
    ],
    exports: [{ at: 0, name: "call" }, { at: 8, name: "tail" }],
  };
}

tierTest("lazy jump table: a first call through a pointer links, charges and returns", (tier) => {
  const spec = callThroughPointer(1);
  const program = Program.fromBytes(buildGuest(spec));
  const instance = program.instantiate({}, { tier, gas: 1000 });
  assertEquals(instance.exports.call(), 42);
  assertEquals(instance.gas, 1000 - 8);
  assertEquals(instance.exports.call(), 42); // now through filled entries
  assertEquals(instance.gas, 1000 - 16);
  // An export whose first instruction is a JALR, entered through an empty entry.
  assertEquals(instance.exports.tail(addressOf(spec.code, 6)), 41);
  assertEquals(instance.exports.tail(addressOf(spec.code, 6)), 41);
});

tierTest(
  "lazy jump table: out of gas at a first indirect target, after the link is written",
  (tier) => {
    const spec = callThroughPointer(2);
    const instance = Program.fromBytes(buildGuest(spec)).instantiate({}, { tier, gas: 4 });
    const trap = assertThrows(() => instance.exports.call(), Trap);
    assertEquals(trap.kind, "OutOfGas");
    assertEquals(trap.pc, addressOf(spec.code, 6));
    assertEquals(trap.registers[RA], addressOf(spec.code, 4));
    assertEquals(instance.gas, 0);
  },
);

Deno.test("lazy code: entry costs asked for range by range, in any order, equal the whole computation", () => {
  const rnd = mulberry32(5);
  for (let round = 0; round < 40; round++) {
    // Runs of ADDIs (blocks spanning several groups of 64) cut by branches and jumps.
    const words: number[] = [];
    while (words.length < 900) {
      const run = Math.floor(rnd() * 300);
      for (let k = 0; k < run; k++) words.push(ins.addi(reg.a0, reg.a0, 1));
      words.push(rnd() < 0.5 ? ins.beq(reg.a0, reg.a1, 8 * Math.floor(rnd() * 20)) : ins.ret());
    }
    const bytes = new Uint8Array(new Uint32Array(words).buffer);
    const whole = decodeCode([{ start: CODE, bytes }], false);
    computeBlocks(whole, [CODE + 4 * Math.floor(rnd() * words.length)]);
    const want = [...whole.entryCost];
    const lazy = decodeCode([{ start: CODE, bytes }], false);
    lazy.leader.set(whole.leader); // the same entry as `whole`
    computeBlocks(lazy, []);
    for (let k = 0; k < 30; k++) {
      const from = Math.floor(rnd() * lazy.count);
      const to = Math.min(lazy.count, from + 1 + Math.floor(rnd() * 200));
      const costs = lazy.costs(from, to);
      assertEquals(
        [...costs.subarray(from, to)],
        want.slice(from, to),
        `round ${round} [${from}, ${to})`,
      );
    }
    assertEquals([...lazy.entryCost], want, `round ${round}`);
  }
});
