/**
 * The part of Deno's API the portable test files use, in a browser page:
 * injected by esbuild (tests/browser_matrix_test.ts) wherever a test module
 * names the global `Deno`. Tests register into one list on `globalThis`
 * (every bundle gets its own copy of this module), which the page then
 * runs. Files come from the test server, which serves the repository:
 * synchronously where the tests read synchronously (a synchronous
 * XMLHttpRequest, as bytes through the `x-user-defined` charset). No
 * command runs, and the environment is empty, so tests that need a tool
 * are ignored as they are without it.
 */
type TestFn = () => void | Promise<void>;
interface TestDefinition {
  name: string;
  ignore?: boolean;
  fn: TestFn;
}

/** Every test the bundles registered, in order. */
export const registered: TestDefinition[] =
  ((globalThis as { rvboxTests?: TestDefinition[]; }).rvboxTests ??= []);

function fetchSync(path: string | URL): string {
  const request = new XMLHttpRequest();
  request.open("GET", String(path), false);
  request.overrideMimeType("text/plain; charset=x-user-defined");
  request.send();
  if (request.status !== 200) throw new Error(`${path}: HTTP ${request.status}`);
  return request.responseText;
}

const bytesOf = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);

/** `Deno` for the test files in a browser. */
export const Deno = {
  test(definition: string | TestDefinition, fn?: TestFn): void {
    registered.push(typeof definition === "string" ? { name: definition, fn: fn! } : definition);
  },
  readFileSync: (path: string | URL): Uint8Array => bytesOf(fetchSync(path)),
  readFile: async (path: string | URL): Promise<Uint8Array> =>
    new Uint8Array(await (await fetch(path)).arrayBuffer()),
  readTextFileSync: (path: string | URL): string =>
    new TextDecoder().decode(bytesOf(fetchSync(path))),
  readTextFile: async (path: string | URL): Promise<string> => await (await fetch(path)).text(),
  /** Chromium's JS heap size stands in for the resident size (the fuzzer's memory cap). */
  memoryUsage: () => ({
    rss: (performance as { memory?: { usedJSHeapSize: number; }; }).memory?.usedJSHeapSize ?? 0,
  }),
  build: { os: "browser", arch: "unknown" },
  env: { get: (_name: string): string | undefined => undefined },
  permissions: { querySync: () => ({ state: "denied" }) },
  Command: class {
    output(): Promise<{ success: boolean; code: number; }> {
      return Promise.resolve({ success: false, code: 1 });
    }
  },
};
