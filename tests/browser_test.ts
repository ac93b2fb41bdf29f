/**
 * The portable bundle in headless Chromium (Debian's `chromium`, driven by
 * `puppeteer-core` from npm), on a page whose Content-Security-Policy
 * forbids `eval` and WebAssembly: a guest fetched by the page runs with the
 * same result and gas as under Deno, its output reaches `console.log` a line
 * at a time, and `Program.fromFile` says to use `fromBytes`.
 */
import { assert, assertEquals, assertMatch } from "@std/assert";
import { Program } from "../portable.ts";
import { fib } from "../samples.ts";
import { noBrowser, type PageFile, serveFiles, withPage } from "./_browser.ts";
import { fingerprint } from "./_fingerprint.js";

const FIB = new URL("../examples/fib/fib.rv32imac.elf", import.meta.url);
const KVSTORE = new URL("../examples/kvstore/kvstore.rv32em.elf", import.meta.url);
const CSP = "default-src 'self'; script-src 'self'"; // no 'unsafe-eval', no 'wasm-unsafe-eval'

const PAGE_SCRIPT = `
import { Program } from "/rvbox.js";
const lines = [];
const log = console.log;
console.log = (...args) => { lines.push(args.join(" ")); log(...args); };
let evalBlocked = false;
try { new Function("return 1")(); } catch { evalBlocked = true; }
let wasmBlocked = false;
try { await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); } catch { wasmBlocked = true; }
let fromFile = "";
try { await Program.fromFile("fib.elf"); } catch (e) { fromFile = e.message; }
const bytes = new Uint8Array(await (await fetch("/fib.elf")).arrayBuffer());
const instance = Program.fromBytes(bytes).instantiate({}, { gas: 1e9 });
const fib20 = instance.exports.fib(20);
const code = instance.run();
await new Promise((resolve) => setTimeout(resolve, 0));
const { fingerprint } = await import("/fingerprint.js");
const kvstore = new Uint8Array(await (await fetch("/kvstore.elf")).arrayBuffer());
window.result = { fib20, code, gas: instance.gas, tier: instance.tier, lines, evalBlocked, wasmBlocked, fromFile, fingerprint: fingerprint(Program, kvstore) };
`;

const FILES: Record<string, PageFile> = {
  "/": () => ['<!doctype html><script type="module" src="/page.js"></script>', "text/html"],
  "/page.js": () => [PAGE_SCRIPT, "text/javascript"],
  "/rvbox.js": async () => [
    await Deno.readTextFile(new URL("../dist/portable.min.js", import.meta.url)),
    "text/javascript",
  ],
  "/fib.elf": async () => [await Deno.readFile(FIB), "application/octet-stream"],
  "/kvstore.elf": async () => [await Deno.readFile(KVSTORE), "application/octet-stream"],
  "/fingerprint.js": async () => [
    await Deno.readTextFile(new URL("./_fingerprint.js", import.meta.url)),
    "text/javascript",
  ],
  "/examples/kvstore/storage.js": async () => [
    await Deno.readTextFile(new URL("../examples/kvstore/storage.js", import.meta.url)),
    "text/javascript",
  ],
};

Deno.test({
  name: "browser: the portable bundle runs a guest under a CSP without eval or WebAssembly",
  ignore: noBrowser,
  async fn() {
    const respond = serveFiles(FILES, { "content-security-policy": CSP });
    await withPage(respond, "/", async (page, errors) => {
      await page.waitForFunction("window.result !== undefined || false", { timeout: 30_000 });
      const result = await page.evaluate("window.result") as Record<string, unknown>;
      assertEquals(errors, []);
      const deno = Program.fromBytes(await Deno.readFile(FIB)).instantiate({}, {
        gas: 1e9,
        print: () => {},
      });
      const fib20 = deno.exports.fib(20);
      const code = deno.run();
      assert(result.evalBlocked && result.wasmBlocked, "the page's CSP must forbid both");
      assertMatch(String(result.fromFile), /Program\.fromBytes/);
      assertEquals(
        [result.fib20, result.code, result.gas, result.tier, result.lines],
        [fib20, code, deno.gas, "interpreter", ["fib(32) = 2178309"]],
      );
      // One guest, the same trap, registers, memory hash and gas as under Deno.
      assertEquals(result.fingerprint, fingerprint(Program, await Deno.readFile(KVSTORE)));
    });
  },
});

/** examples/web/ as a static site (its CSP, in the page, forbids eval and WebAssembly). */
const WEB = new URL("../examples/web/", import.meta.url);

Deno.test({
  name:
    "browser: the web page example runs samples and dropped files, with traps, trace and listing",
  ignore: noBrowser,
  async fn() {
    const respond = async (path: string) => {
      const file = { "/": "index.html", "/app.js": "app.js" }[path];
      if (file === undefined) return new Response("not found", { status: 404 });
      const type = file.endsWith(".js") ? "text/javascript" : "text/html";
      return new Response(await Deno.readFile(new URL(file, WEB)), {
        headers: { "content-type": type },
      });
    };
    await withPage(respond, "/", async (page, errors) => {
      await page.waitForSelector("body[data-ready]");
      const text = (id: string) => page.$eval(`#${id}`, (e) => e.textContent ?? "");
      const run = async (entry: string, args: string, gas: number) => {
        const before = await page.$eval("body", (b) => b.dataset.ran ?? "");
        await page.select("#entry", entry);
        await page.$eval("#args", (e, v) => (e as unknown as { value: string; }).value = v, args);
        await page.$eval(
          "#gas",
          (e, v) => (e as unknown as { value: string; }).value = v,
          String(gas),
        );
        await page.click("#run");
        await page.waitForFunction(`document.body.dataset.ran !== ${JSON.stringify(before)}`);
      };
      // The fib sample: a result with the gas Deno's interpreter uses, then a trap.
      await page.select("#sample", "fib");
      await run("fib", "20", 1_000_000);
      const deno = Program.fromBytes(fib).instantiate({}, { gas: 1_000_000 });
      assertEquals(deno.exports.fib(20), 6765);
      assertEquals(await text("result"), `fib(20) = 6765; gas used ${1_000_000 - deno.gas}`);
      assertMatch(await text("disasm"), /^fib:$/m);
      await run("fib", "30", 100);
      const trap = await text("trap");
      assertMatch(trap, /^out of gas at pc 0x[0-9a-f]{8}/);
      assertEquals(trap.split("\n").length, 2 + 4, "RV32E: four rows of four registers");
      assertEquals((await text("trace")).split("\n").length, 16);
      // A dropped (here: chosen) ELF file with a host import.
      const input = await page.$("#file") as unknown as {
        uploadFile(path: string): Promise<void>;
      };
      await input.uploadFile(
        new URL("../examples/hello/hello.rv32imac.elf", import.meta.url).pathname,
      );
      await page.waitForFunction(
        `document.getElementById("status").textContent.startsWith("hello")`,
      );
      await run("", "", 1_000_000);
      assertEquals(await text("result"), `exit code 0; gas used ${await helloGas()}`);
      assertMatch(await text("output"), /^Hello from RISC-V!\n.*rvbox_print/);
      assertEquals(errors, []);
    });
  },
});

/** Gas the hello example's run() uses under Deno. */
async function helloGas(): Promise<number> {
  const bytes = await Deno.readFile(
    new URL("../examples/hello/hello.rv32imac.elf", import.meta.url),
  );
  const instance = Program.fromBytes(bytes).instantiate({ host_log: () => {} }, {
    gas: 1_000_000,
    print: () => {},
  });
  instance.run();
  return 1_000_000 - instance.gas;
}
