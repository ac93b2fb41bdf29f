/**
 * The wasm tier as a library user meets it beyond running code: its
 * WebAssembly memories counted and limited like native address spaces and
 * pooled with their module instances, its modules cached by the program's
 * code, and asynchronous compilation where the host refuses synchronous
 * (browsers refuse modules over 8 MB on their main thread; simulated here,
 * tested for real in tests/browser_wasm_test.ts).
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { codeCache, Program, releasePooledMemory, resourceUsage } from "../mod.ts";
import { wasmProgram, wasmSupport } from "../wasm/mod.ts";
import { assertClean, runChild } from "./_child.ts";
import { dirtyEverything, dirtyProgram, PRISTINE, readEverything } from "./_dirty_guest.ts";
import { buildGuest, CODE, ins, reg } from "./_guest.ts";
import { AUTO_TARGET } from "./_tiers.ts";
import { assertLimitsRefuse, heldUsage } from "./_usage.ts";

const ignore = !wasmSupport().ok;
const { a0 } = reg;
const WASM_PAGE = 65536;

const answer = (value = 42) =>
  Program.fromBytes(buildGuest({
    code: [ins.li(a0, value), ins.ret()],
    exports: [{ at: 0, name: "answer" }],
  }));

Deno.test({
  name: "wasm tier: an instance counts its memory and what the guest reaches, until disposed",
  ignore,
  fn() {
    const program = dirtyProgram();
    const before = heldUsage();
    const instance = program.instantiate({}, { tier: "wasm" });
    const created = resourceUsage();
    assertEquals(created.wasmInstances, before.wasmInstances + 1);
    assertEquals(created.nativeInstances, before.nativeInstances);
    const reserved = created.reservedBytes - before.reservedBytes;
    assertEquals(reserved % WASM_PAGE, 0, "whole WebAssembly pages");
    // The span: code and rodata pages, 64 KiB stack, data page, 16 MiB heap; the table page.
    assert(reserved >= (1 + 1 + 16 + 1 + 1) * 4096 + (16 << 20), `${reserved} bytes reserved`);
    // What the guest can reach, as for a native instance: the state block and the jump table
    // below the guest span, then the segments' pages and the stack (64 KiB); the heap only as
    // it grows.
    const segments = program.segments.reduce((n, s) => n + (s.end - s.start) / 4096, 0);
    const table = wasmProgram(program.image).guestOffset / 4096;
    assertEquals((created.committedBytes - before.committedBytes) / 4096, table + segments + 16);
    assertEquals(created.mappings - before.mappings, 2);
    instance.exports.sbrk(5 * 4096 + 1);
    assertEquals(resourceUsage().committedBytes - created.committedBytes, 6 * 4096);
    instance.dispose();
    const pooled = resourceUsage();
    assertEquals(pooled.wasmInstances, before.wasmInstances, "disposed: no instance");
    assertEquals(pooled.pooledMemories, before.pooledMemories + 1, "its space is pooled");
    assertEquals(pooled.reservedBytes, created.reservedBytes, "and counted while pooled");
    const again = program.instantiate({}, { tier: "wasm" });
    assertEquals(resourceUsage().reservedBytes, created.reservedBytes, "the pooled space serves");
    assertEquals(readEverything(again), PRISTINE);
    again.dispose();
    program.dispose();
    const kept = resourceUsage();
    assertEquals(kept.pooledMemories, before.pooledMemories + 1, "its memory stays, zeroed");
    assertEquals(kept.reservedBytes, created.reservedBytes, "counted while kept");
    // The next program's instance takes it: a program of other code, with a memory of that size.
    const other = dirtyProgram(900); // a jump table of 7 KiB, over the next program's code page
    const third = other.instantiate({}, { tier: "wasm" });
    assertEquals(resourceUsage().pooledMemories, before.pooledMemories, "the kept memory serves");
    assertEquals(resourceUsage().reservedBytes, created.reservedBytes);
    assertEquals(readEverything(third), PRISTINE);
    // Disposed after its program: its memory is kept as the instance left it, zeroed.
    dirtyEverything(third, 0x5a5a5a5a);
    other.dispose();
    third.dispose();
    assertEquals(resourceUsage().pooledMemories, before.pooledMemories + 1);
    const last = dirtyProgram(2);
    const fourth = last.instantiate({}, { tier: "wasm" });
    assertEquals(resourceUsage().pooledMemories, before.pooledMemories, "it serves again");
    assertEquals(readEverything(fourth), PRISTINE);
    // The rest of its code's page, where the last program's jump table was.
    for (let a = CODE + 0x100; a < CODE + 0x1000; a += 4) assertEquals(fourth.exports.load(a), 0);
    fourth.dispose();
    last.dispose();
    releasePooledMemory();
    assertEquals(resourceUsage(), before, "releasePooledMemory() lets it go");
  },
});

Deno.test({
  name: "wasm tier: an instance over a limit is refused, naming it (auto: on the interpreter)",
  ignore,
  fn() {
    const program = Program.fromBytes(buildGuest({ code: [ins.li(a0, 3), ins.ret()] }));
    const before = heldUsage();
    assertLimitsRefuse(program, "wasm", AUTO_TARGET === "wasm");
    program.dispose();
    assertEquals(heldUsage(), before);
  },
});

Deno.test({
  name: "wasm tier: programs loaded from the same code share one compiled module",
  ignore,
  fn() {
    const saved = codeCache().maxBytes;
    try {
      const first = answer(7);
      const module = wasmProgram(first.image);
      const cached = codeCache();
      assert(cached.wasmModules >= 1 && cached.wasmBytes > 0);
      const second = answer(7);
      assertEquals(wasmProgram(second.image), module, "the second load compiles nothing");
      assertEquals(codeCache().wasmModules, cached.wasmModules);
      assertEquals(second.instantiate({}, { tier: "wasm" }).exports.answer(), 7);
      first.dispose();
      second.dispose();
      assertEquals(wasmProgram(answer(7).image), module, "kept after its programs are gone");
      assertEquals(wasmProgram(answer(8).image) === module, false, "other code: another module");
      const none = codeCache({ maxBytes: 0 });
      assertEquals([none.wasmModules, none.wasmBytes], [0, 0]);
      assertEquals(wasmProgram(answer(7).image) === module, false, "dropped: compiled again");
      assertEquals(codeCache().wasmModules, 0);
    } finally {
      codeCache({ maxBytes: saved });
    }
  },
});

/**
 * Makes `WebAssembly.Module` refuse any module but the empty one and
 * `WebAssembly.Instance` refuse every module, with the RangeErrors Chromium
 * throws on its main thread for modules over 8 MB. JavaScript, so that a
 * child process can take it as it is.
 */
const REFUSE_SYNCHRONOUS = `
  const realModule = WebAssembly.Module;
  const refusing = {
    Module: function (bytes) {
      if (bytes.length > 8) {
        throw new RangeError("WebAssembly.Compile is disallowed on the main thread, if the buffer size is larger than 8MB.");
      }
      return new realModule(bytes);
    },
    Instance: function () {
      throw new RangeError("WebAssembly.Instance is disallowed on the main thread, if the buffer size is larger than 8MB.");
    },
  };
  const real = { Module: WebAssembly.Module, Instance: WebAssembly.Instance };
  const refuseSynchronous = (on) => Object.assign(WebAssembly, on ? refusing : real);
`;

Deno.test({
  name: "wasm tier: where synchronous compiling is refused, instantiateAsync runs it",
  ignore,
  async fn() {
    const refuseSynchronous = new Function(`${REFUSE_SYNCHRONOUS}; return refuseSynchronous;`)();
    const program = answer(9);
    const before = heldUsage();
    refuseSynchronous(true);
    try {
      const error = assertThrows(() => program.instantiate({}, { tier: "wasm" }), RangeError);
      assertStringIncludes(error.message, "disallowed on the main thread");
      assertStringIncludes(error.message, "instantiateAsync");
      const instance = await program.instantiateAsync({}, { tier: "wasm" });
      assertEquals([instance.tier, instance.exports.answer()], ["wasm", 9]);
      // Compiled now, but a new instance needs a new WebAssembly instance: refused still.
      assertThrows(() => program.instantiate({}, { tier: "wasm" }), RangeError, "instantiateAsync");
      instance.dispose();
      const pooled = program.instantiate({}, { tier: "wasm" });
      assertEquals(pooled.exports.answer(), 9, "a pooled space needs no new instance");
      pooled.dispose();
      const interpreted = await program.instantiateAsync({}, { tier: "interpreter" });
      assertEquals([interpreted.tier, interpreted.exports.answer()], ["interpreter", 9]);
    } finally {
      refuseSynchronous(false);
    }
    program.dispose();
    assertEquals(heldUsage(), before);
  },
});

/**
 * In a child without FFI (so that `auto` moves to the wasm tier), with
 * synchronous compiling refused: auto instances stay on the interpreter
 * while the module compiles in the background, then move; and over
 * maxWasmInstances they stay on the interpreter for good.
 */
const autoInBackground = `
  Deno.permissions.revokeSync({ name: "ffi" });
  const { Program, setResourceLimits } = await import(MOD);
  const { buildGuest, ins, reg } = await import(GUEST);
  ${REFUSE_SYNCHRONOUS}
  const program = Program.fromBytes(buildGuest({
    code: [ins.addi(reg.a0, reg.a0, 1), ins.bne(reg.a0, reg.a1, -4), ins.ret()],
    exports: [{ at: 0, name: "count" }],
  }));
  const probe = program.instantiate({}, { tier: "wasm" }); // WebAssembly works here
  probe.dispose();
  const other = Program.fromBytes(buildGuest({
    code: [ins.addi(reg.a0, reg.a0, 2), ins.bne(reg.a0, reg.a1, -4), ins.ret()],
    exports: [{ at: 0, name: "count" }],
  }));
  refuseSynchronous(true);
  const instance = other.instantiate({}, { tierUp: 0 });
  const start = { tier: instance.tier, reason: instance.tierReason, result: instance.exports.count(0, 1000) };
  let calls = 1;
  while (instance.tier !== "wasm" && calls < 500) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (instance.exports.count(0, 1000) !== 1000) throw new Error("wrong result");
    calls++;
  }
  const moved = { tier: instance.tier, result: instance.exports.count(0, 2000), gas: instance.gas };
  const reference = other.instantiate({}, { tier: "interpreter" });
  for (let k = 0; k < calls; k++) reference.exports.count(0, 1000);
  reference.exports.count(0, 2000);
  setResourceLimits({ maxWasmInstances: 1 });
  const refused = program.instantiate({}, { tierUp: 0 });
  const limited = { tier: refused.tier, reason: refused.tierReason, result: refused.exports.count(0, 10) };
  console.log(JSON.stringify({ start, moved, referenceGas: reference.gas, calls, limited }));
`;

Deno.test({
  name: "wasm tier: auto stays on the interpreter while the module compiles in the background",
  ignore,
  async fn() {
    const result = await runChild<{
      start: { tier: string; reason: string; result: number; };
      moved: { tier: string; result: number; gas: number; };
      referenceGas: number;
      calls: number;
      limited: { tier: string; reason: string; result: number; };
    }>(autoInBackground);
    assertClean(result);
    const { start, moved, referenceGas, limited } = result.report;
    assertEquals([start.tier, start.result], ["interpreter", 1000]);
    assertStringIncludes(start.reason, "compiled in the background");
    assertEquals([moved.tier, moved.result, moved.gas], ["wasm", 2000, referenceGas]);
    assertEquals([limited.tier, limited.result], ["interpreter", 10]);
    assertStringIncludes(limited.reason, "maxWasmInstances");
  },
});

/**
 * In a child with `gc()`: a disposed program's memory, kept in the pool, stays counted
 * after its space is collected, and the next program's instance takes it.
 */
const keptAfterCollection = `
  const { resourceUsage } = await import(MOD);
  const { dirtyProgram } = await import(${
  JSON.stringify(new URL("./_dirty_guest.ts", import.meta.url).href)
});
  const first = dirtyProgram();
  first.instantiate({}, { tier: "wasm" }).dispose();
  first.dispose();
  const kept = resourceUsage();
  for (let k = 0; k < 8; k++) { gc(); await new Promise((r) => setTimeout(r, 1)); }
  const collected = resourceUsage();
  const next = dirtyProgram(1).instantiate({}, { tier: "wasm" });
  const taken = resourceUsage();
  next.dispose();
  console.log(JSON.stringify({ kept, collected, taken }));
`;

Deno.test({
  name: "wasm tier: a kept memory stays counted after its space is collected",
  ignore,
  async fn() {
    type Usage = { pooledMemories: number; reservedBytes: number; wasmInstances: number; };
    const result = await runChild<{ kept: Usage; collected: Usage; taken: Usage; }>(
      keptAfterCollection,
      true,
    );
    assertClean(result);
    const { kept, collected, taken } = result.report;
    assertEquals(kept.pooledMemories, 1);
    assert(kept.reservedBytes > 0);
    assertEquals(collected, kept, "the collected space's finalizer leaves the kept memory's claim");
    assertEquals([taken.pooledMemories, taken.wasmInstances], [0, 1]);
    assertEquals(taken.reservedBytes, kept.reservedBytes, "taken, counted once");
  },
});

/**
 * In a child with `gc()`: a synchronous loop of undisposed wasm
 * instantiations ends at maxWasmInstances; collected instances are
 * released, their spaces pooled clean for the next.
 */
const undisposedLoop = `
  const { Program, resourceUsage } = await import(MOD);
  const { dirtyEverything, dirtyProgram, PRISTINE, readEverything } = await import(${
  JSON.stringify(new URL("./_dirty_guest.ts", import.meta.url).href)
});
  const program = dirtyProgram();
  let created = 0;
  let error;
  (() => {
    try {
      for (;;) {
        // A small heap: memories of the default 16 MiB make V8 collect garbage all along.
        const instance = program.instantiate({}, { tier: "wasm", heapSize: 1 << 16 });
        dirtyEverything(instance, 0x66000000 + created);
        created++;
      }
    } catch (e) {
      error = e;
    }
  })();
  const atLimit = resourceUsage().wasmInstances;
  for (let k = 0; k < 20 && resourceUsage().wasmInstances > 0; k++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  const collected = resourceUsage();
  const clean = [];
  for (let k = 0; k < collected.pooledMemories; k++) {
    const instance = program.instantiate({}, { tier: "wasm", heapSize: 1 << 16 });
    clean.push(JSON.stringify(readEverything(instance)) === JSON.stringify(PRISTINE));
  }
  console.log(JSON.stringify({
    created, error: String(error), isRangeError: error instanceof RangeError, atLimit,
    live: collected.wasmInstances, pooled: collected.pooledMemories, clean: clean.every((c) => c),
  }));
`;

Deno.test({
  name:
    "wasm tier: undisposed instances in a synchronous loop end in a RangeError, then are released",
  ignore,
  async fn() {
    const result = await runChild<{
      created: number;
      error: string;
      isRangeError: boolean;
      atLimit: number;
      live: number;
      pooled: number;
      clean: boolean;
    }>(undisposedLoop, true);
    assertClean(result);
    const report = result.report;
    assertEquals([report.created, report.atLimit, report.isRangeError], [4096, 4096, true]);
    assertStringIncludes(report.error, "maxWasmInstances is 4096");
    assertEquals(report.live, 0, "collected instances are released");
    assert(report.pooled > 0, "their spaces are pooled");
    assert(report.clean, "and hold nothing of the collected instances");
  },
});
