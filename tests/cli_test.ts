/**
 * The command line as a stranger uses it: help for each command, host
 * functions from a module (`--host`), and paths relative to where the user
 * typed them (`deno task` runs in the repository root and passes INIT_CWD).
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { COMMAND_HELP, USAGE } from "../_cli_help.ts";

const root = new URL("../", import.meta.url);
const decoder = new TextDecoder();

/** Runs cli.ts; with `env`, env permission for INIT_CWD as `deno task rvbox` has it. */
async function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; } = {}) {
  const allowEnv = options.env ? ["--allow-env=INIT_CWD"] : [];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", ...allowEnv, new URL("cli.ts", root).pathname, ...args],
    cwd: options.cwd ?? root.pathname,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("CLI help: the summary, and one page per command, by `help X` or `X --help`", async () => {
  assertEquals((await cli(["help"])).stdout, USAGE + "\n");
  assertEquals((await cli(["--help"])).stdout, USAGE + "\n");
  for (const command of ["run", "call", "disasm", "inspect", "link"]) {
    const viaHelp = await cli(["help", command]);
    const viaFlag = await cli([command, "--help"]);
    assertEquals([viaHelp.code, viaHelp.stdout], [0, COMMAND_HELP[command] + "\n"]);
    assertEquals(viaFlag.stdout, viaHelp.stdout);
    assertStringIncludes(viaHelp.stdout, `usage: rvbox ${command}`);
  }
  const unknown = await cli(["help", "fly"]);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, 'no command "fly"');
});

Deno.test("CLI --host: a module's exported functions answer the guest's imports", async () => {
  const hello = ["run", "examples/hello/hello.rv32em.elf"];
  const hosted = await cli([...hello, "--host", "examples/hello/host.ts"]);
  assertEquals(hosted.code, 0, hosted.stderr);
  assertStringIncludes(hosted.stdout, "host_log: Hello from RISC-V!");
  const both = await cli([...hello, "--host", "examples/hello/host.ts", "--import", "host_log=1"]);
  assertEquals(both.code, 2);
  assertStringIncludes(both.stderr, "import host_log is given by both --host and --import");
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/none.ts`, "export const x = 1;\n");
    const none = await cli([...hello, "--host", `${dir}/none.ts`]);
    assertEquals(none.code, 2);
    assertStringIncludes(none.stderr, "exports no function");
    const missing = await cli([...hello, "--host", `${dir}/missing.ts`]);
    assertEquals(missing.code, 2);
    assertStringIncludes(missing.stderr, "--host");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI paths are relative to the user's directory (INIT_CWD under deno task)", async () => {
  const examples = new URL("examples/", root).pathname;
  const fromTask = await cli(["call", "fib/fib.rv32em.elf", "fib", "20"], {
    env: { INIT_CWD: examples },
  });
  assertEquals([fromTask.code, fromTask.stdout], [0, "6765\n"], fromTask.stderr);
  // `deno run jsr:@rvbox/rvbox/cli` in a shell: no env permission, paths against the cwd.
  const fromShell = await cli(["call", "fib/fib.rv32em.elf", "fib", "20"], { cwd: examples });
  assertEquals([fromShell.code, fromShell.stdout], [0, "6765\n"], fromShell.stderr);
});
