/** The public API: linking, host calls, exports, tiers, isolation and limits. */
import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { nativeSupport } from "../jit/mod.ts";
import { LinkError, Program, ProgramError, Trap } from "../mod.ts";
import { wasmSupport } from "../wasm/mod.ts";
import { buildGuest, CODE, DATA, type GuestSpec, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const { a0, a1, a2, a5, t0, zero } = reg;

/** `f(...)`: calls import `host` with the arguments, then returns. */
const callHost: GuestSpec = {
  code: [ins.ecall(), ins.ret()],
  imports: [{ at: 0, name: "host" }],
  exports: [{ at: 0, name: "f" }],
};

Deno.test("LinkError names every missing import; built-ins cannot be supplied", () => {
  const program = Program.fromBytes(buildGuest({
    code: [ins.ecall(), ins.ecall(), ins.ecall(), ins.ret()],
    imports: [{ at: 0, name: "a" }, { at: 1, name: "rvbox_exit" }, { at: 2, name: "b.c" }],
  }));
  assertEquals(program.imports, ["a", "rvbox_exit", "b.c"]);
  const error = assertThrows(() => program.instantiate({}), LinkError);
  assertEquals(error.missing, ["a", "b.c"]);
  assertThrows(
    () => program.instantiate({ a: () => 0, "b.c": () => 0, rvbox_exit: () => 0 }),
    LinkError,
    "built-in",
  );
  assertThrows(
    () => program.instantiate({ a: 5 as unknown as () => number, "b.c": () => 0 }),
    LinkError,
    "must be a function",
  );
});

tierTest("host calls: unsigned arguments, number/bigint/void results", (tier) => {
  let seen: number[] = [];
  let result: number | bigint | void = undefined;
  const instance = Program.fromBytes(buildGuest(callHost)).instantiate({
    host: (_ctx, ...args) => {
      seen = args;
      return result;
    },
  }, { tier });
  result = 7;
  assertEquals(instance.exports.f(-1, 2, 3, 4, 5, 0x80000000), 7);
  assertEquals(seen, [0xffffffff, 2, 3, 4, 5, 0x80000000]);
  result = -(2n ** 40n);
  assertEquals(instance.exports.f.i64(), -(2n ** 40n));
  result = undefined; // registers unchanged: a0 keeps the argument
  assertEquals(instance.exports.f(41), 41);
  result = "x" as unknown as number;
  assertEquals(assertThrows(() => instance.exports.f(), Trap).kind, "HostError");
});

tierTest("host context: registers, memory and reentrancy", (tier) => {
  const program = Program.fromBytes(buildGuest(callHost));
  const instance = program.instantiate({
    host: (ctx, ptr) => {
      ctx.memory.writeU32(ptr, 0xdeadbeef);
      ctx.setRegister(a1, ctx.getRegister(a5) + 1);
      ctx.setRegister(zero, 5);
      return ctx.memory.readU32(ptr) === 0xdeadbeef ? 1 : 0;
    },
  }, { tier });
  assertEquals(instance.exports.f(DATA, 0, 0, 0, 0, 9), 1);
  assertEquals(instance.memory.readU32(DATA), 0xdeadbeef);
  assertEquals(instance.exports.f.i64(DATA, 0, 0, 0, 0, 9), (10n << 32n) | 1n);
  const bad = program.instantiate({ host: (ctx) => void ctx.memory.writeU32(CODE, 1) }, { tier });
  assertInstanceOf(assertThrows(() => bad.exports.f(), Trap).cause, RangeError);
  let inner: unknown;
  const reentrant = program.instantiate({
    host: () => {
      try {
        reentrant.exports.f();
      } catch (e) {
        inner = e;
      }
    },
  }, { tier });
  reentrant.exports.f();
  assertInstanceOf(inner, Error);
});

tierTest("exports: argument checks; exit ends a call with its code", (tier) => {
  const code = [
    ins.li(a0, 3),
    ins.ecall(),
    ins.li(a0, 4),
    ins.ret(),
    ins.add(a0, a0, a2),
    ins.ret(),
  ];
  const program = Program.fromBytes(buildGuest({
    code,
    imports: [{ at: 1, name: "rvbox_exit" }],
    exports: [{ at: 4, name: "add02" }],
  }));
  assertEquals(program.exports, ["add02"]);
  const instance = program.instantiate({}, { tier });
  assertEquals(instance.run(), 3);
  assertEquals(instance.exports.add02(1, 100, 2), 3);
  assertEquals(instance.exports.add02(2n ** 32n + 1n, 0, 1), 2);
  assertThrows(() => instance.exports.add02(1, 2, 3, 4, 5, 6, 7), RangeError);
  assertThrows(() => instance.exports.add02(NaN), TypeError);
});

tierTest("sbrk and print built-ins; the heap limit holds", (tier) => {
  // a0 = sbrk(a0); a1 = sbrk(0); return
  const code = [
    ins.ecall(),
    ins.addi(t0, a0, 0),
    ins.li(a0, 0),
    ins.ecall(),
    ins.addi(a1, a0, 0),
    ins.addi(a0, t0, 0),
    ins.ret(),
  ];
  const program = Program.fromBytes(buildGuest({
    code,
    imports: [{ at: 0, name: "rvbox_sbrk" }, { at: 3, name: "rvbox_sbrk" }],
    exports: [{ at: 0, name: "sbrk" }],
  }));
  const instance = program.instantiate({}, { tier, heapSize: 0x2000 });
  const heapStart = DATA + 0x1000;
  assertEquals(
    instance.exports.sbrk.i64(0x1000),
    (BigInt(heapStart + 0x1000) << 32n) | BigInt(heapStart),
  );
  assertEquals(instance.exports.sbrk(0x1001), -1);
  assertEquals(instance.memory.brk, heapStart + 0x1000);
  instance.memory.writeU32(heapStart + 0xffc, 1);

  const printed: string[] = [];
  const printer = Program.fromBytes(buildGuest({
    code: [ins.lui(a0, 0x11), ins.li(a1, 5), ins.ecall(), ins.ret()],
    imports: [{ at: 2, name: "rvbox_print" }],
    rodata: new TextEncoder().encode("hello"),
  })).instantiate({}, { tier, print: (b) => printed.push(new TextDecoder().decode(b)) });
  assertEquals(printer.run(), 0);
  assertEquals(printed, ["hello"]);
});

tierTest("two instances never share memory", (tier) => {
  const code = [
    ins.lui(a1, 0x22),
    ins.lw(a2, a1, 0),
    ins.add(a2, a2, a0),
    ins.sw(a2, a1, 0),
    ins.addi(a0, a2, 0),
    ins.ret(),
  ];
  const program = Program.fromBytes(buildGuest({ code, exports: [{ at: 0, name: "bump" }] }));
  const one = program.instantiate({}, { tier });
  const two = program.instantiate({}, { tier });
  assertEquals([one.exports.bump(5), one.exports.bump(5), two.exports.bump(1)], [5, 10, 1]);
});

Deno.test("tiers: auto picks native where it can run, else wasm, else the interpreter, and says why", () => {
  const program = Program.fromBytes(buildGuest({ code: [ins.ret()] }));
  const instance = program.instantiate();
  const support = nativeSupport();
  const wasm = wasmSupport();
  const auto = support.ok
    ? { tier: "native", reason: support.reason }
    : wasm.ok
    ? { tier: "wasm", reason: `${support.reason}; ${wasm.reason}` }
    : { tier: "interpreter", reason: support.reason };
  // Where translated code can run, auto starts on the interpreter until the program is hot.
  assertEquals(instance.tier, "interpreter");
  assertEquals(
    instance.tierReason,
    auto.tier !== "interpreter"
      ? `${auto.reason}; on the interpreter until the program has spent 1000000 gas (tier-up)`
      : auto.reason,
  );
  const atOnce = program.instantiate({}, { tierUp: 0 });
  assertEquals([atOnce.tier, atOnce.tierReason], [auto.tier, auto.reason]);
  atOnce.dispose();
  for (const bad of [-1, 0.5, NaN, Infinity]) {
    assertThrows(() => program.instantiate({}, { tierUp: bad }), RangeError, "tierUp");
  }
  if (support.ok) assertEquals(program.instantiate({}, { tier: "native" }).tier, "native");
  else assertThrows(() => program.instantiate({}, { tier: "native" }), RangeError, "native");
  const traced = program.instantiate({}, { trace: () => {} });
  assertEquals([traced.tier, traced.tierReason], [
    "interpreter",
    "tracing runs on the interpreter",
  ]);
  assertThrows(() => program.instantiate({}, { tier: "native", trace: () => {} }), RangeError);
  assertThrows(
    () => program.instantiate({}, { tier: "fast" as "auto" }),
    RangeError,
    "unknown tier",
  );
  instance.dispose();
  instance.dispose();
  assertThrows(() => instance.run(), Error, "disposed");
  assertThrows(() => instance.memory.readU8(0x10000), Error, "disposed");
  {
    using scoped = program.instantiate();
    assertEquals(scoped.run(), 0);
  }
});

Deno.test("limits: options are validated; the loader's limits hold", () => {
  const bytes = buildGuest({ code: [ins.ret()] });
  const program = Program.fromBytes(bytes);
  assertThrows(() => program.instantiate({}, { gas: -1 }), RangeError);
  assertThrows(() => program.instantiate({}, { heapSize: 2 ** 40 }), RangeError);
  assertThrows(() => program.instantiate().gas = 1.5, RangeError);
  assertThrows(() => Program.fromBytes(bytes, { maxCodeSize: 3 }), ProgramError, "limit");
  assertThrows(() => Program.fromBytes(bytes, { maxImageSize: 0x1000 }), ProgramError, "limit");
  assertThrows(() => Program.fromBytes("elf" as unknown as Uint8Array), TypeError);
  // The input is copied: changing it afterwards changes nothing.
  const copy = bytes.slice();
  const kept = Program.fromBytes(copy);
  copy.fill(0);
  assertEquals(kept.instantiate().run(), 0);
  assertEquals(Program.fromBytes(bytes.buffer as ArrayBuffer).base, "rv32i");
});
