/** Every trap kind with its exact pc, address and register state (abi/README.md §4). */
import { assertEquals, assertInstanceOf, assertStrictEquals, assertThrows } from "@std/assert";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import { type Imports, Program, type Tier, Trap, type TrapKind } from "../mod.ts";
import { addressOf, buildGuest, CODE, DATA, type GuestSpec, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0, a1, a2, t0, t1, ra, sp, zero } = reg;

/** Runs `spec` and returns the trap it must raise. */
function trapOf(spec: GuestSpec, tier: Tier, imports: Imports = {}): Trap {
  const instance = Program.fromBytes(buildGuest(spec)).instantiate(imports, { tier });
  return assertThrows(() => instance.run(), Trap);
}

function expectTrap(trap: Trap, kind: TrapKind, pc: number, extra: Partial<Trap> = {}): void {
  assertEquals(
    { kind: trap.kind, pc: trap.pc, address: trap.address, access: trap.access },
    { kind, pc, address: extra.address, access: extra.access },
  );
}

tierTest("InvalidInstruction: a CSR read, with registers before it", (tier) => {
  const code = [ins.li(a0, 5), ins.csrrs(a1, 0xc00), ins.ret()];
  const trap = trapOf({ code }, tier);
  expectTrap(trap, "InvalidInstruction", CODE + 4);
  assertEquals(trap.registers.length, 32);
  assertEquals([trap.registers[a0], trap.registers[ra], trap.registers[sp]], [
    5,
    HOST_RETURN_ADDRESS,
    DATA,
  ]);
});

tierTest("InvalidInstruction: an ECALL that is not an import site; RV32E register x16", (tier) => {
  expectTrap(trapOf({ code: [ins.ecall(), ins.ret()] }, tier), "InvalidInstruction", CODE);
  const rve = { code: [ins.li(a0, 1), ins.li(16, 1), ins.ret()], rve: true };
  expectTrap(trapOf(rve, tier), "InvalidInstruction", CODE + 4);
  // The same code is valid RV32I.
  assertEquals(
    Program.fromBytes(buildGuest({ ...rve, rve: false })).instantiate({}, { tier }).run(),
    1,
  );
});

tierTest("MemoryFault: address 0, the top of memory, read-only data, region edges", (tier) => {
  const at = (code: number[], index: number, address: number, access: "read" | "write") =>
    expectTrap(
      trapOf({ code: [...code, ins.ret()] }, tier),
      "MemoryFault",
      addressOf(code, index),
      {
        address,
        access,
      },
    );
  at([ins.lw(a1, zero, 0)], 0, 0, "read");
  at([ins.li(a0, -4), ins.lw(a1, a0, 0)], 1, 0xfffffffc, "read");
  at([ins.lui(a0, 0x11), ins.sw(a0, a0, 0)], 1, 0x11000, "write"); // rodata
  at([ins.lui(a0, 0x11), ins.amoadd(a1, a0, a0)], 1, 0x11000, "write");
  at([ins.lui(a0, 0x10), ins.sb(a0, a0, 0)], 1, 0x10000, "write"); // code
  at([ins.lui(a0, 0x12), ins.sw(a0, a0, -4)], 1, 0x11ffc, "write"); // just below the stack
  at([ins.lui(a0, 0x23), ins.lw(a1, a0, -2)], 1, 0x22ffe, "read"); // straddles the data end
  at([ins.lui(a0, 0x23), ins.lbu(a1, a0, 0)], 1, 0x23000, "read"); // the empty heap
});

tierTest("memory: edges that are accessible do not fault", (tier) => {
  const code = [
    ins.lui(a0, 0x12),
    ins.lw(a1, a0, -4), // last word of rodata (readable)
    ins.sw(a1, a0, 0), // first word of the stack
    ins.lui(a0, 0x23),
    ins.sw(a0, a0, -4), // last word of data
    ins.lw(a0, a0, -4),
    ins.ret(),
  ];
  assertEquals(Program.fromBytes(buildGuest({ code })).instantiate({}, { tier }).run(), 0x23000);
});

tierTest(
  "InvalidJump: into an instruction, outside code, falling off the end; no link written",
  (tier) => {
    const mid = trapOf({ code: [ins.lui(a0, 0x10), ins.jalr(ra, a0, 2), ins.ret()] }, tier);
    expectTrap(mid, "InvalidJump", CODE + 4, { address: CODE + 2 });
    assertEquals(mid.registers[ra], HOST_RETURN_ADDRESS);
    const far = trapOf({ code: [ins.beq(zero, zero, 0x800), ins.ret()] }, tier);
    expectTrap(far, "InvalidJump", CODE, { address: CODE + 0x800 });
    const jal = trapOf({ code: [ins.jal(ra, 0x1000), ins.ret()] }, tier);
    expectTrap(jal, "InvalidJump", CODE, { address: CODE + 0x1000 });
    assertEquals(jal.registers[ra], HOST_RETURN_ADDRESS);
    const fall = trapOf({ code: [ins.li(a0, 1), ins.li(a1, 2)] }, tier);
    expectTrap(fall, "InvalidJump", CODE + 4, { address: CODE + 8 });
    assertEquals(fall.registers[a1], 2);
  },
);

tierTest("JALR clears bit 0: returning to HOST_RETURN_ADDRESS + 1 returns", (tier) => {
  const code = [ins.li(a0, 42), ins.jalr(zero, ra, 1)];
  assertEquals(Program.fromBytes(buildGuest({ code })).instantiate({}, { tier }).run(), 42);
});

tierTest("Breakpoint: pc of EBREAK, resumable after it", (tier) => {
  const code = [ins.li(a0, 1), ins.ebreak(), ins.addi(a0, a0, 1), ins.ret()];
  const instance = Program.fromBytes(buildGuest({ code })).instantiate({}, { tier });
  const trap = assertThrows(() => instance.run(), Trap);
  expectTrap(trap, "Breakpoint", CODE + 4);
  assertEquals(trap.resumable, true);
  assertEquals(instance.resume(), 2);
  assertThrows(() => instance.resume(), Error, "no call to resume");
});

tierTest("HostError: pc of the ECALL, the thrown error as cause; not resumable", (tier) => {
  const boom = new Error("boom");
  const code = [ins.li(a0, 3), ins.ecall(), ins.ret()];
  const imports = {
    fail: () => {
      throw boom;
    },
  };
  const trap = trapOf({ code, imports: [{ at: 1, name: "fail" }] }, tier, imports);
  expectTrap(trap, "HostError", CODE + 4);
  assertStrictEquals(trap.cause, boom);
  assertEquals(trap.resumable, false);
  assertInstanceOf(trap, Error);
});

tierTest("a trap leaves the instance usable for new calls", (tier) => {
  const code = [ins.lw(a0, zero, 0), ins.ret(), ins.li(a0, 9), ins.ret()];
  const instance = Program.fromBytes(buildGuest({ code, exports: [{ at: 2, name: "nine" }] }))
    .instantiate({}, { tier });
  assertThrows(() => instance.run(), Trap);
  assertEquals(instance.exports.nine(), 9);
  assertThrows(() => instance.resume(), Error);
});

tierTest("registers start at zero except sp, ra and the arguments", (tier) => {
  const code = [ins.add(a0, t0, t1), ins.add(a0, a0, a2), ins.ebreak(), ins.ret()];
  const instance = Program.fromBytes(buildGuest({ code, exports: [{ at: 0, name: "f" }] }))
    .instantiate({}, { tier });
  const trap = assertThrows(() => instance.exports.f(1, 2, 3, 4, 5, 6), Trap);
  const expected = new Uint32Array(32);
  expected[ra] = HOST_RETURN_ADDRESS;
  expected[sp] = DATA;
  [3, 2, 3, 4, 5, 6].forEach((v, k) => expected[a0 + k] = v); // a0 = 0 + 0 + a2
  assertEquals(trap.registers, expected);
});
