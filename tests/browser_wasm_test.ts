/**
 * The wasm tier with a large program in headless Chromium, whose main
 * thread refuses to compile or instantiate a WebAssembly module over 8 MB
 * synchronously: `tier: "auto"` stays on the interpreter while the module
 * compiles in the background and then moves, `tier: "wasm"` says to use
 * `instantiateAsync`, which runs it. The page loads the full bundle
 * (`dist/rvbox.min.js`) under a CSP that allows WebAssembly but not `eval`.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { Program } from "../mod.ts";
import { emitWasm } from "../wasm/translate.ts";
import { noBrowser, serveFiles, withPage } from "./_browser.ts";
import { buildGuest, ins, reg } from "./_guest.ts";

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";
/** Chromium's limit on synchronous compilation and instantiation on the main thread. */
const SYNC_LIMIT = 8 * 1024 * 1024;

/**
 * A program whose module is over the limit: one block of 1.5 million
 * no-ops, so that the module's jump table (it grows with the code) takes it
 * past 8 MB while its function stays under V8's limit on one function's size.
 */
function largeProgram(): Uint8Array {
  const code: number[] = new Array(1_500_000).fill(ins.addi(0, 0, 0));
  code.push(ins.li(reg.a0, 42), ins.ret());
  return buildGuest({ code, exports: [{ at: 0, name: "answer" }], segments: [] });
}

const PAGE_SCRIPT = `
import { Program } from "/rvbox.js";
const bytes = new Uint8Array(await (await fetch("/large.elf")).arrayBuffer());
const program = Program.fromBytes(bytes);
const result = {};
const auto = program.instantiate({}, { tierUp: 0 });
result.autoStart = { tier: auto.tier, reason: auto.tierReason, answer: auto.exports.answer() };
let calls = 1;
while (auto.tier !== "wasm" && calls < 300) {
  await new Promise((resolve) => setTimeout(resolve, 20));
  auto.exports.answer();
  calls++;
}
result.autoEnd = { tier: auto.tier, answer: auto.exports.answer(), calls };
try {
  program.instantiate({}, { tier: "wasm" });
  result.sync = "instantiated";
} catch (error) {
  result.sync = error.name + ": " + error.message;
}
const instance = await program.instantiateAsync({}, { tier: "wasm" });
result.async = { tier: instance.tier, answer: instance.exports.answer() };
window.result = result;
`;

Deno.test({
  name:
    "browser: a program over Chromium's 8 MB limit on synchronous WebAssembly runs on the wasm tier",
  ignore: noBrowser,
  async fn() {
    const elf = largeProgram();
    const size = emitWasm(Program.fromBytes(elf).image.code).bytes.length;
    assert(size > SYNC_LIMIT, `the module must be over 8 MB to test the limit (${size} bytes)`);
    const respond = serveFiles({
      "/": () => ['<!doctype html><script type="module" src="/page.js"></script>', "text/html"],
      "/page.js": () => [PAGE_SCRIPT, "text/javascript"],
      "/rvbox.js": async () => [
        await Deno.readTextFile(new URL("../dist/rvbox.min.js", import.meta.url)),
        "text/javascript",
      ],
      "/large.elf": () => [elf as Uint8Array<ArrayBuffer>, "application/octet-stream"],
    }, { "content-security-policy": CSP });
    await withPage(respond, "/", async (page, errors) => {
      await page.waitForFunction("window.result !== undefined", { timeout: 120_000 });
      const result = await page.evaluate("window.result") as {
        autoStart: { tier: string; reason: string; answer: number; };
        autoEnd: { tier: string; answer: number; calls: number; };
        sync: string;
        async: { tier: string; answer: number; };
      };
      assertEquals(errors, []);
      assertEquals([result.autoStart.tier, result.autoStart.answer], ["interpreter", 42]);
      assertStringIncludes(result.autoStart.reason, "compiled in the background");
      assertStringIncludes(result.autoStart.reason, "larger than 8MB");
      assertEquals([result.autoEnd.tier, result.autoEnd.answer], ["wasm", 42]);
      assertStringIncludes(result.sync, "RangeError");
      assertStringIncludes(result.sync, "instantiateAsync");
      assertEquals(result.async, { tier: "wasm", answer: 42 });
    });
  },
});
