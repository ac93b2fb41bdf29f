/**
 * A disposed program's tables and compiled stream are reused by the next
 * programs loaded (abi/_recycle.ts), once nothing can read them: never
 * while an instance of it is alive, never after the native tier has seen
 * it. Programs loaded into recycled memory must be exactly what a fresh
 * load makes.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { dropRecycled, recycledUsage } from "../abi/_recycle.ts";
import type { DecodedCode } from "../abi/code.ts";
import { Program, releasePooledMemory, Trap } from "../mod.ts";
import { TIERS } from "./_tiers.ts";

const GUESTS = ["contract", "cpu6502", "fib", "memops", "sha256", "sieve", "sort", "tokenize"]
  .flatMap((name) => [`${name}.rv32imac.elf`, `${name}.rv32em.elf`])
  .map((file) => Deno.readFileSync(new URL(`../bench/guests/${file}`, import.meta.url)));

const imports = { host_inc: (_ctx: unknown, x: number) => (x + 1) | 0 };

/** Every table of `code`, all decoded and costed, as plain arrays. */
function tables(code: DecodedCode) {
  const { count, start, end, pc, size, flow, target, leader, segmentEnd, entryCost } = code;
  const { hostcall, chunks, slots, op, rd, rs1, rs2, imm } = code;
  return [count, start, end, pc, size, flow, target, leader, segmentEnd, entryCost]
    .concat([hostcall, chunks, slots, op, rd, rs1, rs2, imm])
    .map((a) => typeof a === "number" ? a : Array.from(a));
}

/** What one call of the guest's export does: result, gas left, and its first data word. */
function call(program: Program) {
  using instance = program.instantiate(imports, { tier: "interpreter", gas: 1e9 });
  const run = instance.exports.run ?? instance.exports.small;
  return { result: run(0), gas: instance.gas };
}

Deno.test("recycle: programs loaded into a disposed program's memory are exactly fresh ones", () => {
  dropRecycled();
  const fresh = GUESTS.map((bytes) => {
    const program = Program.fromBytes(bytes); // never disposed: fresh memory each
    return { tables: tables(program.image.code), call: call(program) };
  });
  assertEquals(recycledUsage().buffers, 0);
  let reused = 0;
  // Forwards, then backwards, so that each lands in others' memory.
  const order = [...GUESTS.keys(), ...[...GUESTS.keys()].reverse()];
  for (const g of order) {
    const before = recycledUsage().buffers;
    using program = Program.fromBytes(GUESTS[g]);
    if (recycledUsage().buffers < before) reused++;
    assertEquals(call(program), fresh[g].call, `guest ${g}`);
    assertEquals(tables(program.image.code), fresh[g].tables, `guest ${g}`);
  }
  assert(reused >= GUESTS.length, `only ${reused} loads reused memory`);
  assert(recycledUsage().buffers > 0);
  releasePooledMemory();
  assertEquals(recycledUsage(), { buffers: 0, bytes: 0 });
});

Deno.test("recycle: an instance alive after its program's dispose keeps the program's memory", () => {
  dropRecycled();
  const program = Program.fromBytes(GUESTS[4]); // fib
  const expected = call(program);
  const instance = program.instantiate(imports, { tier: "interpreter", gas: 1e9 });
  program.dispose();
  assertEquals(recycledUsage().buffers, 0, "recycled while an instance runs it");
  assertThrows(() => program.image, Error, "disposed");
  for (const bytes of GUESTS) {
    using other = Program.fromBytes(bytes);
    call(other);
  }
  assertEquals({ result: instance.exports.run(0), gas: instance.gas }, expected);
  const before = recycledUsage().buffers;
  instance.dispose();
  assert(recycledUsage().buffers > before, "not recycled after the last instance");
});

Deno.test({
  name: "recycle: a native program's code is recycled once its translation is freed",
  ignore: !TIERS.includes("native"),
  fn() {
    dropRecycled();
    const program = Program.fromBytes(GUESTS[4]); // fib
    const twin = Program.fromBytes(GUESTS[4]); // shares the translation made from program's code
    const instance = program.instantiate(imports, { tier: "native" });
    const other = twin.instantiate(imports, { tier: "native" });
    // Traps and late entries read the tables of the code the translation was made from.
    const outOfGas = () => {
      other.gas = 20;
      const trap = assertThrows(() => other.exports.run(1), Trap);
      return [trap.kind, trap.pc, other.gas, ...Array.from(trap.registers)];
    };
    const expected = outOfGas();
    program.dispose();
    instance.dispose();
    assertEquals(recycledUsage().buffers, 0, "recycled while its translation is in use");
    for (const bytes of GUESTS.slice(0, 4)) {
      using churn = Program.fromBytes(bytes);
      call(churn);
    }
    assertEquals(outOfGas(), expected);
    other.dispose();
    twin.dispose();
    assert(recycledUsage().buffers > 0, "not recycled after the translation was freed");
  },
});
