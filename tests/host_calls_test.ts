/**
 * Host calls from a hot loop, through the SDK's import stubs (`ecall; ret`),
 * on every tier against the interpreter: what a host function reads (the
 * registers the loop just wrote, gas), what it changes (registers, the
 * return address, gas), and how a call ends in one (a throw, the guest's
 * exit, a moved break, an ECALL that ends the code). The wasm tier makes
 * these calls without leaving its code (wasm/_jumps.ts).
 * @module
 */
import { assertEquals } from "@std/assert";
import { type HostContext, Program, type Tier, Trap } from "../mod.ts";
import { addressOf, buildGuest, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const ITERATIONS = 300;
/** The iteration whose host call does something other than count. */
const ODD_ONE = 5;

const code = [
  ins.ecall(), // 0: step
  ins.ret(),
  ins.ecall(), // 2: rvbox_sbrk
  ins.ret(),
  ins.ecall(), // 4: rvbox_exit
  ins.ret(),
  // 6: loop(n): s0 = step(s0) n times, t1 += 3 each time; exits with 1000 when step returns it.
  ins.addi(reg.sp, reg.sp, -16),
  ins.sw(reg.ra, reg.sp, 12),
  ins.addi(reg.s1, reg.a0, 0),
  ins.li(reg.s0, 0),
  ins.li(reg.t1, 7),
  ins.addi(reg.a0, reg.s0, 0), // 11
  ins.addi(reg.t1, reg.t1, 3),
  ins.jal(reg.ra, -13 * 4), // 13: step
  ins.addi(reg.s0, reg.a0, 0),
  ins.li(reg.t2, 1000),
  ins.bne(reg.a0, reg.t2, 8),
  ins.jal(reg.ra, -13 * 4), // 17: rvbox_exit
  ins.addi(reg.s1, reg.s1, -1),
  ins.bne(reg.s1, reg.zero, -8 * 4), // back to 11
  ins.lw(reg.ra, reg.sp, 12),
  ins.addi(reg.sp, reg.sp, 16),
  ins.addi(reg.a0, reg.s0, 0),
  ins.ret(),
  ins.li(reg.a0, 555), // 24: where a redirected return goes
  ins.lw(reg.ra, reg.sp, 12),
  ins.addi(reg.sp, reg.sp, 16),
  ins.ret(),
  // 28: grow(): moves the break up a page; returns the old one.
  ins.addi(reg.sp, reg.sp, -16),
  ins.sw(reg.ra, reg.sp, 12),
  ins.lui(reg.a0, 1),
  ins.jal(reg.ra, -29 * 4), // 31: rvbox_sbrk
  ins.lw(reg.ra, reg.sp, 12),
  ins.addi(reg.sp, reg.sp, 16),
  ins.ret(),
  // 35: shrink(page): writes in the page, moves the break down below it, reads there (a fault).
  ins.addi(reg.s0, reg.a0, 0),
  ins.li(reg.t0, 42),
  ins.sw(reg.t0, reg.s0, 0),
  ins.lui(reg.a0, 0xfffff),
  ins.jal(reg.ra, -37 * 4), // 39: rvbox_sbrk
  ins.lw(reg.a1, reg.s0, 0),
  ins.ret(),
  // 42: hop(): a host call, an indirect jump, a register written, a host call reading it.
  ins.addi(reg.sp, reg.sp, -16),
  ins.sw(reg.ra, reg.sp, 12),
  ins.li(reg.t1, 5),
  ins.jal(reg.ra, -45 * 4), // 45: step
  ins.lui(reg.t0, 0x10),
  ins.addi(reg.t0, reg.t0, 51 * 4),
  ins.jalr(reg.zero, reg.t0, 0), // to 51
  ins.ebreak(),
  ins.ebreak(),
  ins.li(reg.t1, 77), // 51
  ins.jal(reg.ra, -52 * 4), // 52: step
  ins.lw(reg.ra, reg.sp, 12),
  ins.addi(reg.sp, reg.sp, 16),
  ins.ret(),
  // 56: tail(): calls the last instruction, an ECALL ending the code.
  ins.jal(reg.ra, 4),
  ins.ecall(), // 57: step
];

const program = Program.fromBytes(buildGuest({
  code,
  imports: [
    { at: 0, name: "step" },
    { at: 2, name: "rvbox_sbrk" },
    { at: 4, name: "rvbox_exit" },
    { at: 57, name: "step" },
  ],
  exports: [
    { at: 6, name: "loop" },
    { at: 28, name: "grow" },
    { at: 35, name: "shrink" },
    { at: 42, name: "hop" },
    { at: 56, name: "tail" },
  ],
}));

/** What the host function does at iteration {@linkcode ODD_ONE}. */
type Twist = (ctx: HostContext, a0: number) => number;

const TWISTS: Record<string, Twist> = {
  "only counts": (_ctx, a0) => a0 + 1,
  "sets registers": (ctx, a0) => {
    ctx.setRegister(reg.s1, 1); // the loop's counter: this is its last iteration
    ctx.setRegister(reg.t1, 1000);
    return a0 + 1;
  },
  "redirects the return": (ctx, a0) => {
    ctx.setRegister(reg.ra, addressOf(code, 24));
    return a0 + 1;
  },
  "leaves little gas": (ctx, a0) => {
    ctx.gas = 12;
    return a0 + 1;
  },
  throws: () => {
    throw new Error("boom");
  },
  "makes the guest exit": () => 1000,
};

/** Everything a run of `loop` on `tier` shows, with `twist` at {@linkcode ODD_ONE}. */
function observe(tier: Tier, twist: Twist, every?: (ctx: HostContext) => void): unknown[] {
  const seen: number[] = [];
  let k = 0;
  const step = (ctx: HostContext, a0: number) => {
    k++;
    const regs = [reg.t1, reg.s1, reg.ra, reg.sp, reg.s0].map((r) => ctx.getRegister(r));
    seen.push(k, a0, ctx.gas, ...regs);
    every?.(ctx);
    return k === ODD_ONE ? twist(ctx, a0) : a0 + 1;
  };
  const instance = program.instantiate({ step }, { tier, gas: 100_000 });
  const outcome = caught(() => instance.exports.loop(ITERATIONS));
  const resumed = outcome instanceof Array && outcome[0] === "OutOfGas"
    ? caught(() => (instance.gas = 100_000, instance.resume()))
    : undefined;
  return [outcome, resumed, instance.gas, seen];
}

/** `f`'s result, or the trap it throws as its details. */
function caught(f: () => unknown): unknown {
  try {
    return f();
  } catch (error) {
    if (!(error instanceof Trap)) throw error;
    return [error.kind, error.pc, [...error.registers], error.address, error.access];
  }
}

for (const [name, twist] of Object.entries(TWISTS)) {
  tierTest(`host calls in a loop: a host function that ${name}, as on the interpreter`, (tier) => {
    const seen = observe(tier, twist);
    assertEquals(seen, observe("interpreter", twist));
    if (name === "only counts") assertEquals(seen[0], ITERATIONS);
  });
}

tierTest(
  "host calls in a loop: a host function charging gas each call, as on the interpreter",
  (tier) => {
    const charge = (ctx: HostContext) => {
      ctx.gas -= 3;
    };
    assertEquals(
      observe(tier, TWISTS["only counts"], charge),
      observe("interpreter", TWISTS["only counts"], charge),
    );
  },
);

tierTest("host calls: a host function sees a register written after an indirect jump", (tier) => {
  const run = (t: Tier) => {
    const seen: number[] = [];
    const step = (ctx: HostContext) => void seen.push(ctx.getRegister(reg.t1), ctx.gas);
    const instance = program.instantiate({ step }, { tier: t, gas: 1000 });
    return [instance.exports.hop(), instance.gas, seen];
  };
  const seen = run(tier);
  assertEquals(seen, run("interpreter"));
  assertEquals(seen[2], [5, 995, 77, 988]);
});

tierTest("host calls: the break moved by a host call is the one later accesses see", (tier) => {
  const run = (t: Tier) => {
    const instance = program.instantiate({ step: () => 0 }, { tier: t, gas: 1000 });
    const page = instance.exports.grow();
    return [page, caught(() => instance.exports.shrink(page)), instance.gas];
  };
  const seen = run(tier);
  assertEquals(seen, run("interpreter"));
  assertEquals((seen[1] as unknown[]).slice(0, 2), ["MemoryFault", addressOf(code, 40)]);
});

tierTest("host calls: an ECALL ending the code traps after its host call", (tier) => {
  const run = (t: Tier) => {
    let calls = 0;
    const instance = program.instantiate({ step: () => ++calls }, { tier: t, gas: 1000 });
    return [caught(() => instance.exports.tail()), calls, instance.gas];
  };
  const seen = run(tier);
  assertEquals(seen, run("interpreter"));
  assertEquals((seen[0] as unknown[]).slice(0, 2), ["InvalidJump", addressOf(code, 57)]);
});

tierTest("host calls: a host function calling another instance, as on the interpreter", (tier) => {
  // The inner instance's host calls run while the outer one's is in progress (wasm/space.ts).
  const run = (t: Tier) => {
    const inner = program.instantiate({ step: (_ctx, a0) => a0 + 2 }, { tier: t, gas: 100_000 });
    const nested: unknown[] = [];
    const outer = observe(t, TWISTS["sets registers"], () => nested.push(inner.exports.loop(3)));
    return [outer, nested, inner.gas];
  };
  assertEquals(run(tier), run("interpreter"));
});
