/**
 * Every example guest end to end, on every tier and both builds: through the
 * API (with exact results and deterministic gas), through the CLI, and
 * through its host script.
 */
import {
  assertEquals,
  assertGreater,
  assertMatch,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { storageImports } from "../examples/kvstore/storage.js";
import { nativeSupport } from "../jit/mod.ts";
import { type Imports, Program, type Tier, Trap } from "../mod.ts";
import { buildGuest, ins } from "./_guest.ts";
import { tierTest } from "./_tiers.ts";

const ISAS = ["rv32em", "rv32imac"] as const;
const root = new URL("../", import.meta.url);
const elf = (name: string, isa: string) => new URL(`examples/${name}/${name}.${isa}.elf`, root);
const decoder = new TextDecoder();

function load(name: string, isa: string): Program {
  return Program.fromBytes(Deno.readFileSync(elf(name, isa)));
}

/** Runs `main` capturing rvbox_print output; returns exit code, output and gas used. */
function runCommand(program: Program, tier: Tier, imports: Imports = {}) {
  let printed = "";
  const gas = 1e11;
  const instance = program.instantiate(imports, {
    tier,
    gas,
    print: (bytes) => printed += decoder.decode(bytes),
  });
  const exitCode = instance.run();
  return { exitCode, printed, gasUsed: gas - instance.gas };
}

for (const isa of ISAS) {
  tierTest(`example hello (${isa}): host import and built-in print`, (tier) => {
    const logged: string[] = [];
    const { exitCode, printed } = runCommand(load("hello", isa), tier, {
      host_log: (ctx, ptr, len) => {
        logged.push(ctx.memory.readString(ptr, len));
      },
    });
    assertEquals(exitCode, 0);
    assertEquals(logged, ["Hello from RISC-V!"]);
    assertStringIncludes(printed, "rvbox_print");
  });

  tierTest(`example fib (${isa}): exports and command`, (tier) => {
    const program = load("fib", isa);
    const instance = program.instantiate({}, { tier });
    assertEquals([0, 1, 2, 10, 20].map((n) => instance.exports.fib(n)), [0, 1, 1, 55, 6765]);
    assertEquals(instance.exports.fib64.i64(90), 2880067194370816120n);
    assertEquals(instance.exports.fib64(90), Number(BigInt.asIntN(32, 2880067194370816120n)));
    const first = runCommand(program, tier);
    assertEquals(first.exitCode, 0);
    assertStringIncludes(first.printed, "2178309");
    // Gas is deterministic: the same run costs the same every time.
    assertEquals(runCommand(program, tier).gasUsed, first.gasUsed);
  });

  tierTest(`example sieve (${isa})`, (tier) => {
    const program = load("sieve", isa);
    const instance = program.instantiate({}, { tier });
    assertEquals(instance.exports.count_primes(100), 25);
    assertEquals(instance.exports.count_primes(10_000), 1229);
    assertEquals(runCommand(program, tier).exitCode, 0);
  });

  tierTest(`example heap (${isa}): malloc/free up to the heap limit`, (tier) => {
    const program = load("heap", isa);
    assertEquals(runCommand(program, tier).exitCode, 0);
    const small = program.instantiate({}, { tier, heapSize: 4 << 20, print: () => {} });
    assertEquals(small.run(), 0);
    assertGreater(small.memory.brk, 0);
  });

  tierTest(`example hostcalls (${isa})`, (tier) => {
    const program = load("hostcalls", isa);
    let calls = 0;
    const imports: Imports = {
      host_add: (_ctx, a, b) => {
        calls++;
        return (a + b) | 0;
      },
    };
    const instance = program.instantiate(imports, { tier });
    assertEquals(instance.exports.loop(1000), 499500);
    assertEquals(calls, 1000);
    assertEquals(runCommand(program, tier, imports).exitCode, 0);
    assertEquals(calls, 1000 + 1_000_000);
  });

  tierTest(`example kvstore (${isa}): state persists in host storage`, (tier) => {
    const program = load("kvstore", isa);
    const storage = new Map<string, Uint8Array>();
    const imports: Imports = { ...storageImports(storage), caller_input: () => 0 };
    const first = program.instantiate(imports, { tier });
    assertEquals(first.exports.init(1, 1000), 0);
    assertEquals(first.exports.init(1, 1000), 1); // already initialized
    assertEquals(first.exports.transfer(1, 2, 300), 0);
    assertEquals(first.exports.transfer(2, 3, 301), 2); // insufficient funds
    // A new instance sees the same storage: the state lives in the host.
    const second = program.instantiate(imports, { tier });
    assertEquals(second.exports.balance_of(1), 700);
    assertEquals(second.exports.balance_of(2), 300);
    assertEquals(second.exports.total_supply(), 1000);
  });
}

/** Runs the CLI in a child process with read access and the given further permissions. */
function cliWith(permissions: string[], ...args: string[]) {
  return deno("run", "--allow-read", ...permissions, "cli.ts", ...args);
}

function cli(...args: string[]) {
  return cliWith([], ...args);
}

async function deno(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

Deno.test("CLI run: print output, exit status and --stats", async () => {
  const hello = await cli("run", "examples/fib/fib.rv32em.elf", "--stats");
  assertEquals(hello.code, 0, hello.stderr);
  assertStringIncludes(hello.stdout, "2178309");
  assertStringIncludes(hello.stderr, "MIPS");
});

Deno.test("CLI run: a trap gives status 3 and a message; missing imports status 2", async () => {
  const trap = await cli("run", "examples/fib/fib.rv32em.elf", "--gas", "1000");
  assertEquals(trap.code, 3);
  assertStringIncludes(trap.stderr, "out of gas");
  const link = await cli("run", "examples/hello/hello.rv32em.elf");
  assertEquals(link.code, 2);
  assertStringIncludes(link.stderr, "host_log");
});

Deno.test("CLI call prints an export's result; --import answers a guest's imports", async () => {
  const call = await cli("call", "examples/fib/fib.rv32em.elf", "fib", "20");
  assertEquals([call.code, call.stdout], [0, "6765\n"], call.stderr);
  const trap = await cli("call", "examples/fib/fib.rv32em.elf", "fib", "30", "--gas", "100");
  assertEquals(trap.code, 3);
  assertStringIncludes(trap.stderr, "out of gas");
  const hosted = await cli("run", "examples/hello/hello.rv32em.elf", "--import", "host_log=0");
  assertEquals(hosted.code, 0, hosted.stderr);
  assertStringIncludes(hosted.stdout, "rvbox_print");
  for (
    const [args, message] of [
      [["call", "examples/fib/fib.rv32em.elf", "nope"], 'no export "nope" (exports: fib, fib64)'],
      [["call", "examples/fib/fib.rv32em.elf", "fib", "x"], 'argument "x" is not an integer'],
      [["call", "examples/fib/fib.rv32em.elf"], "call needs an export name"],
      [["run", "examples/hello/hello.rv32em.elf", "--import", "host_log=abc"], "--import needs"],
    ] as const
  ) {
    const out = await cli(...args);
    assertEquals(out.code, 2, args.join(" "));
    assertStringIncludes(out.stderr, message);
  }
});

Deno.test("CLI --trace shows pc, instruction and changed registers", async () => {
  const trace = await cli("run", "examples/fib/fib.rv32em.elf", "--gas", "50", "--trace");
  assertEquals(trace.code, 3);
  const lines = trace.stderr.split("\n").filter((l) => /^[0-9a-f]{8}:/.test(l));
  // One line per retired instruction: the gas the same run uses through the API.
  const instance = load("fib", "rv32em").instantiate({}, { gas: 50, print: () => {} });
  assertThrows(() => instance.run(), Trap);
  assertEquals(lines.length, 50 - instance.gas);
  assertStringIncludes(trace.stderr, "sp=0x");
});

Deno.test("CLI --tier native runs natively; disasm --native lists x86-64 under each instruction", async () => {
  const run = await cliWith(
    ["--allow-ffi"],
    "run",
    "examples/sieve/sieve.rv32imac.elf",
    "--tier",
    "native",
    "--stats",
  );
  if (!nativeSupport().ok) {
    assertEquals(run.code, 2);
    return assertStringIncludes(run.stderr, 'tier "native" is not available');
  }
  assertEquals(run.code, 0, run.stderr);
  assertStringIncludes(run.stdout, "283146");
  assertStringIncludes(run.stderr, "tier native");
  const disasm = await cliWith(
    ["--allow-run"],
    "disasm",
    "--native",
    "examples/fib/fib.rv32em.elf",
  );
  assertEquals(disasm.code, 0, disasm.stderr);
  assertStringIncludes(disasm.stdout, "native x86-64:");
  // The block charge (gas in r14) follows the first instruction of `fib`.
  assertMatch(
    disasm.stdout,
    /<fib>:\n[0-9a-f]{8}: +[0-9a-f]{8} +addi sp, sp, -\d+\n +[0-9a-f]+: +(sub r14, \d+ +)?[0-9a-f ]+\n/,
  );
});

Deno.test("CLI disasm and inspect", async () => {
  const disasm = await cli("disasm", "examples/hello/hello.rv32em.elf");
  assertEquals(disasm.code, 0);
  assertStringIncludes(disasm.stdout, "ecall    # import host_log");
  const inspect = await cli("inspect", "examples/kvstore/kvstore.rv32em.elf");
  assertEquals(inspect.code, 0);
  for (
    const text of [
      "rv32e",
      "r-x",
      "storage_get",
      "rvbox_exit (built-in)",
      "transfer at 0x",
      "stack",
    ]
  ) {
    assertStringIncludes(inspect.stdout, text);
  }
});

Deno.test("CLI: directories, endless files, unknown commands and odd layouts give clear errors", async () => {
  const directory = await cli("run", "examples");
  assertEquals(directory.code, 2, directory.stderr);
  assertStringIncludes(directory.stderr, "rvbox: examples is a directory");
  const endless = await cli("run", "/dev/zero");
  assertEquals(endless.code, 2, endless.stderr);
  assertStringIncludes(endless.stderr, "larger than the 268435456-byte limit");
  for (const args of [["frob", "x.elf"], [], ["run"]]) {
    const usage = await cli(...args);
    assertEquals(usage.code, 2);
    assertMatch(
      usage.stderr,
      /^rvbox: (unknown command "frob"|no command given|run needs a program file)\n/,
    );
  }
  // Code alone at the top of the address space: no room for the default heap; inspect describes it.
  const bytes = buildGuest({ code: [ins.ret()] });
  const view = new DataView(bytes.buffer);
  view.setUint16(44, 1, true); // the code segment alone
  for (const field of [24, 52 + 8, 52 + 12]) view.setUint32(field, 0xfffe0000, true);
  const path = await Deno.makeTempFile({ suffix: ".elf" });
  try {
    await Deno.writeFile(path, bytes);
    const inspect = await cli("inspect", path);
    assertEquals(inspect.code, 0, inspect.stderr);
    assertStringIncludes(inspect.stdout, "0xfffe0000-0xfffe1000  r-x");
    assertStringIncludes(inspect.stdout, "does not fit with the default limits");
  } finally {
    await Deno.remove(path);
  }
  // An RV32E trap lists the 16 registers it has.
  const trap = await cli("run", "examples/fib/fib.rv32em.elf", "--gas", "10");
  assertEquals(trap.code, 3);
  assertStringIncludes(trap.stderr, "  a5=0x");
  assertEquals(trap.stderr.includes("  a6="), false);
});

for (
  const name of [
    "hello",
    "fib",
    "sieve",
    "heap",
    "hostcalls",
    "kvstore",
    "printf",
    "json",
    "records",
  ]
) {
  Deno.test(`host script examples/${name}/${name}.ts runs`, async () => {
    const result = await deno("run", "--allow-read", `examples/${name}/${name}.ts`);
    assertEquals(result.code, 0, result.stderr);
  });
}
