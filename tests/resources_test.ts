/**
 * Native resource accounting and limits (issue 10, findings 4 and 6):
 * undisposed instances used to run the kernel out of mappings in a
 * synchronous loop (about 13 000 of them), after which the process aborted;
 * a program's jump table was a JavaScript array over its whole code span.
 * Now every native instance and program is counted, a new one over a limit
 * is a clear `RangeError` (or, with `tier: "auto"`, an interpreter
 * instance), and disposing releases everything.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { Program, type ResourceLimits, resourceUsage, setResourceLimits } from "../mod.ts";
import { assertClean, runChild } from "./_child.ts";
import { buildGuest, CODE, ins, reg } from "./_guest.ts";
import { TIERS } from "./_tiers.ts";
import { assertLimitsRefuse, heldUsage } from "./_usage.ts";

const native = TIERS.includes("native");
const { a0, t0 } = reg;

/** Mappings of this process (Deno guards /proc behind --allow-all, so through `cat`). */
async function mappings(): Promise<string[]> {
  const out = await new Deno.Command("cat", { args: [`/proc/${Deno.pid}/maps`], stdout: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

const tiny = () => Program.fromBytes(buildGuest({ code: [ins.li(a0, 3), ins.ret()] }));

Deno.test("setResourceLimits: validates, changes only what it is given, reads with {}", () => {
  const saved = setResourceLimits({});
  assertEquals(saved, {
    maxNativeInstances: 4096,
    maxWasmInstances: 4096,
    maxReservedBytes: 2 ** 45,
    maxCommittedBytes: 2 ** 33,
    maxMappings: 32768,
  });
  for (const bad of [-1, 1.5, NaN, "7"]) {
    assertThrows(() => setResourceLimits({ maxMappings: bad as number }), RangeError);
  }
  assertThrows(() => setResourceLimits({ maxThings: 1 } as Partial<ResourceLimits>), RangeError);
  assertEquals(setResourceLimits({}), saved, "a refused change changes nothing");
  assertEquals(setResourceLimits({ maxMappings: Infinity }).maxMappings, Infinity);
  assertEquals(setResourceLimits(saved), saved);
});

Deno.test({
  name: "a native instance over a limit: RangeError for native, the interpreter for auto",
  ignore: !native,
  fn() {
    const program = tiny();
    const before = heldUsage();
    assertLimitsRefuse(program, "native", true);
    program.dispose();
    assertEquals(heldUsage(), before);
  },
});

Deno.test({
  name: "an instance counts its accessible memory, heap growth included, until disposed",
  ignore: !native,
  fn() {
    const grow = Program.fromBytes(buildGuest({
      code: [ins.ecall(), ins.ret()],
      imports: [{ at: 0, name: "rvbox_sbrk" }],
      exports: [{ at: 0, name: "sbrk" }],
    }));
    const before = heldUsage();
    const instance = grow.instantiate({}, { tier: "native" });
    const created = resourceUsage();
    assertEquals(created.nativeInstances, before.nativeInstances + 1);
    assertEquals(created.reservedBytes - before.reservedBytes >= 2 ** 32, true);
    // The program's code and one written page of its jump table; then the instance's state
    // block, code, rodata, stack (64 KiB) and data pages.
    const code = created.codeBytes - before.codeBytes;
    assertEquals(code > 0, true);
    const pages = (created.committedBytes - before.committedBytes - code) / 4096;
    assertEquals(pages, 1 + (1 + 1 + 1 + 16 + 1));
    instance.exports.sbrk(5 * 4096 + 1);
    assertEquals(resourceUsage().committedBytes - created.committedBytes, 6 * 4096);
    instance.dispose();
    grow.dispose();
    assertEquals(heldUsage(), before);
  },
});

Deno.test({
  name: "programs disposed in a loop release their code, tables and mappings",
  ignore: !native,
  async fn() {
    const bytes = buildGuest({ code: [ins.li(a0, 3), ins.ret()] });
    tiny().instantiate({}, { tier: "native" }).dispose(); // warm up the translator and libc
    const mapped = (await mappings()).length;
    const before = resourceUsage(); // compared within one synchronous stretch (no finalizer runs)
    for (let k = 0; k < 300; k++) {
      using program = Program.fromBytes(bytes);
      using instance = program.instantiate({}, { tier: "native" });
      assertEquals(instance.run(), 3);
    }
    assertEquals(resourceUsage(), before);
    // 300 programs and instances held 7 mappings each; V8's own may come and go a little.
    const grown = (await mappings()).length - mapped;
    assert(grown < 50, `${grown} more mappings after disposing everything`);
  },
});

Deno.test({
  name: "a sparse program's jump table reserves its span but commits only the pages it uses",
  ignore: !native,
  async fn() {
    // Two code pages 64 MiB apart (the largest image span): `jump` goes to `ret` in the far one.
    const far = CODE + (64 << 20) - 4096;
    const bytes = buildGuest({
      code: [ins.lui(t0, far >>> 12), ins.jalr(0, t0, 0)],
      exports: [{ at: 0, name: "jump" }],
      rodata: new Uint8Array(new Uint32Array([ins.ret()]).buffer),
    });
    const view = new DataView(bytes.buffer);
    view.setUint32(52 + 32 + 8, far, true); // the rodata segment moves there and becomes code
    view.setUint32(52 + 32 + 12, far, true);
    view.setUint32(52 + 32 + 24, 5, true);
    view.setUint32(52 + 64, 4, true); // and the data segment is dropped (PT_NOTE)
    const before = heldUsage();
    const program = Program.fromBytes(bytes);
    const instance = program.instantiate({}, { tier: "native" });
    assertEquals(instance.exports.jump(), 0);
    const usage = resourceUsage();
    const table = 16 * ((far + 4 - CODE) / 2);
    assert(usage.reservedBytes - before.reservedBytes >= 2 ** 32 + table);
    const committed = usage.committedBytes - before.committedBytes;
    assert(committed < 1 << 20, `${committed} bytes committed`);
    const big = (lines: string[]) =>
      lines.filter((line) => {
        const [start, end] = line.split(" ")[0].split("-").map((h) => parseInt(h, 16));
        return line.split(" ")[1] === "rw-p" && end - start >= table && end - start < 2 ** 32;
      });
    const tables = big(await mappings()).length;
    assert(tables >= 1, "the table is a mapping of its own");
    // Compared as differences: finalizers of other tests' objects may have run during the await.
    const held = heldUsage();
    program.dispose();
    instance.dispose();
    const released = heldUsage();
    for (const key of Object.keys(held) as (keyof typeof held)[]) {
      assertEquals(held[key] - released[key], usage[key] - before[key], key);
    }
    assertEquals(big(await mappings()).length, tables - 1);
  },
});

/**
 * In a child with `gc()`: a synchronous loop of undisposed native
 * instantiations under the default limits, then a loop of undisposed
 * programs with `tier: "auto"` under a low mapping limit.
 */
const undisposedLoops = `
  const { Program, resourceUsage, setResourceLimits } = await import(MOD);
  const { buildGuest, ins } = await import(GUEST);
  const maps = () => Deno.readTextFileSync("/proc/self/maps").trim().split("\\n").length;
  const bytes = buildGuest({ code: [ins.li(10, 3), ins.ret()] });
  const program = Program.fromBytes(bytes);
  program.instantiate({}, { tier: "native" }).dispose();
  const mapsBefore = maps();
  let created = 0;
  let error;
  try {
    for (;;) {
      program.instantiate({}, { tier: "native" });
      created++;
    }
  } catch (e) {
    error = e;
  }
  const atLimit = resourceUsage();
  const mapsPerInstance = (maps() - mapsBefore) / created;
  const fallback = program.instantiate({}, { tier: "auto", tierUp: 0 });
  const fallbackRuns = fallback.run() === 3 && fallback.tier === "interpreter";
  const allocations = Array.from({ length: 200 }, (_, k) => new Array(50000).fill(k)).length;
  for (let k = 0; k < 10 && resourceUsage().nativeInstances > 0; k++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  const afterCollection = resourceUsage().nativeInstances;

  setResourceLimits({ maxMappings: 2000 });
  const tiers = { native: 0, interpreter: 0 };
  let reason = "";
  for (let k = 0; k < 400; k++) {
    // Distinct programs (the same bytes would share one translation: jit/_compiled.ts).
    const distinct = buildGuest({ code: [ins.li(10, 3), ins.li(11, k), ins.ret()] });
    const instance = Program.fromBytes(distinct).instantiate({}, { tier: "auto", tierUp: 0 });
    if (instance.run() !== 3) throw new Error("wrong result");
    tiers[instance.tier]++;
    if (instance.tier === "interpreter") reason = instance.tierReason;
  }
  console.log(JSON.stringify({
    created, error: String(error), isRangeError: error instanceof RangeError, atLimit,
    mapsPerInstance, fallbackRuns, allocations, afterCollection, tiers, reason,
    mappingsUsed: resourceUsage().mappings,
  }));
`;

Deno.test({
  name: "undisposed instances and programs in a synchronous loop end in a RangeError, not a crash",
  ignore: !native,
  async fn() {
    const { report, ...result } = await runChild<{
      created: number;
      error: string;
      isRangeError: boolean;
      atLimit: { nativeInstances: number; mappings: number; };
      mapsPerInstance: number;
      fallbackRuns: boolean;
      allocations: number;
      afterCollection: number;
      tiers: { native: number; interpreter: number; };
      reason: string;
      mappingsUsed: number;
    }>(undisposedLoops, true);
    assertClean({ report, ...result });
    assertEquals(report.created, 4096);
    assert(report.isRangeError);
    assertStringIncludes(report.error, "maxNativeInstances is 4096");
    assertEquals(report.atLimit.nativeInstances, 4096);
    // The estimate behind maxMappings matches the kernel's count (5 for this layout; V8 may
    // have added a few of its own meanwhile).
    assertEquals(Math.round(report.mapsPerInstance * 100) / 100, 5);
    assertEquals(report.atLimit.mappings, 2 + 5 * 4096);
    assert(report.fallbackRuns);
    assertEquals(report.allocations, 200);
    assertEquals(report.afterCollection, 0, "collected instances are released");
    // A program and its instance take 2 + 5 mappings: 285 fit under 2000.
    assertEquals(report.tiers, { native: 285, interpreter: 115 });
    assertStringIncludes(report.reason, "maxMappings is 2000");
    assert(report.mappingsUsed <= 2000);
  },
});
