/**
 * The wasm tier in headless Chromium: bench/_browser_page.ts, bundled by
 * esbuild, runs on a page served from here in Debian's `chromium` driven by
 * `puppeteer-core` (as the browser tests drive it: tests/_browser.ts). The
 * page is cross-origin isolated, so that `performance.now()` has Chromium's
 * finest resolution (5 µs, not 100).
 * @module
 */
import * as esbuild from "npm:esbuild@0.28.2";
import { noBrowser, serveFiles, withPage } from "../tests/_browser.ts";
import type { BrowserInput, BrowserOutput } from "./_browser_page.ts";

const PAGE = new URL("./_browser_page.ts", import.meta.url).pathname;
const GUESTS = new URL("./guests/", import.meta.url);

/** The page's measurements, or why they were not made ("skipped: ..."). */
export async function browserBench(input: BrowserInput): Promise<BrowserOutput | string> {
  if (noBrowser) return "skipped: no headless Chromium here (chromium and npm puppeteer-core)";
  let script: string;
  try {
    const { outputFiles } = await esbuild.build({
      entryPoints: [PAGE],
      write: false,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      logLevel: "warning",
    });
    script = outputFiles[0].text;
  } finally {
    await esbuild.stop();
  }
  const respond = serveFiles(
    {
      "/": () => ['<!doctype html><script type="module" src="/bench.js"></script>', "text/html"],
      "/bench.js": () => [script, "text/javascript"],
      "/input.json": () => [JSON.stringify(input), "application/json"],
    },
    { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" },
    (path) => {
      const guest = /^\/guests\/([a-z0-9]+\.(rv32imac\.elf|wasm))$/.exec(path)?.[1];
      if (guest === undefined) return undefined;
      return async () => [await Deno.readFile(new URL(guest, GUESTS)), "application/octet-stream"];
    },
  );
  return await withPage(respond, "/", async (page) => {
    const done = "window.benchResult !== undefined || window.benchError !== undefined";
    await page.waitForFunction(done, { timeout: 900_000, polling: 500 });
    const error = await page.evaluate("window.benchError") as string | undefined;
    if (error !== undefined) throw new Error(`the benchmark failed in Chromium: ${error}`);
    return await page.evaluate("window.benchResult") as BrowserOutput;
  });
}
