/**
 * The single-module bundles (dist/, `deno task bundle`) are what their
 * sources build to now, export what their sources export and run guests
 * like them; the portable one holds no native tier.
 */
import { assert, assertEquals } from "@std/assert";
import * as fullSource from "../mod.ts";
import * as portableSource from "../portable.ts";
import { buildGuest, ins, reg } from "./_guest.ts";
import { AUTO_TARGET, envVar, TIERS } from "./_tiers.ts";

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
  // "WebAssembly." (any use of it), not the bare name: the interpreter probes `typeof WebAssembly`.
  for (const banned of ["dlopen", "UnsafePointer", "WebAssembly.", "new Function", "eval("]) {
    assert(!text.includes(banned), `the portable bundle contains ${banned}`);
  }
});

Deno.test("bundles: the full one runs guests on every tier", async () => {
  const { Program } = await import(dist("rvbox.min.js").href) as typeof fullSource;
  const program = Program.fromBytes(guest);
  for (const tier of TIERS) {
    const instance = program.instantiate({}, { tier, tierUp: 0 });
    assertEquals([instance.exports.inc(41), instance.tier], [
      42,
      tier === "auto" ? AUTO_TARGET : tier,
    ]);
    instance.dispose();
  }
});

/** The bundle builder, or undefined where esbuild cannot be had from npm (offline). */
const builder = await import("../dist/build.ts").catch((error) => {
  if (envVar("RVBOX_REQUIRE_TOOLS") === "1") throw error;
  return undefined;
});

Deno.test({
  name: "bundles: the committed ones are what the sources build to",
  // CI (RVBOX_REQUIRE_TOOLS=1) never skips it, and also runs `deno task bundle --check`.
  ignore: builder === undefined,
  async fn() {
    assertEquals(await builder!.staleBundles(), [], "run `deno task bundle`");
  },
});
