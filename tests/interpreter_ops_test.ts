/**
 * The interpreter's switch uses literal case numbers for speed; this test
 * keeps them tied to the single definition in abi/isa.ts (and the pseudo-ops
 * in interpreter/compile.ts), so renumbering the table cannot silently break
 * dispatch.
 */
import { assertEquals } from "@std/assert";
import { Op, OP_COUNT } from "../abi/isa.ts";
import { Pseudo } from "../interpreter/compile.ts";
import { interpreterLoop } from "../interpreter/mod.ts";

Deno.test("interpreter case numbers match the op table", async () => {
  // run.ts's loop, and the AMOs' combining in _arith.ts.
  const read = (file: string) =>
    Deno.readTextFile(new URL(`../interpreter/${file}`, import.meta.url));
  const source = (await read("run.ts")) + (await read("_arith.ts"));
  const numbers: Record<string, number> = { ...Op, ...Pseudo };
  const seen = new Set<string>();
  for (const match of source.matchAll(/case (\d+): (?:\{ )?\/\/ (\w+)/g)) {
    const [, number, name] = match;
    assertEquals(Number(number), numbers[name], `case ${number} is labelled ${name}`);
    seen.add(name);
  }
  // Every real op is handled by a case, by the INVALID default, or compiled away.
  const compiledAway = ["INVALID", "LUI", "AUIPC", "FENCE", "FENCE_I"];
  for (const name of Object.keys(Op)) {
    if (!compiledAway.includes(name)) assertEquals(seen.has(name), true, `no case for ${name}`);
  }
  for (const name of Object.keys(Pseudo)) assertEquals(seen.has(name), true, `no case for ${name}`);
  assertEquals(Pseudo.GAS, OP_COUNT);
});

Deno.test("the steps loop is the default exactly where V8 runs without its JIT (no WebAssembly)", () => {
  const jitless = typeof WebAssembly === "undefined";
  assertEquals(interpreterLoop.kind, jitless ? "steps" : "switch");
});
