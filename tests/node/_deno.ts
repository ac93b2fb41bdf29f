/**
 * The part of Deno's API the portable test files use, on Node: injected by
 * esbuild (tests/node/run.ts) wherever a test module names the global
 * `Deno`. The library itself never sees it: it looks for
 * `globalThis.Deno`, which stays undefined, so it runs as it does for a
 * Node user.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import process from "node:process";
import { test as nodeTest } from "node:test";

type TestFn = () => void | Promise<void>;
interface TestDefinition {
  name: string;
  ignore?: boolean;
  fn: TestFn;
}

const path = (p: string | URL) => (p instanceof URL ? p : new URL(p, `file://${process.cwd()}/`));

/** `Deno` for the test files under Node. */
export const Deno = {
  test(definition: string | TestDefinition, fn?: TestFn): void {
    const d = typeof definition === "string" ? { name: definition, fn: fn! } : definition;
    nodeTest(d.name, { skip: d.ignore === true }, d.fn);
  },
  readFileSync: (p: string | URL): Uint8Array => new Uint8Array(readFileSync(path(p))),
  readFile: async (p: string | URL): Promise<Uint8Array> => new Uint8Array(await readFile(path(p))),
  readTextFileSync: (p: string | URL): string => readFileSync(path(p), "utf8"),
  readTextFile: (p: string | URL): Promise<string> => readFile(path(p), "utf8"),
  memoryUsage: () => process.memoryUsage(),
  build: { os: process.platform, arch: process.arch === "x64" ? "x86_64" : "aarch64" },
  env: { get: (name: string): string | undefined => process.env[name] },
  permissions: { querySync: () => ({ state: "granted" }) },
  /** Only `--version` probes (`hasCommand`): runs the command, reports success. */
  Command: class {
    readonly #command: string;
    readonly #args: string[];
    constructor(command: string, options: { args?: string[]; } = {}) {
      this.#command = command;
      this.#args = options.args ?? [];
    }
    output(): Promise<{ success: boolean; code: number; }> {
      const result = spawnSync(this.#command, this.#args, { stdio: "ignore" });
      const code = result.status ?? 1;
      return Promise.resolve({ success: result.error === undefined && code === 0, code });
    }
  },
};
