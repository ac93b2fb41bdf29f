/**
 * Tier selection as a user without FFI permission sees it (a child process
 * with only read permission).
 * @module
 */
import { assertEquals, assertStringIncludes } from "@std/assert";

Deno.test("tiers: without FFI permission auto starts on the interpreter, moves to wasm, and native fails clearly", async () => {
  const script = `
    import { Program } from "${new URL("../mod.ts", import.meta.url)}";
    const bytes = Deno.readFileSync(${
    JSON.stringify(new URL("../examples/fib/fib.rv32em.elf", import.meta.url).pathname)
  });
    const program = Program.fromBytes(bytes);
    const auto = program.instantiate();
    let native = "";
    try { program.instantiate({}, { tier: "native" }); } catch (e) { native = String(e); }
    // Moving after 50 gas, in the middle of the call: the same result and gas as the interpreter.
    const moving = program.instantiate({}, { tierUp: 50, gas: 10000000 });
    const before = moving.tier;
    const result = moving.exports.fib(20);
    const interpreted = program.instantiate({}, { tier: "interpreter", gas: 10000000 });
    const expected = [interpreted.exports.fib(20), interpreted.gas];
    console.log(JSON.stringify([auto.tier, auto.tierReason, auto.exports.fib(10), native,
      [before, moving.tier, result, moving.gas], expected]));`;
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
  const [tier, reason, fib, native, moved, expected] = JSON.parse(
    new TextDecoder().decode(out.stdout),
  );
  assertEquals([tier, fib], ["interpreter", 55]);
  if (Deno.build.arch === "x86_64" && Deno.build.os === "linux") {
    assertStringIncludes(reason, "the native tier needs FFI permission (--allow-ffi)");
  }
  assertStringIncludes(reason, "WebAssembly is available");
  assertStringIncludes(reason, "tier-up");
  assertStringIncludes(native, 'tier "native" is not available');
  assertEquals(moved, ["interpreter", "wasm", ...expected]);
});
