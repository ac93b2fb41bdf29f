/**
 * Differential fuzzer: seeded random programs run on every tier; each call's
 * outcome (result or trap kind, pc, address, registers), the gas left and a
 * digest of memory must match the interpreter's. Programs mix arithmetic on
 * edge operands, loads and stores at and across region edges, AMOs and LR/SC,
 * branches and loops, direct and indirect jumps to valid and invalid
 * targets, host calls that touch memory and gas, breakpoints and small gas
 * limits; resumable traps are refuelled and resumed a few times.
 *
 * `RVBOX_FUZZ_CASES` sets the number of programs (default 300). A failure
 * prints the seed and the program reduced to the instructions that matter.
 */
import { assertEquals } from "@std/assert";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import { decodeInstruction, newDecodedInstruction } from "../abi/decode.ts";
import { disassemble } from "../abi/disasm.ts";
import { type HostFunction, Program, Trap } from "../mod.ts";
import { R_TYPE_FUNCTS } from "./_guest.ts";
import { buildGuest, CODE, DATA, format, ins, RODATA } from "./_guest.ts";
import { seeded } from "./_random.ts";
import { envVar, TIERS } from "./_tiers.ts";

const CASES = Number(envVar("RVBOX_FUZZ_CASES") ?? 300);
const BODY = 160;
const NOP = ins.addi(0, 0, 0);
const { r, i, s, b } = format;

const EDGES = [0, 1, -1, 2, 31, 32, 0x7fffffff, -0x80000000, 0x8000, 0xffff, 0x12345678];
/** Addresses at and around region edges (code, rodata, stack, data, heap, the top). */
const POINTERS = [
  DATA,
  DATA + 0xffc,
  DATA + 0xffe,
  DATA + 0x1000,
  DATA - 4,
  DATA - 0x10000,
  DATA - 0x10002,
  RODATA,
  RODATA + 0xffe,
  CODE,
  0,
  0xfffffffc,
  0xffffffff,
  DATA + 0x100,
]; // dprint-ignore

function li32(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  return [ins.lui(rd, ((value - lo) >>> 12) & 0xfffff), ins.addi(rd, rd, lo)];
}

interface Case {
  code: number[];
  /** Code index of every host-call site. */
  sites: number[];
  rve: boolean;
  gas: number;
}

/** A random program: a prologue that loads registers, then `BODY` random instructions. */
function generate(seed: number): Case {
  const rnd = seeded(seed);
  const rve = rnd.int(2) === 1;
  const regs = rve ? 16 : 32;
  // Three base registers the body never writes: two valid pointers and one at an edge.
  const bases = rve ? [3, 8, 14] : [3, 8, 20];
  const reg = () => rnd.int(regs);
  const dst = () => {
    const x = reg();
    return bases.includes(x) ? 0 : x;
  };
  const base = () => bases[rnd.int(4) === 0 ? 2 : rnd.int(2)];
  // Offsets from the edge register stay within a word of the edge.
  const near = (x: number) => x === bases[2] ? rnd.int(9) - 4 : rnd.int(33) - 16;
  const code: number[] = [];
  const sites: number[] = [];
  for (let x = 1; x < regs; x++) {
    const v = rnd.int(3) === 0 ? rnd.pick(POINTERS) : rnd.pick(EDGES) ^ rnd.int(1 << 12);
    const ra = x === 1 && rnd.int(2) === 0 ? HOST_RETURN_ADDRESS : v;
    code.push(...li32(x, [DATA + 0x100, DATA - 0x80, rnd.pick(POINTERS)][bases.indexOf(x)] ?? ra));
  }
  const start = code.length;
  const at = (k: number) => CODE + 4 * k;
  const offsetTo = (k: number) => at(k) - at(code.length);
  const target = () => start + rnd.int(BODY);
  for (let n = 0; n < BODY; n++) {
    const kind = rnd.int(100);
    if (kind < 30) {
      const [f7, f3] = rnd.pick(R_TYPE_FUNCTS);
      code.push(r(f7, reg(), reg(), f3, dst(), 0x33));
    } else if (kind < 45) {
      const f3 = rnd.pick([0, 2, 3, 4, 6, 7, 1, 5]);
      const imm = f3 === 1
        ? rnd.int(32)
        : f3 === 5
        ? rnd.int(32) | (rnd.int(2) << 10)
        : rnd.pick([0, 1, -1, 2047, -2048, rnd.int(4096) - 2048]);
      code.push(i(imm, reg(), f3, dst(), 0x13));
    } else if (kind < 48) {
      code.push(
        rnd.int(2)
          ? ins.lui(dst(), rnd.int(1 << 20))
          : ((rnd.int(1 << 20) << 12) | (dst() << 7) | 0x17) >>> 0,
      );
    } else if (kind < 60) {
      const b0 = base();
      code.push(i(near(b0), b0, rnd.pick([0, 1, 2, 4, 5]), dst(), 0x03));
    } else if (kind < 70) {
      const b0 = base();
      code.push(s(near(b0), reg(), b0, rnd.pick([0, 1, 2])));
    } else if (kind < 74) {
      const f5 = rnd.pick([0, 1, 4, 12, 8, 16, 20, 24, 28, 2, 3]);
      code.push(r((f5 << 2) | rnd.int(4), f5 === 2 ? 0 : reg(), base(), 2, dst(), 0x2f));
    } else if (kind < 84) {
      const off = rnd.int(20) === 0 ? rnd.pick([2, 6, 0x800, -0x1000]) : offsetTo(target());
      code.push(b(off, reg(), reg(), rnd.pick([0, 1, 4, 5, 6, 7])));
    } else if (kind < 88) {
      const off = rnd.int(10) === 0 ? 2 : offsetTo(target());
      code.push(ins.jal(rnd.pick([0, 1, dst()]), off));
    } else if (kind < 93) {
      if (rnd.int(4) === 0) {
        code.push(ins.ret());
        continue;
      }
      // An indirect jump through a register loaded with a (mostly valid) target.
      const t = dst() || 1;
      const dest = rnd.int(8) === 0 ? at(target()) + rnd.pick([2, 1, 0x100000]) : at(target());
      code.push(...li32(t, dest), ins.jalr(rnd.pick([0, 1, dst()]), t, 0));
    } else if (kind < 97) {
      sites.push(code.length);
      code.push(ins.ecall());
    } else if (kind < 98) code.push(ins.ebreak());
    else if (kind < 99) code.push(ins.csrrs(dst(), 0xc00));
    else code.push(0x0000000f); // fence
  }
  return { code, sites, rve, gas: rnd.pick([40, 300, 2000, 20000]) };
}

/** The host function every site calls: deterministic, touches registers, memory and gas. */
const host: HostFunction = (ctx, a0, a1) => {
  if ((a0 & 7) === 1) ctx.gas = Math.max(0, ctx.gas - 7);
  if ((a0 & 7) === 2) ctx.memory.writeU32(DATA + (a1 & 0xfc), a0);
  if ((a0 & 7) === 3) throw new Error("host refuses");
  if ((a0 & 7) === 4) return BigInt(a0) * 0x100000001n;
  return (a0 * 3 + a1) | 0;
};

/** Runs `c` on `tier`; returns everything observable, as comparable text. */
function observe(c: Case, tier: "interpreter" | "native"): string[] {
  const elf = buildGuest({
    code: c.code,
    rve: c.rve,
    data: new Uint8Array(256),
    imports: c.sites.map((at) => ({ at, name: "h" })),
  });
  const instance = Program.fromBytes(elf).instantiate({ h: host }, { tier, gas: c.gas });
  const events: string[] = [];
  let call = () => instance.run() as number | bigint;
  for (let round = 0; round < 4; round++) {
    try {
      events.push(`result ${call()}`);
      break;
    } catch (error) {
      if (!(error instanceof Trap)) throw error;
      const regs = Array.from(error.registers, (v) => v.toString(16)).join(" ");
      events.push(
        `${error.kind} pc=${error.pc.toString(16)} addr=${
          error.address?.toString(16)
        } ${error.access} [${regs}]`,
      );
      if (!error.resumable) break;
      instance.gas += 500;
      call = () => instance.resume();
    } finally {
      events.push(`gas ${instance.gas}`);
    }
  }
  const data = instance.memory.read(DATA, 0x1000);
  const stack = instance.memory.read(DATA - 0x100, 0x100);
  events.push(`data ${digest(data)} stack ${digest(stack)}`);
  instance.dispose();
  return events;
}

function digest(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const x of bytes) h = Math.imul(h ^ x, 0x01000193);
  return (h >>> 0).toString(16);
}

function diverges(c: Case): boolean {
  const expected = observe(c, "interpreter");
  return TIERS.some((tier) => observe(c, tier).join("\n") !== expected.join("\n"));
}

/** Replaces instructions with NOPs while the divergence persists. */
function reduce(c: Case): string {
  const code = [...c.code];
  for (let k = 0; k < code.length; k++) {
    if (code[k] === NOP || c.sites.includes(k)) continue;
    const saved = code[k];
    code[k] = NOP;
    if (!diverges({ ...c, code })) code[k] = saved;
  }
  const d = newDecodedInstruction();
  return code.flatMap((word, k) => {
    if (word === NOP) return [];
    decodeInstruction(word & 0xffff, word >>> 16, c.rve, d);
    return [`  ${(CODE + 4 * k).toString(16)}: ${disassemble(d, CODE + 4 * k)}`];
  }).join("\n");
}

Deno.test(`differential: ${CASES} random programs behave the same on every tier`, () => {
  if (TIERS.length < 2) return console.warn("SKIPPED differential test: only one tier here");
  const outcomes = new Map<string, number>();
  for (let seed = 1; seed <= CASES; seed++) {
    const c = generate(seed);
    const expected = observe(c, "interpreter");
    for (const e of expected) {
      const kind = e.split(" ")[0];
      if (kind !== "gas" && kind !== "data") outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
    }
    for (const tier of TIERS) {
      const actual = observe(c, tier);
      if (actual.join("\n") !== expected.join("\n")) {
        console.error(
          `seed ${seed} (${
            c.rve ? "RV32E" : "RV32I"
          }, gas ${c.gas}) diverges on ${tier}; reduced program:\n${reduce(c)}`,
        );
        assertEquals(actual, expected, `seed ${seed}, tier ${tier}`);
      }
    }
  }
  console.log(
    `differential: ${CASES} programs on ${TIERS.join(", ")}; outcomes:`,
    Object.fromEntries(outcomes),
  );
});
