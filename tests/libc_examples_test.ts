/**
 * The examples on the C library (picolibc and libgcc): each on every tier and
 * both builds, its output checked byte for byte (formatted floating point,
 * 64-bit integers, parser results, sorted tables); the JSON guest's exports
 * fed by the host (which enter through the thread-pointer trampoline); and
 * the symbols of an unstripped build.
 */
import { assertEquals, assertGreater, assertMatch, assertThrows } from "@std/assert";
import { linkProgram, Program, ProgramError, type Tier } from "../mod.ts";
import { tierTest } from "./_tiers.ts";

const ISAS = ["rv32em", "rv32imac"] as const;
const root = new URL("../", import.meta.url);
const decoder = new TextDecoder();

function load(name: string, isa: string): Program {
  return Program.fromBytes(Deno.readFileSync(new URL(`examples/${name}/${name}.${isa}.elf`, root)));
}

/** Runs `main`; returns the exit code and everything printed. */
function run(program: Program, tier: Tier) {
  let printed = "";
  const instance = program.instantiate({}, { tier, print: (b) => printed += decoder.decode(b) });
  return { exitCode: instance.run(), printed };
}

const PRINTF = `9007199254740993 / 1000003 = 9007172233 remainder 224294
3037000499^2 = 9223372030926249001 = 0x7ffffffe9ea1dc29
INT64_MIN = -9223372036854775808, UINT64_MAX = 18446744073709551615
[   42] [42   ] [00042] [+42] [ff] [10] [r] [box]
pi = 3.141593 = 3.141592653589793 = 3.141593e+00
sqrt(2) = 1.4142135624, exp(1) = 2.7182818285, sin(pi/6) = 0.500000
1/3 as float = 0.333333343, as double = 0.3333333333333333
Avogadro = 6.02214e+23, 6.022e+23; pow(2, 0.5) = 0x1.6a09e667f3bcdp+0
floor(-2.5) = -3.0, round(2.5) = 3.0, fmod(10, 3) = 1.0
snprintf: -003.142|1.23e+04|
longjmp from 10 calls deep: 7
sum of cubes below 1000 = 249500250000; heap string of 11 bytes
all checks passed
`;

const JSON_OUTPUT =
  `22 values: {"store":{"name":"Café \\"rvbox\\" 😀","open":true,"books":[{"title":"SICP","price":45.5,"year":1985},{"title":"K&R","price":30,"year":1978,"tags":["c","classic"]},{"title":"TAOCP","price":199.99,"year":1968}],"ratio":-0.00125,"owner":null}}
store.name = "Café \\"rvbox\\" 😀"
store.books[1].tags[1] = "classic"
store.books[2].price = 199.99
store.books[0] = {"title":"SICP","price":45.5,"year":1985}
store.ratio = -0.00125
store.missing = (none)
total price 275.49, mean year 1977.0
[1, 2,]        -> error at offset 6: unexpected character
{"a" 1}        -> error at offset 5: expected ':'
"\\x"           -> error at offset 3: bad string
01             -> error at offset 1: trailing characters
[1e]           -> error at offset 1: bad number
{"a": tru}     -> error at offset 6: unexpected character
["\\ud800"]     -> error at offset 8: bad string
[] []          -> error at offset 3: trailing characters
200 x '['      -> error at offset 65: nested too deeply
`;

const RECORDS = `line 5: bad id
line 8: population out of range
by density:
   42 Paris       2102650  105 km2  20025/km2
   31 Lyon         522250   48 km2  10880/km2
   15 Lille        236710   35 km2   6763/km2
    5 Nantes       323204   65 km2   4972/km2
    7 Nice         348085   72 km2   4834/km2
   99 Toulouse     504078  118 km2   4271/km2
    8 Marseille    873076  240 km2   3637/km2
    3 Brest        139342   49 km2   2843/km2
by name:
    3 Brest        139342   49 km2   2843/km2
   15 Lille        236710   35 km2   6763/km2
   31 Lyon         522250   48 km2  10880/km2
    8 Marseille    873076  240 km2   3637/km2
    5 Nantes       323204   65 km2   4972/km2
    7 Nice         348085   72 km2   4834/km2
   42 Paris       2102650  105 km2  20025/km2
   99 Toulouse     504078  118 km2   4271/km2
bsearch Nice: id 7
bsearch Brest: id 3
bsearch Rennes: not found
id 3: Brest
id 5: Nantes
id 7: Nice
id 8: Marseille
id 15: Lille
id 31: Lyon
id 42: Paris
8 records, 5049395 people; strtol("-0x7fffffff", 16) = -2147483647, LONG_MAX = 2147483647
`;

const EXPECTED: Record<string, string> = { printf: PRINTF, json: JSON_OUTPUT, records: RECORDS };

for (const isa of ISAS) {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    tierTest(`example ${name} (${isa}, C library): exact output`, (tier) => {
      const result = run(load(name, isa), tier);
      assertEquals(result.printed, expected);
      assertEquals(result.exitCode, 0);
    });
  }

  tierTest(`example json (${isa}): the host's JSON through exports, errno and all`, (tier) => {
    let printed = "";
    const instance = load("json", isa).instantiate({}, {
      tier,
      print: (b) => printed += decoder.decode(b),
    });
    const format = (text: string) => {
      const bytes = new TextEncoder().encode(text);
      const buffer = instance.exports.json_buffer(bytes.length);
      assertGreater(buffer, 0);
      instance.memory.write(buffer, bytes);
      return instance.exports.json_format(bytes.length) | 0;
    };
    // No run() first: the exports set up the thread pointer themselves (strtod sets errno).
    assertEquals(format('{"x": [1.5e300, 1e999, -0, "\\u00fc"], "y": {}}'), 7);
    assertEquals(format("[1, 2"), -6);
    assertEquals(
      printed,
      '{"x":[1.5e+300,inf,-0,"\u00fc"],"y":{}}\nerror at offset 5: expected \',\' or \']\'\n',
    );
  });
}

Deno.test("program.symbols: functions, data and export entries of an unstripped guest", () => {
  const program = load("json", "rv32em");
  const main = program.symbol("main")!;
  assertEquals([main.kind, main.global], ["function", true]);
  assertGreater(main.size, 100);
  const entry = program.symbol("__rvbox_export_json_format")!;
  assertEquals(entry.kind, "function");
  assertEquals(program.symbol("document")?.kind, "object");
  assertEquals(program.symbol("no_such_symbol"), undefined);
  const symbols = program.symbols;
  assertEquals(
    symbols,
    [...symbols].sort((a, b) => a.address - b.address || (a.name < b.name ? -1 : 1)),
  );
  // The stripped examples and every blob have none.
  assertEquals(load("fib", "rv32em").symbols, []);
  assertEquals(
    Program.fromBytes(linkProgram(Deno.readFileSync(
      new URL("examples/json/json.rv32em.elf", root),
    ))).symbols,
    [],
  );
  // Returned objects are copies.
  main.address = 0;
  assertEquals(program.symbol("main")!.address > 0, true);
});

Deno.test("CLI disasm and --trace name functions from the symbols", async () => {
  const cli = async (...args: string[]) => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "cli.ts", ...args],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
  };
  const disasm = await cli("disasm", "examples/records/records.rv32imac.elf");
  assertEquals(disasm.code, 0, disasm.stderr);
  assertMatch(disasm.stdout, /\n[0-9a-f]{8} <main>:\n/);
  assertMatch(disasm.stdout, /jal ra, 0x[0-9a-f]+ <qsort>/);
  const trace = await cli(
    "run",
    "examples/records/records.rv32imac.elf",
    "--trace",
    "--gas",
    "2000",
  );
  assertEquals(trace.code, 3, trace.stderr);
  assertMatch(trace.stderr, /^00010000 <_start>:$/m);
  assertMatch(trace.stderr, /^[0-9a-f]{8} <main>:$/m);
});

/** The json example with `patch` applied to its `.symtab` section header (offset of the header given). */
function patchedSymtab(patch: (view: DataView, header: number, bytes: Uint8Array) => void) {
  const bytes = Deno.readFileSync(new URL("examples/json/json.rv32em.elf", root));
  const view = new DataView(bytes.buffer);
  const shoff = view.getUint32(32, true), shnum = view.getUint16(48, true);
  for (let i = 0; i < shnum; i++) {
    const header = shoff + 40 * i;
    if (view.getUint32(header + 4, true) === 2) { // SHT_SYMTAB
      patch(view, header, bytes);
      return bytes;
    }
  }
  throw new Error("no symbol table");
}

Deno.test("a malformed symbol table is a ProgramError", () => {
  const cases: [string, Uint8Array, string][] = [
    [
      "size",
      patchedSymtab((v, h) => v.setUint32(h + 20, v.getUint32(h + 20, true) - 3, true)),
      "multiple of 16",
    ],
    ["string table index", patchedSymtab((v, h) => v.setUint32(h + 24, 999, true)), "out of range"],
    ["no string table", patchedSymtab((v, h) => v.setUint32(h + 24, 0, true)), "out of range"],
    ["outside the file", patchedSymtab((v, h) => v.setUint32(h + 16, 0x7ffffff0, true)), "outside"],
    [
      "name outside its table",
      patchedSymtab((v, h) => v.setUint32(v.getUint32(h + 16, true) + 16, 0xfffffff, true)),
      "name outside",
    ],
  ];
  for (const [name, bytes, message] of cases) {
    assertThrows(() => Program.fromBytes(bytes), ProgramError, message, name);
  }
});
