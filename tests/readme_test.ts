/** The README's code runs as written (with the package import pointed at this checkout). */
import { assertEquals, assertStringIncludes } from "@std/assert";

const root = new URL("../", import.meta.url);

/**
 * Runs the README's first `ts` block that imports `specifier` (and contains
 * `marker`), with that import pointed at `entry` in this checkout; returns
 * its standard output.
 */
async function runReadmeBlock(
  specifier: string,
  entry: string,
  flags: string[],
  marker = "",
): Promise<string> {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((b) => b.includes(`"${specifier}"`) && b.includes(marker));
  assertStringIncludes(block ?? "", "Program", `no README example imports ${specifier}`);
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      file,
      block!.replace(`"${specifier}"`, JSON.stringify(new URL(entry, root).href))
        .replace(`"@rvbox/rvbox/samples"`, JSON.stringify(new URL("samples.ts", root).href)),
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, file],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    return new TextDecoder().decode(stdout);
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("README usage example runs", async () => {
  const out = await runReadmeBlock("@rvbox/rvbox", "mod.ts", ["--allow-read"]);
  assertStringIncludes(out, "300 gas left:");
});

Deno.test("README portable example runs on the interpreter", async () => {
  // FFI allowed: the portable entry must not use it even so.
  const out = await runReadmeBlock("@rvbox/rvbox/portable", "portable.ts", [
    "--allow-read",
    "--allow-ffi",
  ]);
  assertStringIncludes(out, "0 interpreter");
});

Deno.test("README tier-up example moves to native code where it can run", async () => {
  const out = await runReadmeBlock(
    "@rvbox/rvbox",
    "mod.ts",
    ["--allow-read", "--allow-ffi"],
    "fib(30)",
  );
  const native = Deno.build.os === "linux" && ["x86_64", "aarch64"].includes(Deno.build.arch);
  assertEquals(out, `interpreter\n${native ? "native" : "interpreter"}\n`);
});

Deno.test("README instantiateAsync example runs on the wasm tier", async () => {
  const out = await runReadmeBlock("@rvbox/rvbox", "mod.ts", ["--allow-read"], "instantiateAsync");
  assertEquals(out, "6765 wasm\n");
});
