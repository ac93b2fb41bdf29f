/** The README's code runs as written (with the package import pointed at this checkout). */
import { assertEquals, assertStringIncludes } from "@std/assert";

const root = new URL("../", import.meta.url);

Deno.test("README usage example runs", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const block = readme.match(/```ts\n([\s\S]*?)```/)?.[1] ?? "";
  assertStringIncludes(block, "Program");
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      file,
      block.replace('"@rvbox/rvbox"', JSON.stringify(new URL("mod.ts", root).href)),
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", file],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    assertStringIncludes(new TextDecoder().decode(stdout), "300 gas left:");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("README portable example runs on the interpreter", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const block = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((b) => b.includes('"@rvbox/rvbox/portable"'));
  assertStringIncludes(block ?? "", "Program");
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      file,
      block!.replace('"@rvbox/rvbox/portable"', JSON.stringify(new URL("portable.ts", root).href)),
    );
    // FFI allowed: the portable entry must not use it even so.
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-ffi", file],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    assertStringIncludes(new TextDecoder().decode(stdout), "0 interpreter");
  } finally {
    await Deno.remove(file);
  }
});
