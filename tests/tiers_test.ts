/**
 * Tier selection as a user without FFI permission sees it (a child process
 * with only read permission).
 * @module
 */
import { assertEquals, assertStringIncludes } from "@std/assert";

Deno.test("tiers: without FFI permission auto runs the interpreter and native fails clearly", async () => {
  const script = `
    import { Program } from "${new URL("../mod.ts", import.meta.url)}";
    const bytes = Deno.readFileSync(${
    JSON.stringify(new URL("../examples/fib/fib.rv32em.elf", import.meta.url).pathname)
  });
    const program = Program.fromBytes(bytes);
    const auto = program.instantiate();
    let native = "";
    try { program.instantiate({}, { tier: "native" }); } catch (e) { native = String(e); }
    console.log(JSON.stringify([auto.tier, auto.tierReason, auto.exports.fib(10), native]));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--no-check", "-"],
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await child.output();
  const [tier, reason, fib, native] = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals([tier, fib], ["interpreter", 55]);
  if (Deno.build.arch === "x86_64" && Deno.build.os === "linux") {
    assertEquals(reason, "the native tier needs FFI permission (--allow-ffi)");
  }
  assertStringIncludes(native, 'tier "native" is not available');
});
