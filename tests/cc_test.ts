/**
 * `rvbox cc` and `abi/guest/cc.ts`: ordinary C builds with one command for
 * both instruction sets and runs on every tier; what guests cannot have
 * (standard input, files) is a link error that says so; a missing toolchain
 * names the Debian packages.
 */
import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { parseCcArgs } from "../_cli_cc.ts";
import { CompileError, compileGuest, findLibc, type GuestIsa } from "../abi/guest/cc.ts";
import { Program } from "../mod.ts";
import { TIERS, type Tool, toolTest } from "./_tiers.ts";

const root = new URL("../", import.meta.url);
const decoder = new TextDecoder();
const picolibc: Tool = {
  name: "picolibc-riscv64-unknown-elf and gcc-riscv64-unknown-elf",
  available: () => {
    try {
      findLibc("rv32em");
      findLibc("rv32imac");
      return Promise.resolve(true);
    } catch {
      return Promise.resolve(false);
    }
  },
};
const TOOLS = ["clang-19", "ld.lld-19", picolibc];

/** Runs the CLI in `cwd` (the repository root by default). */
async function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; } = {}) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      `${root.pathname}cli.ts`,
      ...args,
    ],
    cwd: options.cwd ?? root.pathname,
    env: { INIT_CWD: options.cwd ?? root.pathname, ...options.env }, // as `deno task` would set it
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

const PROGRAM = `#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
static volatile int64_t n = 1234567890123LL;
static volatile float f = 1.25f;
int main(int argc, char **argv) {
  printf("%lld %lld %.3f %s %d\\n", (long long)(n / 97), (long long)(n % 97), f * 3.0, argv[0] ? "?" : "none", argc);
  char *p = malloc(10);
  return p == NULL ? 1 : 7;
}
`;

await toolTest(
  "rvbox cc: ordinary C (64-bit division, float, printf) for both ISAs, run on every tier",
  TOOLS,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rvbox-cc-" });
    try {
      await Deno.writeTextFile(`${dir}/prog.c`, PROGRAM);
      for (const isa of ["rv32em", "rv32imac"]) {
        const built = await cli(["cc", "prog.c", "-o", `prog.${isa}.elf`, "--isa", isa, "-O1"], {
          cwd: dir,
        });
        assertEquals(built.code, 0, built.stderr);
        assertStringIncludes(built.stdout, `prog.${isa}.elf:`);
        const program = Program.fromBytes(await Deno.readFile(`${dir}/prog.${isa}.elf`));
        assertEquals(program.base, isa === "rv32em" ? "rv32e" : "rv32i");
        for (const tier of TIERS) {
          let printed = "";
          const instance = program.instantiate({}, {
            tier,
            print: (b) => printed += decoder.decode(b),
          });
          assertEquals(instance.run(), 7, tier);
          assertEquals(printed, "12727504021 86 3.750 none 0\n", tier);
        }
        // The build is reproducible.
        const again = await cli(["cc", "prog.c", "-o", "again.elf", "--isa", isa, "-O1"], {
          cwd: dir,
        });
        assertEquals(again.code, 0, again.stderr);
        assertEquals(
          await Deno.readFile(`${dir}/again.elf`),
          await Deno.readFile(`${dir}/prog.${isa}.elf`),
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

await toolTest(
  "rvbox cc: reading stdin or files is a link error that says why",
  TOOLS,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rvbox-cc-" });
    try {
      await Deno.writeTextFile(
        `${dir}/input.c`,
        "#include <stdio.h>\nint main(void) { return getchar(); }\n",
      );
      const out = await cli(["cc", "input.c", "-o", "input.elf"], { cwd: dir });
      assertEquals(out.code, 1);
      assertStringIncludes(out.stderr, "undefined symbol: stdin");
      assertStringIncludes(out.stderr, "rvbox guests have no standard input and no files");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

await toolTest(
  "rvbox cc --freestanding: the SDK alone, stripped with --strip",
  ["clang-19", "ld.lld-19"],
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rvbox-cc-" });
    try {
      await Deno.writeTextFile(
        `${dir}/small.c`,
        '#include "rvbox.h"\nint main(void) { rvbox_print_str("small\\n"); return 3; }\n',
      );
      const out = await cli([
        "cc",
        "small.c",
        "-o",
        "small.elf",
        "--freestanding",
        "--strip",
        "--isa=rv32em",
      ], { cwd: dir });
      assertEquals(out.code, 0, out.stderr);
      const program = Program.fromBytes(await Deno.readFile(`${dir}/small.elf`));
      assertEquals(program.symbols, []);
      let printed = "";
      assertEquals(
        program.instantiate({}, { print: (b) => printed += decoder.decode(b) }).run(),
        3,
      );
      assertEquals(printed, "small\n");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("rvbox cc without clang-19 names the Debian packages to install", async () => {
  const out = await cli(["cc", "prog.c", "-o", "prog.elf"], { env: { PATH: "/nonexistent" } });
  assertEquals(out.code, 1);
  assertStringIncludes(out.stderr, "apt-get install clang-19 lld-19");
});

Deno.test("rvbox cc: usage errors", async () => {
  assertThrows(() => parseCcArgs(["prog.c"]), RangeError, "-o");
  assertThrows(() => parseCcArgs(["-o", "x.elf"]), RangeError, "source");
  assertThrows(() => parseCcArgs(["a.c", "-o", "x", "--isa", "rv64gc"]), RangeError, "rv32imac");
  assertThrows(() => parseCcArgs(["a.c", "-o", "x", "--bogus"]), RangeError, "--bogus");
  assertEquals(parseCcArgs(["a.c", "-Os", "-DX=1", "-Iinc", "--output=x.elf", "--isa=rv32em"]), {
    sources: ["a.c"],
    output: "x.elf",
    flags: ["-DX=1", "-Iinc"],
    optimize: "-Os",
    isa: "rv32em",
  });
  const out = await cli(["cc", "prog.c"]);
  assertEquals(out.code, 2);
  assertStringIncludes(out.stderr, "usage: rvbox cc");
  const help = await cli(["help", "cc"]);
  assertStringIncludes(help.stdout, "gcc-riscv64-unknown-elf");
});

await toolTest(
  "the README's C program builds with rvbox cc and prints what the README says",
  TOOLS,
  async () => {
    const readme = await Deno.readTextFile(new URL("README.md", root));
    const source = /```c\n([\s\S]*?)```/.exec(readme)![1];
    const command = /deno task rvbox cc (prog\.c .*?) +#/.exec(readme)![1].split(/ +/);
    const output = /deno task rvbox run prog\.elf +# (.*)/.exec(readme)![1];
    const dir = await Deno.makeTempDir({ prefix: "rvbox-cc-" });
    try {
      await Deno.writeTextFile(`${dir}/prog.c`, source);
      const built = await cli(["cc", ...command], { cwd: dir });
      assertEquals(built.code, 0, built.stderr);
      const ran = await cli(["run", "prog.elf"], { cwd: dir });
      assertEquals([ran.code, ran.stdout], [0, `${output}\n`], ran.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

await toolTest(
  "compileGuest (the API under rvbox cc): a build, a compile error, an unknown ISA",
  TOOLS,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rvbox-cc-" });
    try {
      await Deno.writeTextFile(`${dir}/prog.c`, PROGRAM);
      await Deno.writeTextFile(`${dir}/broken.c`, "int main(void) { return missing; }\n");
      const cwd = new URL(`file://${dir}/`);
      assertEquals(
        await compileGuest({ sources: ["prog.c"], output: "api.elf", isa: "rv32em", cwd }),
        "",
      );
      let printed = "";
      const program = Program.fromBytes(await Deno.readFile(`${dir}/api.elf`));
      assertEquals(
        program.instantiate({}, { print: (b) => printed += decoder.decode(b) }).run(),
        7,
      );
      assertEquals(printed, "12727504021 86 3.750 none 0\n");
      const error = await assertRejects(
        () => compileGuest({ sources: ["broken.c"], output: "broken.elf", cwd: dir }),
        CompileError,
      );
      assertStringIncludes(error.message, "use of undeclared identifier 'missing'");
      await assertRejects(
        () =>
          compileGuest({
            sources: ["prog.c"],
            output: "x.elf",
            isa: "rv64gc" as GuestIsa,
            cwd: dir,
          }),
        RangeError,
        "rv32imac",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

await toolTest(
  "C library: exit flushes and runs atexit handlers; a failed assert prints and aborts (134)",
  TOOLS,
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "rvbox-cc-" });
    try {
      await Deno.writeTextFile(
        `${dir}/end.c`,
        `#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include "rvbox.h"
static void bye(void) { printf(" atexit"); }
int main(void) { atexit(bye); printf("no newline"); exit(5); }
RVBOX_EXPORT(check) int check(int n) { printf("checking "); assert(n == 5); return n; }
`,
      );
      await compileGuest({ sources: ["end.c"], output: "end.elf", isa: "rv32em", cwd: dir });
      const program = Program.fromBytes(await Deno.readFile(`${dir}/end.elf`));
      for (const tier of TIERS) {
        let printed = "";
        const instance = program.instantiate({}, {
          tier,
          print: (b) => printed += decoder.decode(b),
        });
        assertEquals(instance.run(), 5, tier);
        assertEquals(printed, "no newline atexit", tier);
        printed = "";
        assertEquals(instance.exports.check(5), 5, tier);
        assertEquals(instance.exports.check(4), 134, tier);
        assertEquals(
          printed,
          'checking checking assertion "n == 5" failed: file "end.c", line 7, function: check\n',
          tier,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
