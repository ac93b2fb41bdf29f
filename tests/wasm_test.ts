/**
 * What only the wasm tier has: its name and reason on the instance, the
 * interpreter running the rest of a block entered in its middle (no
 * dispatch label marks it), and its limits as typed errors.
 * @module
 */
import { assertEquals, assertThrows } from "@std/assert";
import { type HostContext, Program, Trap } from "../mod.ts";
import { wasmSupport } from "../wasm/mod.ts";
import { buildGuest, ins, reg } from "./_guest.ts";

const ignore = !wasmSupport().ok;

Deno.test({
  name: "wasm tier: instance.tier and tierReason say so; tracing is refused",
  ignore,
  fn: () => {
    const program = Program.fromBytes(buildGuest({
      code: [ins.li(reg.a0, 42), ins.ret()],
      exports: [{ at: 0, name: "answer" }],
    }));
    const instance = program.instantiate({}, { tier: "wasm" });
    assertEquals([instance.tier, instance.tierReason], ["wasm", "requested"]);
    assertEquals(instance.exports.answer(), 42);
    assertThrows(
      () => program.instantiate({}, { tier: "wasm", trace: () => {} }),
      RangeError,
      "cannot trace",
    );
  },
});

Deno.test({
  name: "wasm tier: a jump into the middle of a block runs it to its host call, as the interpreter",
  ignore,
  fn: () => {
    // [4] is inside the block [3]-[5]: the JALR enters there, the ECALL ends the block.
    const program = Program.fromBytes(buildGuest({
      code: [
        ins.lui(reg.t0, 0x10),
        ins.addi(reg.t0, reg.t0, 4 * 4),
        ins.jalr(reg.t1, reg.t0, 0),
        ins.li(reg.a0, 1),
        ins.li(reg.a0, 7),
        ins.ecall(),
        ins.addi(reg.a0, reg.a0, 1),
        ins.ret(),
      ],
      imports: [{ at: 5, name: "peek" }],
      exports: [{ at: 0, name: "go" }],
    }));
    const run = (tier: "interpreter" | "wasm") => {
      const seen: number[] = [];
      const peek = (ctx: HostContext, a0: number) => {
        seen.push(a0, ctx.getRegister(reg.t1), ctx.gas);
        ctx.setRegister(reg.a1, 5);
        ctx.gas -= 1;
        return a0 * 10;
      };
      const instance = program.instantiate({ peek }, { tier, gas: 100 });
      return [instance.exports.go(), instance.gas, ...seen];
    };
    assertEquals(run("wasm"), run("interpreter"));
    assertEquals(run("wasm")[0], 71);
  },
});

Deno.test({
  name: "wasm tier: a program of more blocks than one function may hold runs in several",
  ignore,
  fn: () => {
    // 70,000 blocks of one JAL each, and a function of 70,000 more calling each other.
    const code = Array.from({ length: 70_000 }, () => ins.jal(0, 4));
    for (let k = 0; k < 70_000; k++) code.push(ins.jal(k % 7 === 6 ? 0 : reg.t0, 4));
    code.push(ins.ret());
    const program = Program.fromBytes(
      buildGuest({ code, exports: [{ at: 0, name: "go" }], segments: [] }),
    );
    const gas = (tier: "interpreter" | "wasm") => {
      const instance = program.instantiate({}, { tier });
      instance.exports.go();
      return 10_000_000_000 - instance.gas;
    };
    assertEquals(gas("wasm"), gas("interpreter"));
    assertEquals(gas("wasm"), 140_001);
  },
});

Deno.test({
  name:
    "wasm tier: a long call runs in slices of gas, and runs out exactly where the interpreter does",
  ignore,
  fn: () => {
    const program = Program.fromBytes(buildGuest({
      code: [ins.addi(reg.a0, reg.a0, 1), ins.jal(0, -4)],
      exports: [{ at: 0, name: "spin" }],
    }));
    const run = (tier: "interpreter" | "wasm") => {
      const instance = program.instantiate({}, { tier, gas: 3 * 2 ** 22 + 5 });
      const trap = assertThrows(() => instance.exports.spin(), Trap);
      const first = [trap.kind, trap.pc, trap.registers[reg.a0], instance.gas];
      instance.gas = 2 ** 23 + 1;
      const again = assertThrows(() => instance.resume(), Trap);
      return [...first, again.registers[reg.a0], instance.gas];
    };
    assertEquals(run("wasm"), run("interpreter"));
    assertEquals(run("wasm").slice(0, 4), ["OutOfGas", 0x10000, (3 * 2 ** 22 + 4) / 2, 1]);
  },
});
