/**
 * `deno task coverage`: runs the test suite with coverage and prints the
 * line, branch and function coverage of the library (abi/, interpreter/,
 * jit/, wasm/, the entry points) — `jit/a64/` aside: it runs only under
 * `deno task test:arm64`, on AArch64. `--threshold N` fails below N% of lines.
 * `--from DIR` reports on coverage already collected in DIR (CI runs the
 * README's test command with `DENO_COVERAGE_DIR=DIR` rather than the suite twice).
 * @module
 */
const root = new URL("../", import.meta.url);
const deno = Deno.execPath();
const option = (name: string) => {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Deno.args[at + 1] : undefined;
};
const from = option("--from");
const dir = from ?? await Deno.makeTempDir({ prefix: "rvbox-coverage-" });

try {
  if (from === undefined) await collect();
  const escaped = root.href.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const report = await new Deno.Command(deno, {
    args: [
      "coverage",
      dir,
      `--include=^${escaped}(abi|interpreter|jit|wasm)/`,
      `--include=^${escaped}(mod|portable|cli)\\.ts$`,
      `--exclude=^${escaped}jit/a64/`,
    ],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(report.stdout);
  const total = text.split("\n").find((line) => line.includes("All files"));
  const [branch, fn, line] = (total ?? "").split("|").slice(2, 5).map((s) => Number(s.trim()));
  console.log(text);
  console.log(
    `library coverage (x86-64 run, jit/a64/ aside): lines ${line}%, branches ${branch}%, `
      + `functions ${fn}%`,
  );
  const threshold = option("--threshold");
  if (threshold !== undefined && !(line >= Number(threshold))) {
    console.error(`line coverage ${line}% is below the threshold of ${threshold}%`);
    Deno.exit(1);
  }
} finally {
  if (from === undefined) await Deno.remove(dir, { recursive: true });
}

/** Runs the whole suite with coverage into `dir`. */
async function collect() {
  const test = await new Deno.Command(deno, {
    args: [
      "test",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      "--allow-ffi",
      "--allow-net=127.0.0.1",
      `--coverage=${dir}`,
      "tests/",
    ],
    cwd: root,
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (!test.success) Deno.exit(test.code);
}
