/**
 * What only the wasm tier has: its name and reason on the instance, the
 * interpreter running the rest of a block entered in its middle (no
 * dispatch label marks it), and its limits as typed errors.
 * @module
 */
import { assertEquals, assertThrows } from "@std/assert";
import { type HostContext, type Imports, type Instance, Program, Trap } from "../mod.ts";
import { wasmSupport } from "../wasm/mod.ts";
import { buildGuest, CODE, codeBytes, DATA, ins, reg } from "./_guest.ts";

const ignore = !wasmSupport().ok;

/**
 * Runs `observe` on an instance of `program` with `gas` on each tier,
 * asserts that both see the same, gas left included; returns the wasm tier's.
 */
function asOnInterpreter(
  program: Program,
  gas: number | undefined,
  observe: (instance: Instance) => unknown[],
  imports: Imports = {},
): unknown[] {
  const run = (tier: "interpreter" | "wasm") => {
    const instance = program.instantiate(imports, { tier, gas });
    return [...observe(instance), instance.gas];
  };
  const wasm = run("wasm");
  assertEquals(wasm, run("interpreter"));
  return wasm;
}

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

Deno.test({
  name: "wasm tier: recursion deeper than its nested calls go returns as on the interpreter",
  ignore,
  fn: () => {
    // f(n) = n ? g(n - 1) + 1 : 0 and g(n) = n ? f(n - 1) + 2 : 0, each a function (region) of its own.
    const half = (callee: number, add: number) => [
      ins.addi(reg.sp, reg.sp, -16),
      ins.sw(reg.ra, reg.sp, 12),
      ins.beq(reg.a0, 0, 28),
      ins.addi(reg.a0, reg.a0, -1),
      ins.jal(reg.ra, callee),
      ins.addi(reg.a0, reg.a0, add),
      ins.lw(reg.ra, reg.sp, 12),
      ins.addi(reg.sp, reg.sp, 16),
      ins.ret(),
      ins.lw(reg.ra, reg.sp, 12),
      ins.addi(reg.sp, reg.sp, 16),
      ins.ret(),
    ];
    const program = Program.fromBytes(buildGuest({
      code: [...half(9 * 4, 1), ins.addi(0, 0, 0), ...half(-17 * 4, 2)],
      exports: [{ at: 0, name: "f" }],
    }));
    const [result] = asOnInterpreter(program, 1e9, (instance) => [instance.exports.f(3001)]);
    assertEquals(result, 1501 + 1500 * 2);
  },
});

Deno.test({
  name:
    "wasm tier: a jump into a loop that only its head enters runs on the interpreter up to the head",
  ignore,
  fn: () => {
    const program = Program.fromBytes(buildGuest({
      code: [
        ins.li(reg.a0, 0),
        ins.li(reg.a1, 10),
        ins.lui(reg.t0, 0x10),
        ins.addi(reg.t0, reg.t0, 7 * 4),
        ins.jalr(0, reg.t0, 0), // to [7], inside the loop [5]-[8]
        ins.addi(reg.a0, reg.a0, 1),
        ins.beq(reg.a0, 0, 8),
        ins.addi(reg.a1, reg.a1, -1),
        ins.bne(reg.a1, 0, -12),
        ins.ret(),
      ],
      exports: [{ at: 0, name: "go" }],
    }));
    assertEquals(asOnInterpreter(program, 1000, (instance) => [instance.exports.go()])[0], 9);
  },
});

Deno.test({
  name:
    "wasm tier: the stack apart from the data, and memory outside the fast windows, as on the interpreter",
  ignore,
  fn: () => {
    // Data right after the code puts the stack above the heap; a read-only page far above.
    const program = Program.fromBytes(buildGuest({
      code: [
        ins.addi(reg.sp, reg.sp, -16),
        ins.li(reg.a0, 0),
        ins.li(reg.a1, 100),
        ins.lui(reg.t0, 0x40),
        ins.lw(reg.a2, reg.t0, 0), // outside the windows: the interpreter
        ins.sw(reg.a2, reg.sp, 4), // the stack's window
        ins.lw(reg.a5, reg.sp, 4),
        ins.add(reg.a0, reg.a0, reg.a5),
        ins.addi(reg.a1, reg.a1, -1),
        ins.bne(reg.a1, 0, -20),
        ins.addi(reg.sp, reg.sp, 16),
        ins.ret(),
      ],
      segments: [
        { vaddr: CODE + 0x1000, bytes: new Uint8Array(16), flags: 6 },
        { vaddr: 0x40000, bytes: new Uint8Array([7, 0, 0, 0]), flags: 4 },
      ],
      exports: [{ at: 0, name: "go" }],
    }));
    const [result] = asOnInterpreter(program, 10_000, (instance) => [
      instance.exports.go(),
      instance.memory.readU32(0x40000),
    ]);
    assertEquals(result, 700);
  },
});

Deno.test({
  name:
    "wasm tier: a function of 20,000 calls saving every register stays within V8's function size",
  ignore,
  fn: () => {
    // Each call stores and loads the registers the function writes and uses: all of them here.
    const calls = 20_000;
    const code = Array.from({ length: 29 }, (_, k) => ins.addi(k + 3, k + 3, 1));
    code.push(ins.addi(reg.sp, reg.sp, -16), ins.sw(reg.ra, reg.sp, 12));
    for (let k = 0; k < calls; k++) code.push(ins.jal(reg.ra, (calls - k + 3) * 4));
    code.push(ins.lw(reg.ra, reg.sp, 12), ins.addi(reg.sp, reg.sp, 16), ins.ret());
    code.push(ins.addi(reg.a0, reg.a0, 1), ins.ret()); // the callee
    const program = Program.fromBytes(buildGuest({
      code,
      exports: [{ at: 0, name: "go" }],
      segments: [{ vaddr: 0x200000, bytes: new Uint8Array(16), flags: 6 }],
    }));
    assertEquals(asOnInterpreter(program, undefined, (i) => [i.exports.go()])[0], calls + 1);
  },
});

Deno.test({
  name: "wasm tier: indirect jumps between code segments far apart, as on the interpreter",
  ignore,
  fn: () => {
    // The jump table then has two levels (one would span the gap).
    const far = codeBytes([ins.li(reg.a0, 42), ins.ret()]);
    const program = Program.fromBytes(buildGuest({
      code: [
        ins.addi(0, 0, 0),
        ins.lui(reg.t0, 0x100),
        ins.jalr(reg.ra, reg.t0, 0), // 42, back to [3] through ra
        ins.lui(reg.t2, 0x100),
        ins.addi(reg.t2, reg.t2, 2), // inside the far block's first instruction: InvalidJump
        ins.jalr(0, reg.t2, 0),
      ],
      segments: [
        { vaddr: 0x100000, bytes: far, flags: 5 },
        { vaddr: DATA, bytes: new Uint8Array(16), flags: 6 },
      ],
      exports: [{ at: 0, name: "go" }],
    }));
    const seen = asOnInterpreter(program, 1000, (instance) => {
      const trap = assertThrows(() => instance.exports.go(), Trap);
      return [trap.kind, trap.pc, trap.address, trap.registers[reg.a0]];
    });
    assertEquals(seen.slice(0, 4), ["InvalidJump", 0x10000 + 5 * 4, 0x100002, 42]);
  },
});

/**
 * f(n) = n ? f(n - 1) + 1 : peek(0), one function calling itself from two sites (the
 * second reached only when the host redirects a return there); its returns go back
 * without the jump table's lookup (wasm/_jumps.ts).
 */
function selfRecursive(): Program {
  return Program.fromBytes(buildGuest({
    code: [
      ins.addi(reg.sp, reg.sp, -16),
      ins.sw(reg.ra, reg.sp, 12),
      ins.beq(reg.a0, 0, 13 * 4), // to [15]
      ins.addi(reg.a0, reg.a0, -1),
      ins.jal(reg.ra, -4 * 4), // [4]: site A
      ins.addi(reg.a0, reg.a0, 1),
      ins.lw(reg.ra, reg.sp, 12),
      ins.addi(reg.sp, reg.sp, 16),
      ins.ret(),
      ins.addi(reg.a0, reg.a0, -1),
      ins.jal(reg.ra, -10 * 4), // [10]: site B
      ins.addi(reg.a0, reg.a0, 100),
      ins.lw(reg.ra, reg.sp, 12),
      ins.addi(reg.sp, reg.sp, 16),
      ins.ret(),
      ins.lw(reg.ra, reg.sp, 12), // [15]
      ins.addi(reg.sp, reg.sp, 16),
      ins.ecall(),
      ins.ret(),
    ],
    imports: [{ at: 17, name: "peek" }],
    exports: [{ at: 0, name: "f" }],
  }));
}

Deno.test({
  name:
    "wasm tier: deep recursion within one function, its returns redirected, as on the interpreter",
  ignore,
  fn: () => {
    const program = selfRecursive();
    const run = (tier: "interpreter" | "wasm") => {
      const seen: number[] = [];
      let calls = 0;
      const peek = (ctx: HostContext) => {
        seen.push(ctx.getRegister(reg.sp), ctx.getRegister(reg.ra), ctx.gas);
        // The second time, the innermost return goes to after site B instead.
        if (++calls === 2) ctx.setRegister(reg.ra, 0x10000 + 11 * 4);
        return 0;
      };
      const instance = program.instantiate({ peek }, { tier, gas: 1e7 });
      const results = [3000, 3000, 7].map((n) => instance.exports.f(n));
      return [...results, instance.gas, ...seen];
    };
    const wasm = run("wasm");
    assertEquals(wasm, run("interpreter"));
    assertEquals(wasm.slice(0, 3), [3000, 3099, 7]);
  },
});

Deno.test({
  name: "wasm tier: gas runs out inside recursion within one function where the interpreter's does",
  ignore,
  fn: () => {
    const program = selfRecursive();
    for (const gas of [20_001, 20_002, 20_003, 20_005]) {
      asOnInterpreter(program, gas, (instance) => {
        const trap = assertThrows(() => instance.exports.f(3000), Trap);
        return [trap.kind, trap.pc, ...trap.registers];
      }, { peek: () => 0 });
    }
  },
});

const A3 = 13, A4 = 14;

/** Three or four accesses through a0 from `base`, checked at once (wasm/_emit.ts) on the wasm tier. */
function accessRun(base: number, loads: boolean): Program {
  const run = loads
    ? [ins.lw(reg.a2, reg.a0, 0), ins.lw(A3, reg.a0, 4), ins.lw(A4, reg.a0, 8)]
    : [ins.sw(reg.a1, reg.a0, 0), ins.sw(reg.a1, reg.a0, 4), ins.sw(reg.a1, reg.a0, 8)];
  return Program.fromBytes(buildGuest({
    code: [
      ins.li(reg.t0, 3),
      ins.lui(reg.a0, (base + 0x800) >>> 12),
      ins.addi(reg.a0, reg.a0, base - (((base + 0x800) >>> 12) << 12)),
      ins.li(reg.a1, 7),
      run[0],
      ins.addi(reg.a5, reg.a5, 1), // register arithmetic between the run's accesses
      run[1],
      run[2],
      loads ? ins.lbu(A4 + 2, reg.a0, 12) : ins.sb(reg.a1, reg.a0, 12),
      ins.addi(reg.t0, reg.t0, -1),
      ins.bne(reg.t0, 0, -24),
      ins.add(reg.a0, A3, A4),
      ins.ret(),
    ],
    segments: [
      { vaddr: 0x40000, bytes: new Uint8Array(16).fill(5), flags: 6 },
      { vaddr: 0x41000, bytes: new Uint8Array(16).fill(9), flags: 4 },
    ],
    exports: [{ at: 0, name: "go" }],
  }));
}

Deno.test({
  name:
    "wasm tier: a fault within accesses checked at once: those before it happen, as on the interpreter",
  ignore,
  fn: () => {
    // Stores from 0x40ff8 reach the read-only page at 0x41000 at their third (from 0x40ffa,
    // their second), loads from 0x41ff8 what lies past it.
    const cases = [[0x40ff8, false, 7, 0x41000], [0x41ff8, true, 7, 0x42000], [
      0x40ffa,
      false,
      6,
      0x40ffe,
    ]] as const;
    for (const [base, loads, at, address] of cases) {
      const seen = asOnInterpreter(accessRun(base, loads), 1000, (instance) => {
        const trap = assertThrows(() => instance.exports.go(), Trap);
        const memory = [0, 4, 8].map((k) => instance.memory.readU32(0x40ff0 + k));
        return [trap.kind, trap.pc, trap.address, ...trap.registers, ...memory];
      });
      assertEquals(seen.slice(0, 3), ["MemoryFault", CODE + 4 * at, address]);
    }
  },
});

Deno.test({
  name:
    "wasm tier: accesses checked at once that the interpreter runs, gas exact, as on the interpreter",
  ignore,
  fn: () => {
    // Read-only data apart from the fast windows: the run's check fails, the interpreter runs it.
    for (const [base, loads] of [[0x41000, true], [0x40000, false], [0x40000, true]] as const) {
      for (const gas of [9, 10, 14, 15, 16, 30, 1000]) {
        asOnInterpreter(accessRun(base, loads), gas, (instance) => {
          try {
            const memory = [0, 4, 8, 12].map((k) => instance.memory.readU32(0x40000 + k));
            return [instance.exports.go(), ...memory];
          } catch (e) {
            if (!(e instanceof Trap)) throw e;
            return [e.kind, e.pc, ...e.registers];
          }
        });
      }
    }
  },
});

Deno.test({
  name:
    "wasm tier: a return elsewhere than the caller expects goes there or traps, as on the interpreter",
  ignore,
  fn: () => {
    // No call within the function: its returns share one lookup (wasm/_jumps.ts). `f(target)`
    // returns to `target`: a block ([4]), the middle of one ([7]), the host's return address
    // (the call ends), an odd address, and no code; [4] and [7] go back to the host through t1.
    const program = Program.fromBytes(buildGuest({
      code: [
        ins.addi(reg.t1, reg.ra, 0),
        ins.addi(reg.ra, reg.a0, 0),
        ins.li(reg.a0, 5),
        ins.ret(),
        ins.li(reg.a0, 77),
        ins.jalr(0, reg.t1, 0),
        ins.addi(reg.a0, reg.a0, 1),
        ins.addi(reg.a0, reg.a0, 1),
        ins.jalr(0, reg.t1, 0),
      ],
      exports: [{ at: 0, name: "f" }],
    }));
    const targets = [CODE + 4 * 4, CODE + 4 * 7, 0xffff0000, CODE + 4 * 4 + 1, CODE + 4 * 100];
    for (const gas of [3, 4, 5, 6, 7, 1000]) {
      const seen = asOnInterpreter(program, gas, (instance) =>
        targets.map((target) => {
          try {
            return instance.exports.f(target);
          } catch (e) {
            if (!(e instanceof Trap)) throw e;
            return [e.kind, e.pc, e.address, ...e.registers];
          }
        }));
      if (gas === 1000) {
        assertEquals(seen.slice(0, 3), [77, 6, 5]);
        assertEquals((seen[4] as unknown[]).slice(0, 3), ["InvalidJump", CODE + 3 * 4, CODE + 400]);
      }
    }
  },
});
