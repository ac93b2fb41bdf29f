/**
 * The single-module bundles (dist/, `deno task bundle`) export what their
 * sources export and run guests like them; the portable one holds no native
 * tier. (CI checks with `deno task bundle --check` that they are current.)
 */
import { assert, assertEquals } from "@std/assert";
import * as fullSource from "../mod.ts";
import * as portableSource from "../portable.ts";
import { buildGuest, ins, reg } from "./_guest.ts";
import { TIERS } from "./_tiers.ts";

const dist = (name: string) => new URL(`../dist/${name}`, import.meta.url);
const guest = buildGuest({
  code: [ins.addi(reg.a0, reg.a0, 1), ins.ret()],
  exports: [{ at: 0, name: "inc" }],
});

Deno.test("bundles: each exports what its source exports", async () => {
  const portable = await import(dist("portable.min.js").href);
  const full = await import(dist("rvbox.min.js").href);
  assertEquals(Object.keys(portable).sort(), Object.keys(portableSource).sort());
  assertEquals(Object.keys(full).sort(), Object.keys(fullSource).sort());
});

Deno.test("bundles: the portable one runs guests on the interpreter and has no native tier", async () => {
  const { Program } = await import(dist("portable.min.js").href) as typeof portableSource;
  const instance = Program.fromBytes(guest).instantiate();
  assertEquals([instance.exports.inc(41), instance.tier], [42, "interpreter"]);
  const text = await Deno.readTextFile(dist("portable.min.js"));
  for (const banned of ["dlopen", "UnsafePointer", "WebAssembly", "new Function", "eval("]) {
    assert(!text.includes(banned), `the portable bundle contains ${banned}`);
  }
});

Deno.test("bundles: the full one runs guests on every tier", async () => {
  const { Program } = await import(dist("rvbox.min.js").href) as typeof fullSource;
  const program = Program.fromBytes(guest);
  for (const tier of TIERS) {
    const instance = program.instantiate({}, { tier });
    assertEquals([instance.exports.inc(41), instance.tier], [42, tier]);
    instance.dispose();
  }
});
