/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by
 * npm `puppeteer-core`, pages served from a local server.
 * @module
 */
import { envVar } from "./_tiers.ts";

const CHROMIUM = envVar("CHROMIUM") ?? "/usr/bin/chromium";
const required = envVar("RVBOX_REQUIRE_TOOLS") === "1";
const chromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const puppeteer = chromium
  ? await import("npm:puppeteer-core@25.16.0").then((m) => m.default, (error) => {
    if (required) throw error;
    return undefined; // offline: npm unreachable
  })
  : undefined;

/** A page of the browser, as the tests use it. */
export type BrowserPage = Awaited<
  ReturnType<Awaited<ReturnType<NonNullable<typeof puppeteer>["launch"]>>["newPage"]>
>;

/** Whether a browser test should be ignored (no browser here, and none required). */
export const noBrowser = puppeteer === undefined && !required;

/**
 * Serves `respond` on 127.0.0.1, opens its page at `path` in a fresh
 * headless browser and runs `use` with the page and the page errors so far;
 * closes both afterwards.
 */
export async function withPage<T>(
  respond: (path: string) => Promise<Response> | Response,
  path: string,
  use: (page: BrowserPage, errors: string[]) => Promise<T>,
): Promise<T> {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => respond(new URL(request.url).pathname),
  );
  const browser = await puppeteer!.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox"], // the CI machine runs as root
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(`http://127.0.0.1:${server.addr.port}${path}`);
    return await use(page, errors);
  } finally {
    await browser.close();
  }
}

/** A file a page may fetch: its body and content type, made when requested. */
export type PageFile = () => Promise<[BodyInit, string]> | [BodyInit, string];

/**
 * A responder for {@linkcode withPage}: `files` by URL path (`find` may
 * supply others), each with `headers` added; 404 for anything else.
 */
export function serveFiles(
  files: Record<string, PageFile>,
  headers: Record<string, string>,
  find: (path: string) => PageFile | undefined = () => undefined,
): (path: string) => Promise<Response> {
  return async (path) => {
    const file = Object.hasOwn(files, path) ? files[path] : find(path);
    if (file === undefined) return new Response("not found", { status: 404 });
    const [body, type] = await file();
    return new Response(body, { headers: { "content-type": type, ...headers } });
  };
}
