/**
 * `instance.reset()`: one instance serves many transactions, each starting
 * from the state right after instantiation — memory (data, bss, stack, heap
 * grown and shrunk), break, registers, gas — on every tier alike.
 */
import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { type Instance, Program, Trap } from "../mod.ts";
import {
  DATA_WORD,
  dirtyEverything,
  dirtyProgram,
  HEAP,
  PRISTINE,
  readEverything,
} from "./_dirty_guest.ts";
import { buildGuest, DATA, ins, reg } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

tierTest("reset: nothing written before is readable after, in any region", (tier) => {
  const instance = dirtyProgram().instantiate({}, { tier });
  assertEquals(readEverything(instance), PRISTINE);
  for (const v of [0x11111111, 0x22222222]) {
    dirtyEverything(instance, v);
    assertEquals(readEverything(instance).slice(0, 2), [v, v], "written");
    instance.reset();
    assertEquals(instance.memory.brk, HEAP);
    assertEquals(readEverything(instance), PRISTINE);
  }
});

tierTest(
  "reset: the break is back at the heap start, and the old heap is not accessible",
  (tier) => {
    const instance = dirtyProgram().instantiate({}, { tier });
    instance.exports.sbrk(64);
    instance.exports.store(HEAP, 5);
    instance.reset();
    const trap = assertThrows(() => instance.exports.load(HEAP), Trap);
    assertEquals([trap.kind, trap.address], ["MemoryFault", HEAP]);
    assertThrows(() => instance.memory.readU32(HEAP), RangeError);
  },
);

tierTest("reset: gas as at instantiation unless given; a suspended call is dropped", (tier) => {
  const instance = dirtyProgram().instantiate({}, { tier, gas: 1000 });
  const trap = assertThrows(() => instance.exports.spin(), Trap);
  assertEquals([trap.kind, instance.gas], ["OutOfGas", 0]);
  instance.reset();
  assertEquals(instance.gas, 1000);
  assertThrows(() => instance.resume(), Error, "no call to resume");
  instance.reset({ gas: 7 });
  assertEquals(instance.gas, 7);
  for (const bad of [-1, 0.5, NaN, 2 ** 53]) {
    assertThrows(() => instance.reset({ gas: bad }), RangeError);
  }
  assertEquals(instance.gas, 7, "a refused reset changes nothing");
  assertEquals(instance.exports.load(DATA) >>> 0, DATA_WORD);
});

tierTest("reset: the next call starts with zero registers", (tier) => {
  const { a0, t0, t2 } = reg;
  // `peek` shows t2, t0 and a0 to a host function; `stop` sets t2 and t0, then stops.
  const program = Program.fromBytes(buildGuest({
    code: [ins.ecall(), ins.ret(), ins.addi(t2, 0, 9), ins.lui(t0, 0x22), ins.ebreak(), ins.ret()],
    imports: [{ at: 0, name: "peek" }],
    exports: [{ at: 0, name: "peek" }, { at: 2, name: "stop" }],
  }));
  let seen: number[] = [];
  const instance = program.instantiate({
    peek: (ctx) => void (seen = [ctx.getRegister(t2), ctx.getRegister(t0), ctx.getRegister(a0)]),
  }, { tier });
  assertEquals(assertThrows(() => instance.exports.stop(), Trap).kind, "Breakpoint");
  instance.reset();
  assertThrows(() => instance.resume(), Error, "no call to resume");
  instance.exports.peek(3);
  assertEquals(seen, [0, 0, 3]);
});

tierTest("reset: refused while the instance runs and after dispose", (tier) => {
  const { a0 } = reg;
  const program = Program.fromBytes(buildGuest({
    code: [ins.ecall(), ins.li(a0, 1), ins.ret()],
    imports: [{ at: 0, name: "again" }],
  }));
  const instance: Instance = program.instantiate({ again: () => instance.reset() }, { tier });
  const trap = assertThrows(() => instance.run(), Trap);
  assertEquals(trap.kind, "HostError");
  assertInstanceOf(trap.cause, Error);
  instance.dispose();
  assertThrows(() => instance.reset(), Error, "disposed");
});

tierTest("reset: a thousand transactions give the same answers as fresh instances", (tier) => {
  const program = dirtyProgram();
  const reused = program.instantiate({}, { tier, gas: 10_000 });
  for (let k = 0; k < 1000; k++) {
    reused.reset();
    const fresh = program.instantiate({}, { tier, gas: 10_000 });
    for (const instance of [reused, fresh]) dirtyEverything(instance, k);
    assertEquals(readEverything(reused), readEverything(fresh));
    assertEquals(reused.gas, fresh.gas);
    fresh.dispose();
  }
});

tierTest("reset and pooling clear large stacks and heaps (pages written, not the rest)", (tier) => {
  const { a0, sp } = reg;
  const program = Program.fromBytes(buildGuest({
    code: [ins.sw(a0, sp, -4), ins.ret(), ins.lw(a0, sp, -4), ins.ret()],
    exports: [{ at: 0, name: "push" }, { at: 2, name: "peek" }],
  }));
  const big = dirtyProgram();
  for (const reuse of ["reset", "pool"] as const) {
    const options = { tier, stackSize: 2 << 20, heapSize: 4 << 20 };
    let stack = program.instantiate({}, options);
    let heap = big.instantiate({}, options);
    stack.exports.push(0x1234);
    const top = HEAP + (3 << 20);
    heap.exports.sbrk(3 << 20);
    for (const at of [HEAP, HEAP + (1 << 20), top - 4]) heap.exports.store(at, 0x5678);
    if (reuse === "reset") {
      stack.reset();
      heap.reset();
    } else {
      stack.dispose();
      heap.dispose();
      stack = program.instantiate({}, options);
      heap = big.instantiate({}, options);
    }
    assertEquals(stack.exports.peek(), 0, reuse);
    heap.exports.sbrk(3 << 20);
    for (const at of [HEAP, HEAP + (1 << 20), top - 4]) {
      assertEquals(heap.exports.load(at), 0, reuse);
    }
    stack.dispose();
    heap.dispose();
  }
  program.dispose();
  big.dispose();
});
