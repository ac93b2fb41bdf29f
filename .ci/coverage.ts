/**
 * `deno task coverage`: runs the test suite with coverage and prints the
 * line, branch and function coverage of the library (abi/, interpreter/,
 * jit/, the entry points) — `jit/a64/` aside: it runs only under
 * `deno task test:arm64`, on AArch64. `--threshold N` fails below N% of lines.
 * @module
 */
const root = new URL("../", import.meta.url);
const dir = await Deno.makeTempDir({ prefix: "rvbox-coverage-" });
const deno = Deno.execPath();

try {
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
  const escaped = root.href.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const report = await new Deno.Command(deno, {
    args: [
      "coverage",
      dir,
      `--include=^${escaped}(abi|interpreter|jit)/`,
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
  const at = Deno.args.indexOf("--threshold");
  if (at >= 0 && !(line >= Number(Deno.args[at + 1]))) {
    console.error(`line coverage ${line}% is below the threshold of ${Deno.args[at + 1]}%`);
    Deno.exit(1);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
