/**
 * The example programs under an independent implementation: each example's
 * C source is rebuilt as a Linux program (tests/qemu/: imports become Linux
 * system calls) and run by `qemu-riscv32`; the committed guests must print
 * the same bytes and exit with the same code on every rvbox tier.
 */
import { assertEquals } from "@std/assert";
import { compileGuest, haveClang } from "../examples/build.ts";
import { type Imports, Program, type Tier } from "../mod.ts";
import { TIERS, toolTest } from "./_tiers.ts";

const root = new URL("../", import.meta.url);
const decoder = new TextDecoder();

/** Examples whose host imports need no host state (kvstore's storage does). */
const EXAMPLES = ["hello", "fib", "sieve", "heap", "hostcalls"];

async function runOnQemu(name: string, dir: string): Promise<{ code: number; output: string; }> {
  const elf = `${dir}/${name}.elf`;
  await compileGuest([`examples/${name}/${name}.c`, "tests/qemu/linux.c"], elf, "rv32imac", [
    "-include",
    "tests/qemu/linux_imports.h",
  ]);
  const { code, stdout } = await new Deno.Command("qemu-riscv32", { args: [elf], stdout: "piped" })
    .output();
  return { code, output: decoder.decode(stdout) };
}

function runOnRvbox(name: string, isa: string, tier: Tier) {
  const program = Program.fromBytes(
    Deno.readFileSync(new URL(`examples/${name}/${name}.${isa}.elf`, root)),
  );
  let output = "";
  const imports: Imports = {
    host_log: (ctx, ptr, len) => void (output += ctx.memory.readString(ptr, len) + "\n"),
    host_add: (_ctx, a, b) => (a + b) | 0,
  };
  const used = Object.fromEntries(
    Object.entries(imports).filter(([n]) => program.imports.includes(n)),
  );
  const instance = program.instantiate(used, {
    tier,
    print: (bytes) => output += decoder.decode(bytes),
  });
  return { code: instance.run() & 255, output };
}

await toolTest("qemu oracle: example programs print and exit the same", ["qemu-riscv32", {
  name: "clang-19",
  available: haveClang,
}], async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const name of EXAMPLES) {
      const expected = await runOnQemu(name, dir);
      assertEquals(expected.code, 0, `${name} under qemu`);
      for (const tier of TIERS) {
        for (const isa of ["rv32em", "rv32imac"]) {
          assertEquals(runOnRvbox(name, isa, tier), expected, `${name} ${isa} on ${tier}`);
        }
      }
    }
    console.log(`qemu oracle: ${EXAMPLES.length} examples match on ${TIERS.join(", ")}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
