/**
 * Every `@example` in the library's doc comments type-checks and runs
 * (`deno test --doc` in a child process, from the repository root, where
 * the few examples that read a file find it).
 */
import { assertEquals } from "@std/assert";

const root = new URL("../", import.meta.url);

/** The library modules whose doc comments hold examples. */
async function documented(): Promise<string[]> {
  const files = ["mod.ts", "portable.ts", "samples.ts", "cli.ts"];
  for (const dir of ["abi", "jit", "interpreter"]) {
    for await (const entry of Deno.readDir(new URL(`${dir}/`, root))) {
      const path = `${dir}/${entry.name}`;
      if (!entry.isFile || !path.endsWith(".ts")) continue;
      if ((await Deno.readTextFile(new URL(path, root))).includes("@example")) files.push(path);
    }
  }
  return files.sort();
}

Deno.test("doc examples type-check and run", async () => {
  const files = await documented();
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--doc", "--allow-read", "--allow-ffi", "--allow-env", ...files],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  assertEquals(code, 0, out);
});
