/**
 * The portable test files (tests/_portable_tests.ts) in headless Chromium,
 * on a page whose Content-Security-Policy forbids `eval` and WebAssembly:
 * each file bundled by esbuild for the browser, `Deno` provided by
 * tests/browser/_deno.ts and `node:assert` (under tests/assert.ts) by npm
 * `assert` (in .ci/tools). The server serves the repository read-only, so
 * the files the tests read resolve as they do from the sources. Under that
 * policy only the interpreter runs: the matrix has that one column. A
 * second run allows WebAssembly (`'wasm-unsafe-eval'`): the wasm tier and
 * tier-up to it join the matrix.
 */
import { assert, assertEquals } from "@std/assert";
import * as esbuild from "npm:esbuild@0.28.2";
import { noBrowser, withPage } from "./_browser.ts";
import { PORTABLE_TESTS } from "./_portable_tests.ts";
import { envVar } from "./_tiers.ts";

const ROOT = new URL("../", import.meta.url);
const TOOLS = new URL(".ci/tools/node_modules/", ROOT);
const required = envVar("RVBOX_REQUIRE_TOOLS") === "1";
const assertModule = await Deno.stat(new URL("assert", TOOLS)).then(() => true, () => false);
/** The page's Content-Security-Policy: no 'unsafe-eval'; WebAssembly only in the second run. */
const CSPS = [
  { csp: "default-src 'self'; script-src 'self'", label: "without eval or WebAssembly", min: 70 },
  {
    csp: "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'",
    label: "allowing WebAssembly only (interpreter, wasm and tier-up to wasm)",
    min: 130,
  },
];

/** Runs every registered test in order; `window.results` gets each outcome. */
const RUNNER = `
const files = ${JSON.stringify(PORTABLE_TESTS.map((f) => f.replace(/\.ts$/, ".browser.js")))};
for (const file of files) await import("/tests/" + file);
const results = [];
for (const test of globalThis.rvboxTests) {
  if (test.ignore) { results.push({ name: test.name, status: "ignored" }); continue; }
  try {
    await test.fn();
    results.push({ name: test.name, status: "ok" });
  } catch (error) {
    results.push({ name: test.name, status: "failed", error: String(error?.stack ?? error) });
  }
}
window.results = results;
`;

/** The test files bundled for the browser, by URL path. */
async function bundles(): Promise<Map<string, string>> {
  try {
    const { outputFiles } = await esbuild.build({
      entryPoints: Object.fromEntries(
        PORTABLE_TESTS.map((
          f,
        ) => [f.replace(/\.ts$/, ".browser"), new URL(f, import.meta.url).pathname]),
      ),
      outdir: new URL("tests/", ROOT).pathname,
      write: false,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      alias: {
        "@std/assert": new URL("assert.ts", import.meta.url).pathname,
        "node:assert": "assert",
      },
      nodePaths: [TOOLS.pathname],
      inject: [new URL("browser/_deno.ts", import.meta.url).pathname],
      define: { "import.meta.main": "false", "process.env.NODE_DEBUG": "false" },
      logLevel: "warning",
    });
    return new Map(outputFiles.map((f) => [f.path.slice(ROOT.pathname.length - 1), f.text]));
  } finally {
    await esbuild.stop();
  }
}

/** A repository file for a URL path (no `..`, nothing outside the repository), or undefined. */
async function repositoryFile(path: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (path.split("/").some((part) => part === ".." || part.startsWith("."))) return undefined;
  return await Deno.readFile(new URL(path.slice(1), ROOT)).catch(() => undefined);
}

for (const { csp: CSP, label, min } of CSPS) {
  Deno.test({
    name: `browser: the portable test files pass in headless Chromium under a CSP ${label}`,
    ignore: (noBrowser || !assertModule) && !required,
    async fn() {
      const scripts = await bundles();
      scripts.set("/tests/runner.js", RUNNER);
      scripts.set(
        "/tests/runner.html",
        '<!doctype html><script type="module" src="/tests/runner.js"></script>',
      );
      const respond = async (path: string) => {
        const body = scripts.get(path) ?? await repositoryFile(path);
        if (body === undefined) return new Response("not found", { status: 404 });
        const type = path.endsWith(".html")
          ? "text/html"
          : path.endsWith(".js")
          ? "text/javascript"
          : "application/octet-stream";
        return new Response(body, {
          headers: { "content-type": type, "content-security-policy": CSP },
        });
      };
      await withPage(respond, "/tests/runner.html", async (page, errors) => {
        await page.waitForFunction("window.results !== undefined || false", { timeout: 300_000 });
        const results = await page.evaluate("window.results") as {
          name: string;
          status: string;
          error?: string;
        }[];
        assertEquals(errors, []);
        const failed = results.filter((r) => r.status === "failed");
        assertEquals(failed.map((r) => `${r.name}: ${r.error}`), []);
        const passed = results.filter((r) => r.status === "ok").length;
        // Every file's tests ran, on every tier the policy allows (a few need tools).
        assert(passed >= min, `only ${passed} tests passed in Chromium`);
        console.log(`    ${passed} passed, ${results.length - passed} ignored in Chromium`);
      });
    },
  });
}
