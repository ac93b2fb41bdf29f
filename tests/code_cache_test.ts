/**
 * The native tier's code cache (jit/_compiled.ts, jit/code_cache.ts): the
 * same program bytes are translated once per process, programs share a
 * translation only when everything it depends on is equal (code, ISA,
 * block leaders, host-call sites), sharing never changes what a program
 * does, and disposing frees native code as if each program had its own.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { translationCount } from "../jit/_native_code.ts";
import { codeCache } from "../jit/code_cache.ts";
import { type Imports, Program, resourceUsage, Trap } from "../mod.ts";
import { buildGuest, type GuestSpec, ins, reg } from "./_guest.ts";
import { TIERS } from "./_tiers.ts";
import { heldUsage } from "./_usage.ts";

const native = TIERS.includes("native");
const { a0 } = reg;

/**
 * `code` followed by an instruction never reached (after its last return)
 * that no other test's code has: code bytes of this test only.
 */
let serial = 0;
const unique = (code: GuestSpec["code"]) => [...code, ins.li(a0, 1000 + serial++)];

/**
 * Calls export `name` (`run`: the entry point) on both tiers with `gas`;
 * returns the native outcome after checking the interpreter's is the same.
 */
function outcome(program: Program, imports: Imports, name: string, gas: number) {
  const results = (["interpreter", "native"] as const).map((tier) => {
    using instance = program.instantiate(imports, { tier, gas });
    try {
      const value = name === "run" ? instance.run() : instance.exports[name]();
      return { value, gas: instance.gas };
    } catch (e) {
      if (!(e instanceof Trap)) throw e;
      return { trap: e.kind, pc: e.pc, gas: instance.gas };
    }
  });
  assertEquals(results[1], results[0], `${name}: native and interpreter differ`);
  return results[1];
}

Deno.test({
  name: "code cache: the same bytes loaded twice are translated once and share the code",
  ignore: !native,
  fn() {
    const bytes = buildGuest({ code: unique([ins.li(a0, 7), ins.ret()]) });
    const before = resourceUsage(), made = translationCount();
    const first = Program.fromBytes(bytes), second = Program.fromBytes(bytes);
    const a = first.instantiate({}, { tier: "native" });
    const b = second.instantiate({}, { tier: "native" });
    assertEquals([a.run(), b.run()], [7, 7]);
    assertEquals(translationCount() - made, 1, "one translation");
    const during = resourceUsage();
    assertEquals(during.nativePrograms - before.nativePrograms, 1, "one native program");
    // Disposing one program leaves the other's code alone; the last user frees it.
    first.dispose();
    a.dispose();
    assertEquals(b.run(), 7);
    assertEquals(second.instantiate({}, { tier: "native" }).run(), 7);
    second.dispose();
    b.dispose();
    assertEquals(resourceUsage().nativePrograms, before.nativePrograms + 1, "an instance is left");
  },
});

Deno.test({
  name: "code cache: a program loaded again after its code was freed maps the kept translation",
  ignore: !native,
  fn() {
    const bytes = buildGuest({ code: unique([ins.li(a0, 9), ins.ret()]) });
    const before = heldUsage();
    const run = () => {
      using program = Program.fromBytes(bytes);
      using instance = program.instantiate({}, { tier: "native" });
      return instance.run();
    };
    const made = translationCount();
    assertEquals(run(), 9);
    assertEquals(heldUsage(), before, "disposed: native code freed");
    const kept = codeCache().translations;
    assert(kept >= 1);
    assertEquals(run(), 9);
    assertEquals(translationCount() - made, 1, "mapped again, not translated again");
    assertEquals(heldUsage(), before);
    const saved = codeCache().maxBytes;
    try {
      assertEquals(codeCache({ maxBytes: 0 }).bytes, 0, "a lower limit drops kept code");
      assertEquals(run(), 9);
      assertEquals(translationCount() - made, 2, "nothing kept: translated again");
      assertEquals(codeCache().translations, 0);
    } finally {
      codeCache({ maxBytes: saved });
    }
  },
});

Deno.test("code cache: its limit is validated", () => {
  for (const bad of [-1, 1.5, NaN, Infinity]) {
    assertThrows(() => codeCache({ maxBytes: bad }), RangeError);
  }
  const { maxBytes } = codeCache();
  assertEquals(codeCache({ maxBytes }).maxBytes, maxBytes);
});

Deno.test({
  name: "code cache: the same code with other exports (block leaders) is translated apart",
  ignore: !native,
  fn() {
    // With `g` exported, the second addi starts a block: 2 gas pays f's first block only.
    const code = unique([ins.addi(a0, a0, 1), ins.addi(a0, a0, 1), ins.ret()]);
    const f = Program.fromBytes(buildGuest({ code, exports: [{ at: 0, name: "f" }] }));
    const fg = Program.fromBytes(buildGuest({
      code,
      exports: [{ at: 0, name: "f" }, { at: 1, name: "g" }],
    }));
    const made = translationCount();
    assertEquals(outcome(f, {}, "f", 2), { trap: "OutOfGas", pc: 0x10000, gas: 2 });
    assertEquals(outcome(fg, {}, "f", 2), { trap: "OutOfGas", pc: 0x10004, gas: 1 });
    assertEquals(translationCount() - made, 2);
  },
});

Deno.test({
  name: "code cache: the same code with other host-call sites or ISA is translated apart",
  ignore: !native,
  fn() {
    const code = unique([ins.ecall(), ins.ret(), ins.ecall(), ins.ret()]);
    const exports = [{ at: 0, name: "first" }, { at: 2, name: "second" }];
    const imports = { h: () => 5 };
    const made = translationCount();
    const one = Program.fromBytes(buildGuest({ code, exports, imports: [{ at: 0, name: "h" }] }));
    const both = Program.fromBytes(buildGuest({
      code,
      exports,
      imports: [{ at: 0, name: "h" }, { at: 2, name: "h" }],
    }));
    assertEquals(outcome(one, imports, "second", 100).trap, "InvalidInstruction");
    assertEquals(outcome(both, imports, "second", 100).value, 5);
    // x16 is no register of RV32E: the same bytes trap there.
    const x16 = unique([ins.li(16, 3), ins.li(a0, 4), ins.ret()]);
    const rv32i = Program.fromBytes(buildGuest({ code: x16 }));
    const rv32e = Program.fromBytes(buildGuest({ code: x16, rve: true }));
    assertEquals(outcome(rv32i, {}, "run", 100).value, 4);
    assertEquals(outcome(rv32e, {}, "run", 100).trap, "InvalidInstruction");
    assertEquals(translationCount() - made, 4);
  },
});
