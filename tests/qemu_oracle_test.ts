/**
 * Differential test against an independent implementation: seeded random
 * programs run in `qemu-riscv32` (Debian's qemu-user) and in every rvbox
 * tier; registers x1..x30 and a scratch memory region must match.
 *
 * The same ELF runs in both. It ends by storing the registers next to the
 * scratch region and calling Linux `write(1, DATA, DUMP)` then `exit(0)`
 * through ECALL; for rvbox, `.rvbox.imports` names those two sites
 * `linux_write` (a host function here) and `rvbox_exit`.
 *
 * `RVBOX_ORACLE_CASES` sets the number of programs (default 150).
 */
import { assertEquals } from "@std/assert";
import { Program, type Tier } from "../mod.ts";
import { R_TYPE_FUNCTS } from "./_guest.ts";
import { buildGuest, DATA, type GuestSpec, ins } from "./_guest.ts";
import { seeded } from "./_random.ts";
import { envVar, TIERS, toolTest } from "./_tiers.ts";

const CASES = Number(envVar("RVBOX_ORACLE_CASES") ?? 150);
const SCRATCH = 256; // bytes at DATA the body loads from and stores to
const DUMP = SCRATCH + 31 * 4; // scratch, then x1..x31
const BASE = 30; // holds DATA during the body; never written by it
const TEMP = 29; // address register for AMOs and LR/SC
const DUMP_BASE = 31;

const EDGES = [
  0,
  1,
  -1,
  2,
  31,
  32,
  0x7fffffff,
  -0x80000000,
  0x8000,
  0xffff,
  0x12345678,
  -0x789abcdf,
];

const r = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op = 0x33) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const i = (imm: number, rs1: number, f3: number, rd: number, op = 0x13) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const st = (imm: number, rs2: number, rs1: number, f3: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1f) << 7)
    | 0x23) >>> 0;

/** Loads a 32-bit constant with LUI + ADDI. */
function li32(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  const hi = ((value - lo) >>> 12) & 0xfffff;
  return [ins.lui(rd, hi), ins.addi(rd, rd, lo)];
}

/** A random program body: registers x1..x28 only are written. */
function body(seed: number): GuestSpec["code"] {
  const rnd = seeded(seed);
  const code: GuestSpec["code"] = [];
  const reg = () => 1 + rnd.int(28);
  for (let x = 1; x <= 28; x++) {
    code.push(...li32(x, rnd.pick(EDGES) ^ (rnd.int(2) ? 0 : rnd.int(1 << 16))));
  }
  code.push(...li32(BASE, DATA));
  const alu = () => {
    const kind = rnd.int(10);
    if (kind < 4) {
      const [f7, f3] = rnd.pick(R_TYPE_FUNCTS);
      return r(f7, reg(), reg(), f3, reg());
    }
    if (kind < 7) {
      const f3 = rnd.pick([0, 2, 3, 4, 6, 7]);
      return i(rnd.pick([0, 1, -1, 2047, -2048, rnd.int(4096) - 2048]), reg(), f3, reg());
    }
    if (kind < 9) {
      const [f7, f3] = rnd.pick([[0, 1], [0, 5], [0x20, 5]]);
      return i((f7 << 5) | rnd.int(32), reg(), f3, reg());
    }
    return rnd.int(2)
      ? ins.lui(reg(), rnd.int(1 << 20))
      : ((rnd.int(1 << 20) << 12) | (reg() << 7) | 0x17) >>> 0;
  };
  /** A compressed ALU instruction (CR, CI, CA and CB forms; rd' is x8..x15). */
  const compressed = () => {
    const full = 1 + rnd.int(28);
    const short = 8 + rnd.int(8);
    const imm6 = rnd.int(64);
    const imm = ((imm6 >> 5) << 12) | ((imm6 & 31) << 2);
    switch (rnd.int(6)) {
      case 0: // c.add / c.mv
        return { half: ((8 + rnd.int(2)) << 12) | (full << 7) | ((1 + rnd.int(28)) << 2) | 2 };
      case 1: // c.addi / c.li
        return { half: (rnd.pick([0, 2]) << 13) | imm | (full << 7) | 1 };
      case 2: // c.slli (shamt < 32)
        return { half: ((imm6 & 31) << 2) | (full << 7) | 2 };
      case 3: // c.srli / c.srai (shamt < 32)
        return {
          half: (4 << 13) | (rnd.int(2) << 10) | ((short - 8) << 7) | ((imm6 & 31) << 2) | 1,
        };
      case 4: // c.andi
        return { half: (4 << 13) | imm | (2 << 10) | ((short - 8) << 7) | 1 };
      default: // c.sub / c.xor / c.or / c.and
        return {
          half: (0x23 << 10) | ((short - 8) << 7) | (rnd.int(4) << 5) | (rnd.int(8) << 2) | 1,
        };
    }
  };
  for (let n = 0; n < 120; n++) {
    const kind = rnd.int(22);
    if (kind >= 20) code.push(compressed());
    else if (kind < 11) code.push(alu());
    else if (kind < 14) {
      code.push(i(rnd.int(SCRATCH - 3), BASE, rnd.pick([0, 1, 2, 4, 5]), reg(), 0x03));
    } else if (kind < 17) code.push(st(rnd.int(SCRATCH - 3), reg(), BASE, rnd.pick([0, 1, 2])));
    else if (kind < 18) {
      // An AMO on an aligned scratch word (qemu faults on misaligned AMOs). LR/SC
      // stay out: qemu's SC also fails when the word changed since the LR, a
      // legal choice the contract makes differently (tests/conformance_test.ts).
      code.push(ins.addi(TEMP, BASE, rnd.int(SCRATCH / 4) * 4));
      const f5 = rnd.pick([0, 1, 4, 12, 8, 16, 20, 24, 28]);
      code.push(r(f5 << 2, reg(), TEMP, 2, reg(), 0x2f));
    } else {
      // A forward branch over 1-3 ALU instructions.
      const skip = 1 + rnd.int(3);
      const off = 4 * (skip + 1); // the skipped instructions are 4 bytes each
      const f3 = rnd.pick([0, 1, 4, 5, 6, 7]);
      code.push(
        ((((off >> 1) & 0xf) << 8) | (reg() << 20) | (reg() << 15) | (f3 << 12) | 0x63) >>> 0,
      );
      for (let k = 0; k < skip; k++) code.push(alu());
    }
  }
  return code;
}

/** Body, register dump, `write(1, DATA, DUMP)`, `exit(0)`. */
function oracleProgram(seed: number): Uint8Array {
  const code = body(seed);
  code.push(...li32(DUMP_BASE, DATA + SCRATCH - 4));
  for (let x = 1; x <= 30; x++) code.push(st(4 * x, x, DUMP_BASE, 2));
  code.push(ins.li(10, 1), ...li32(11, DATA), ins.li(12, DUMP), ins.li(17, 64));
  const write = code.length;
  code.push(ins.ecall(), ins.li(10, 0), ins.li(17, 93));
  const exit = code.length;
  code.push(ins.ecall());
  return buildGuest({
    code,
    data: new Uint8Array(DUMP),
    imports: [{ at: write, name: "linux_write" }, { at: exit, name: "rvbox_exit" }],
  });
}

async function runQemu(elf: Uint8Array): Promise<Uint8Array> {
  const file = await Deno.makeTempFile({ suffix: ".elf" });
  try {
    await Deno.writeFile(file, elf, { mode: 0o755 });
    const { code, stdout, stderr } = await new Deno.Command("qemu-riscv32", {
      args: [file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      throw new Error(`qemu-riscv32 exited with ${code}: ${new TextDecoder().decode(stderr)}`);
    }
    return stdout;
  } finally {
    await Deno.remove(file);
  }
}

function runRvbox(elf: Uint8Array, tier: Tier): Uint8Array {
  let dump: Uint8Array = new Uint8Array();
  Program.fromBytes(elf).instantiate({
    linux_write: (ctx, _fd, buf, len) => {
      dump = ctx.memory.read(buf, len);
      return len;
    },
  }, { tier }).run();
  return dump;
}

function describe(dump: Uint8Array): string[] {
  const view = new DataView(dump.buffer, dump.byteOffset);
  const regs = Array.from(
    { length: 30 },
    (_, k) => `x${k + 1}=${view.getUint32(SCRATCH + 4 * k, true).toString(16)}`,
  );
  return [
    ...regs,
    `scratch=${
      Array.from(dump.subarray(0, SCRATCH), (b) => b.toString(16).padStart(2, "0")).join("")
    }`,
  ];
}

await toolTest(`qemu oracle: ${CASES} random programs, registers and memory match`, [
  "qemu-riscv32",
], async () => {
  const seeds = Array.from({ length: CASES }, (_, k) => k + 1);
  for (let start = 0; start < seeds.length; start += 8) {
    const batch = seeds.slice(start, start + 8);
    const expected = await Promise.all(batch.map((seed) => runQemu(oracleProgram(seed))));
    batch.forEach((seed, k) => {
      assertEquals(
        expected[k].length,
        DUMP,
        `seed ${seed}: qemu printed ${expected[k].length} bytes`,
      );
      for (const tier of TIERS) {
        assertEquals(
          describe(runRvbox(oracleProgram(seed), tier)),
          describe(expected[k]),
          `seed ${seed}, tier ${tier}`,
        );
      }
    });
  }
  console.log(`qemu oracle: ${CASES} programs compared on ${TIERS.join(", ")}`);
});
