/**
 * Code is swept at load for its block structure and decoded, and compiled by
 * the interpreter, only where it runs (abi/code.ts, interpreter/compile.ts).
 * The sweep must find exactly the blocks a full decode finds, on any bytes.
 */
import { assert, assertEquals } from "@std/assert";
import { computeBlocks, decodeCode, Flow, instructionAt, OP_FLOW } from "../abi/code.ts";
import { decodeInstruction, mayEndBlock, newDecodedInstruction } from "../abi/decode.ts";
import { Program } from "../mod.ts";
import { mulberry32 } from "./_random.ts";
import { TIERS } from "./_tiers.ts";

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
  // Import sites are checked to be ECALLs: their groups, no more.
  assert(code.decoded < code.count / 4, `${code.decoded} of ${code.count} decoded at load`);
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
