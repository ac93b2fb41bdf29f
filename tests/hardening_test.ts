/**
 * Regression tests for the outside review's findings on loading and the
 * interpreter (issue 10): blocks costing more than an interpreter slice, code
 * that is only the file bytes of executable segments, sparse code, segments
 * without read permission, and host memory helpers given addresses outside
 * 32 bits. Each runs on every tier.
 */
import { assertEquals, assertRejects, assertThrows } from "@std/assert";
import { Program, ProgramError, Trap } from "../mod.ts";
import { buildGuest, CODE, DATA, type GuestSpec, ins, reg, RODATA } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0, t0 } = reg;
const C_NOP = { half: 0x0001 };
/** More instructions than the interpreter's 2^22-gas slice, in one block. */
const LONG = (1 << 22) + 1000;
const PHOFF = 52;
/** Offset of field `at` of program header `index`. */
const ph = (index: number, at: number) => PHOFF + 32 * index + at;

function patched(spec: GuestSpec, patch: (view: DataView) => void): Uint8Array {
  const bytes = buildGuest(spec);
  patch(new DataView(bytes.buffer));
  return bytes;
}

/** `lui`+`addi` loading `value` into `rd`. */
function li32(rd: number, value: number): number[] {
  const lo = (value << 20) >> 20;
  return [ins.lui(rd, ((value - lo) >>> 12) & 0xfffff), ins.addi(rd, rd, lo)];
}

// One block of LONG c.nops and a return (the code segment alone: it overlaps the others' places);
// `jump` enters it indirectly 4 instructions in.
let longProgram: Program | undefined;
const longBlock = () =>
  longProgram ??= (() => {
    const jumpTo = CODE + 12 + 2 * 4;
    const code: GuestSpec["code"] = [...li32(t0, jumpTo), ins.jalr(0, t0, 0)];
    for (let n = 0; n < LONG; n++) code.push(C_NOP);
    code.push(ins.ret());
    const spec = { code, exports: [{ at: 3, name: "direct" }, { at: 0, name: "jump" }] };
    return Program.fromBytes(patched(spec, (v) => v.setUint16(44, 1, true)));
  })();

tierTest("a block costing more than an interpreter slice runs, and traps exactly", (tier) => {
  const paid = longBlock().instantiate({}, { tier, gas: LONG + 1 });
  assertEquals(paid.exports.direct(), 0);
  assertEquals(paid.gas, 0);

  const unpaid = longBlock().instantiate({}, { tier, gas: LONG });
  const trap = assertThrows(() => unpaid.exports.direct(), Trap);
  assertEquals([trap.kind, trap.pc, unpaid.gas], ["OutOfGas", CODE + 12, LONG]);
  unpaid.gas = LONG + 1;
  assertEquals(unpaid.resume(), 0);
  assertEquals(unpaid.gas, 0);
});

tierTest("an indirect jump into a block costing more than a slice charges the rest", (tier) => {
  const cost = 3 + (LONG - 4 + 1); // the jump's block, then from the target to the block end
  const paid = longBlock().instantiate({}, { tier, gas: cost + 7 });
  assertEquals(paid.exports.jump(), 0);
  assertEquals(paid.gas, 7);

  const unpaid = longBlock().instantiate({}, { tier, gas: cost - 1 });
  const trap = assertThrows(() => unpaid.exports.jump(), Trap);
  assertEquals([trap.kind, trap.pc, unpaid.gas], ["OutOfGas", CODE + 12 + 8, cost - 1 - 3]);
});

// Code: `lw a0, 0(t0); ret` after loading t0; the segment's memory runs 9 MiB past its file bytes.
const TAIL = 9 << 20;
const tailSpec = (address: number): GuestSpec => ({
  code: [
    ...li32(t0, address),
    ins.lw(a0, t0, 0),
    ins.ret(),
    ...li32(t0, address),
    ins.jalr(0, t0, 0),
  ],
  exports: [{ at: 0, name: "load" }, { at: 4, name: "jump" }],
});
const tailProgram = (address: number) =>
  Program.fromBytes(patched(tailSpec(address), (v) => {
    v.setUint16(44, 1, true); // the code segment alone
    v.setUint32(ph(0, 20), v.getUint32(ph(0, 16), true) + TAIL, true);
  }));

tierTest("a code segment's zero-filled tail is readable memory, not code", (tier) => {
  const inTail = CODE + 0x100000;
  const program = tailProgram(inTail);
  assertEquals(program.instructionCount, 7);
  assertEquals(program.segments[0].end - program.segments[0].start, 0x1000 + TAIL);
  const instance = program.instantiate({}, { tier });
  assertEquals(instance.exports.load(), 0);
  assertEquals(instance.memory.readU32(inTail), 0);
  const trap = assertThrows(() => instance.exports.jump(), Trap);
  assertEquals([trap.kind, trap.address, trap.pc], ["InvalidJump", inTail, CODE + 24]);
});

tierTest("code segments far apart cost tables for their code, not the span between", (tier) => {
  // Segment 1 becomes code 48 MiB above the first; a jump goes there and returns.
  const far = 0x3010000;
  const bytes = patched({
    code: [...li32(t0, far), ins.jalr(0, t0, 0)],
    exports: [{ at: 0, name: "go" }],
    rodata: new Uint8Array([0x13, 0x05, 0x70, 0x00, 0x67, 0x80, 0x00, 0x00]), // li a0, 7; ret
  }, (v) => {
    v.setUint32(ph(1, 8), far, true);
    v.setUint32(ph(1, 12), far, true);
    v.setUint32(ph(1, 24), 5, true); // r-x
    v.setUint32(ph(2, 8), far + 0x10000, true);
    v.setUint32(ph(2, 12), far + 0x10000, true);
  });
  const program = Program.fromBytes(bytes);
  const code = program.image.code;
  assertEquals(code.slots.length, 2 * 2048); // two chunks hold code
  assertEquals(code.chunks.length, (far + 8 - CODE - 1) / 4096 + 1 | 0);
  assertEquals(program.instantiate({}, { tier }).exports.go(), 7);
});

Deno.test("a segment that is neither readable nor executable is a ProgramError", () => {
  for (const flags of [0, 2]) {
    const bytes = patched({ code: [ins.ret()] }, (v) => v.setUint32(ph(1, 24), flags, true));
    assertThrows(() => Program.fromBytes(bytes), ProgramError, "neither readable nor executable");
  }
});

tierTest("host memory helpers reject addresses and lengths outside 32 bits", (tier) => {
  const instance = Program.fromBytes(buildGuest({
    code: [ins.ret()],
    data: new Uint8Array([1, 2, 3, 4]),
  })).instantiate({}, { tier });
  const m = instance.memory;
  assertEquals(m.readU32(DATA), 0x04030201);
  const bad = [2 ** 32 + DATA, -4, DATA - 2 ** 32, DATA + 0.5, NaN, Infinity];
  for (const address of bad) {
    assertThrows(() => m.readU32(address), RangeError, "", `readU32(${address})`);
    assertThrows(() => m.readU8(address), RangeError);
    assertThrows(() => m.writeU32(address, 1), RangeError);
    assertThrows(() => m.read(address, 1), RangeError);
    assertThrows(() => m.write(address, new Uint8Array(1)), RangeError);
    assertThrows(() => m.readString(address, 1), RangeError);
  }
  for (const length of [-1, 2 ** 32 + 1, 1.5, NaN]) {
    assertThrows(() => m.read(DATA, length), RangeError, "", `read(DATA, ${length})`);
  }
  // Wrapping around the top of the address space is not access to the bottom.
  assertThrows(() => m.read(0xffffffff, 2), RangeError);
  assertEquals(m.read(RODATA, 0).length, 0);
  assertEquals(m.readU32(DATA), 0x04030201);
});

Deno.test("loader limits: a file over maxFileSize is a ProgramError; a limit must be a number", () => {
  const bytes = buildGuest({ code: [ins.ret()] });
  assertThrows(() => Program.fromBytes(bytes, { maxFileSize: 100 }), ProgramError, "limit of 100");
  for (const bad of [NaN, -1, 1.5, Infinity]) {
    for (const name of ["maxFileSize", "maxCodeSize", "maxImageSize"]) {
      assertThrows(() => Program.fromBytes(bytes, { [name]: bad }), RangeError, name);
    }
  }
});

Deno.test("Program.fromFile stops at maxFileSize and reports directories", async () => {
  await assertRejects(
    () => Program.fromFile("/dev/zero", { maxFileSize: 1 << 20 }),
    ProgramError,
    "limit",
  );
  await assertRejects(
    () =>
      Program.fromFile(new URL("../examples/fib/fib.rv32em.elf", import.meta.url), {
        maxFileSize: 1000,
      }),
    ProgramError,
    "larger than the 1000-byte limit",
  );
  await assertRejects(
    () => Program.fromFile(new URL(".", import.meta.url)),
    Deno.errors.IsADirectory,
  );
});

tierTest(
  "an access across the hole between the break and a stack above the heap faults",
  (tier) => {
    const code = [
      ins.ecall(),
      ins.ret(),
      ins.lw(a0, a0, 0),
      ins.ret(),
      ins.sw(11, a0, 0),
      ins.ret(),
    ];
    const program = Program.fromBytes(buildGuest({
      code,
      segments: [],
      imports: [{ at: 0, name: "rvbox_sbrk" }],
      exports: [{ at: 0, name: "sbrk" }, { at: 2, name: "lw" }, { at: 4, name: "sw" }],
    }));
    const instance = program.instantiate({}, { tier, heapSize: 4095 });
    const at = instance.exports.sbrk(4094) + 4093; // last heap byte, the hole, two stack bytes
    for (const call of [() => instance.exports.lw(at), () => instance.exports.sw(at, 1)]) {
      const trap = assertThrows(call, Trap);
      assertEquals([trap.kind, trap.address], ["MemoryFault", at]);
    }
  },
);

// Found by the differential fuzzer (seed 7): the wasm tier handed a reservation above 2 GiB to
// the interpreter as a negative number, so an SC it ran after a delegated access failed.
tierTest("a reservation above 2 GiB holds across accesses outside the fast windows", (tier) => {
  const code = 0x80010000, data = 0x80400000;
  const { a1, a2, t1 } = reg;
  const program = Program.fromBytes(buildGuest({
    codeAt: code,
    code: [
      // lr; a load from the code segment (outside the data's window); sc: 0, stored
      ins.lui(t0, data >>> 12),
      ins.lui(t1, code >>> 12),
      ins.atomic(2, a2, 0, t0),
      ins.lw(a1, t1, 0),
      ins.atomic(3, a0, a0, t0),
      ins.ret(),
      // the load first, so that the lr runs after it, then the sc in a block of its own
      ins.lui(t0, data >>> 12),
      ins.lui(t1, code >>> 12),
      ins.lw(a1, t1, 0),
      ins.atomic(2, a2, 0, t0),
      ins.jal(0, 4),
      ins.atomic(3, a0, a0, t0),
      ins.ret(),
    ],
    segments: [{ vaddr: data, bytes: new Uint8Array(16), flags: 6 }],
    exports: [{ at: 0, name: "lrLoadSc" }, { at: 6, name: "loadLrSc" }],
  }));
  const instance = program.instantiate({}, { tier, stackSize: 4096, heapSize: 0 });
  assertEquals(instance.exports.lrLoadSc(7), 0);
  assertEquals(instance.memory.readU32(data), 7);
  assertEquals(instance.exports.loadLrSc(9), 0);
  assertEquals(instance.memory.readU32(data), 9);
});
