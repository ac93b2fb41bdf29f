/**
 * The embedded sample guests (`@rvbox/rvbox/samples`, samples.ts): they are
 * the example ELF files linked to blobs, up to date, and they run as the
 * documentation says, on every tier.
 */
import { assertEquals } from "@std/assert";
import { samplesModule } from "../examples/samples.ts";
import { Program } from "../mod.ts";
import { fib, hello } from "../samples.ts";
import { tierTest } from "./_tiers.ts";

Deno.test("samples: samples.ts is what `deno task samples` writes from the committed ELF files", async () => {
  const committed = await Deno.readTextFile(new URL("../samples.ts", import.meta.url));
  assertEquals(committed, await samplesModule(), "run `deno task samples`");
});

tierTest("samples: fib and hello run as documented", (tier) => {
  const program = Program.fromBytes(fib);
  assertEquals(program.format, "rvbox");
  const instance = program.instantiate({}, { tier });
  assertEquals([instance.exports.fib(20), instance.exports.fib64.i64(90)], [
    6765,
    2880067194370816120n,
  ]);
  const logged: string[] = [];
  const greeter = Program.fromBytes(hello).instantiate({
    host_log: (ctx, ptr, len) => void logged.push(ctx.memory.readString(ptr, len)),
  }, { tier, print: () => {} });
  assertEquals([greeter.run(), logged], [0, ["Hello from RISC-V!"]]);
});
