/**
 * AArch64 only (runs in `deno task test:arm64`): the long branch forms that
 * programs over 1 MiB of native code use (B.cond and CBZ over B) behave like
 * the short ones. Small programs are translated with them forced on and
 * must match the interpreter.
 */
import { assertEquals } from "@std/assert";
import { forceFarBranches } from "../jit/a64/backend.ts";
import { nativeSupport } from "../jit/mod.ts";
import { Program } from "../mod.ts";

const onAarch64 = Deno.build.arch === "aarch64" && nativeSupport().ok;
const file = (path: string) => Deno.readFileSync(new URL(`../${path}`, import.meta.url));

Deno.test({
  name: "AArch64: long branch forms give the same results, gas and output",
  ignore: !onAarch64,
  fn() {
    forceFarBranches(true);
    try {
      for (
        const [path, call] of [
          ["bench/guests/cpu6502.rv32imac.elf", "run"],
          ["bench/guests/fib.rv32em.elf", "run"],
          ["bench/guests/sieve.rv32em.elf", "run"],
          ["bench/guests/tokenize.rv32imac.elf", "run"],
          ["bench/guests/contract.rv32imac.elf", "run"],
        ]
      ) {
        const program = Program.fromBytes(file(path));
        const results = (["interpreter", "native"] as const).map((tier) => {
          const instance = program.instantiate({ host_inc: (_c, x) => x + 1 }, { tier, gas: 1e12 });
          const value = instance.exports[call](1);
          return [value, instance.gas];
        });
        assertEquals(results[1], results[0], path);
        assertEquals(results[0][0], 0, `${path} checks itself`);
      }
    } finally {
      forceFarBranches(false);
    }
  },
});
