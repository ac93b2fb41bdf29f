/**
 * `deno task test:node`: runs the portable test files under Node's test
 * runner — the same files `deno task test` runs, bundled by esbuild with
 * `Deno` (the few calls they make) provided by tests/node/_deno.ts. The
 * native tier runs through koffi (npm, in .ci/tools, found through a
 * `tests/node_modules` link made for the run, as a user's installed
 * package would be: Bun's test runner ignores `NODE_PATH`), so the matrix has
 * the same three columns as under Deno; without koffi, the interpreter's
 * alone. Exits with Node's status. With `--coverage`,
 * runs under c8 (npm, in .ci/tools) and prints the line coverage of the
 * library code Node runs (abi/, interpreter/, the entry points; jit/ aside).
 * With `--bun`, Bun (npm, in .ci/tools) runs the same bundles instead
 * (`deno task test:bun`): its test runner implements `node:test`.
 *
 *   deno task test:node [--coverage] [file_test.ts ...]
 *   deno task test:bun [file_test.ts ...]
 * @module
 */
import * as esbuild from "npm:esbuild@0.28.2";
import { PORTABLE_TESTS } from "../_portable_tests.ts";

const TESTS = new URL("../", import.meta.url);

const coverage = Deno.args.includes("--coverage");
const bun = Deno.args.includes("--bun");
const named = Deno.args.filter((a) => !a.startsWith("--"));
const BUN = new URL("../.ci/tools/node_modules/.bin/bun", TESTS).pathname;
const files = named.length > 0 ? named : PORTABLE_TESTS;
const C8 = new URL("../.ci/tools/node_modules/c8/bin/c8.js", TESTS).pathname;
// Each bundle sits beside its source, so `new URL("../x", import.meta.url)` finds the same files.
const outputs = files.map((f) => new URL(f.replace(/\.ts$/, ".node.mjs"), TESTS).pathname);
const KOFFI = new URL("../.ci/tools/node_modules/koffi", TESTS);
if (Deno.env.get("RVBOX_REQUIRE_TOOLS") === "1" && !(await Deno.stat(KOFFI).catch(() => false))) {
  throw new Error("koffi is missing (npm install in .ci/tools): the native tier would not run");
}
const scratch = await Deno.makeTempDir(); // c8's raw coverage
const modules = new URL("node_modules", TESTS).pathname;
try {
  await Deno.symlink("../.ci/tools/node_modules", modules).catch(() => {});
  await esbuild.build({
    entryPoints: Object.fromEntries(
      files.map((f) => [f.replace(/\.ts$/, ".node"), new URL(f, TESTS).pathname]),
    ),
    outdir: TESTS.pathname,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    alias: { "@std/assert": new URL("assert.ts", TESTS).pathname },
    inject: [new URL("node/_deno.ts", TESTS).pathname],
    // Modules bundled in are never the main module (Bun says the bundle is).
    define: { "import.meta.main": "false" },
    external: ["node:*"],
    sourcemap: coverage ? "inline" : false,
    logLevel: "warning",
  });
  await esbuild.stop();
  const test = ["--test", "--test-reporter=spec", ...outputs];
  const c8 = [
    C8,
    ...["--temp-directory", `${scratch}/tmp`, "--reports-dir", scratch],
    "--reporter=text-summary",
    "--exclude-after-remap", // the bundles sit in tests/; their sources are what counts
    ...["tests/**", "fuzz/**", "jit/_ffi_deno.ts", "jit/a64/**", "examples/**"].flatMap((
      glob,
    ) => ["--exclude", glob]),
    "node",
  ];
  // Bun's runner stops a test after 5 s by default; the differential share takes longer on a busy
  // machine (Node's runner has no default timeout).
  const { code } = await new Deno.Command(bun ? BUN : "node", {
    args: bun ? ["test", "--timeout", "120000", ...outputs] : coverage ? [...c8, ...test] : test,
    cwd: new URL("../", TESTS).pathname,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exitCode = code;
} finally {
  for (const output of outputs) await Deno.remove(output).catch(() => {});
  await Deno.remove(modules).catch(() => {});
  await Deno.remove(scratch, { recursive: true });
}
