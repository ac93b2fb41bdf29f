/**
 * The portable entry point (portable.ts) loads the interpreter only: no
 * module of jit/, nothing that generates code or calls native code, and a
 * program imported through it runs on the interpreter whatever it asks for.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { runChild } from "./_child.ts";

const ROOT = new URL("../", import.meta.url);

/** Every module portable.ts reaches, by its path in the repository. */
async function graph(entry: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const visit = async (url: URL) => {
    const path = url.href.slice(ROOT.href.length);
    if (seen.has(path)) return;
    const source = await Deno.readTextFile(url);
    seen.set(path, source);
    for (const [, spec] of source.matchAll(/(?:from|import)\s+"(\.{1,2}\/[^"]+)"/g)) {
      await visit(new URL(spec, url));
    }
  };
  await visit(new URL(entry, ROOT));
  return seen;
}

Deno.test("portable entry: no native tier, no code generation, no FFI in its module graph", async () => {
  const modules = await graph("portable.ts");
  assert(modules.has("interpreter/run.ts"), [...modules.keys()].join(", "));
  for (const [path, source] of modules) {
    assert(!/^(jit|wasm)\//.test(path), `portable.ts reaches ${path}`);
    // Comments may name these; code may not use them.
    const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
    for (const banned of ["eval(", "new Function", "WebAssembly.", "dlopen", "UnsafePointer"]) {
      assert(!code.includes(banned), `${path} uses ${banned}`);
    }
  }
  const full = await graph("mod.ts");
  assert(full.has("jit/mod.ts") && full.has("wasm/mod.ts") && full.size > modules.size);
});

Deno.test("portable entry: programs run on the interpreter; native and wasm are refused clearly", async () => {
  const portable = new URL("../portable.ts", import.meta.url).href;
  const { code, report, stderr } = await runChild<Record<string, string>>(`
    const { Program } = await import(${JSON.stringify(portable)});
    const { buildGuest, ins, reg } = await import(GUEST);
    const elf = buildGuest({ code: [ins.li(reg.a0, 42), ins.ret()], exports: [{ at: 0, name: "answer" }] });
    const program = Program.fromBytes(elf);
    const auto = program.instantiate({}, {});
    let refused = "";
    try { program.instantiate({}, { tier: "native" }); } catch (e) { refused = e.name + ": " + e.message; }
    let wasm = "";
    try { program.instantiate({}, { tier: "wasm" }); } catch (e) { wasm = e.name + ": " + e.message; }
    console.log(JSON.stringify({
      tier: auto.tier, reason: auto.tierReason, result: String(auto.exports.answer()), refused, wasm,
    }));
  `);
  assertEquals(code, 0, stderr);
  assertEquals([report.tier, report.result], ["interpreter", "42"]);
  assertMatch(report.reason, /native tier is not loaded/);
  assertMatch(report.refused, /^RangeError: .*native tier is not loaded/);
  assertMatch(report.wasm, /^RangeError: .*wasm tier is not loaded/);
});

Deno.test("the machine contract (abi/) imports no tier: tiers plug in through abi/tiers.ts", async () => {
  for await (const entry of Deno.readDir(new URL("../abi/", import.meta.url))) {
    if (!entry.name.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(new URL(`../abi/${entry.name}`, import.meta.url));
    for (const [, spec] of source.matchAll(/(?:from|import)\s+"([^"]+)"/g)) {
      assert(!/^\.\.\/(interpreter|jit|wasm)\//.test(spec), `abi/${entry.name} imports ${spec}`);
    }
  }
});
