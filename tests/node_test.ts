/**
 * The portable bundle under Node and Bun: reading program files through
 * `node:fs` with the same limits, a guest's output written to standard
 * output as it comes (not a line per chunk), and the same results and gas
 * as under Deno. Node is the system's; Bun comes from npm with the dev
 * tools (.ci/tools).
 */
import { assertEquals } from "@std/assert";
import { Program } from "../portable.ts";
import { fingerprint } from "./_fingerprint.js";
import { envVar } from "./_tiers.ts";

const has = async (command: string) => {
  try {
    return (await new Deno.Command(command, { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
};
const BUN = new URL("../.ci/tools/node_modules/.bin/bun", import.meta.url).pathname;
const RUNTIMES = [
  { name: "Node", command: "node", args: ["--no-warnings", "--input-type=module", "-e"] },
  { name: "Bun", command: (await has("bun")) ? "bun" : BUN, args: ["--no-install", "-e"] }, // no auto-install of koffi
];

const BUNDLE = new URL("../dist/portable.min.js", import.meta.url).href;
const FULL = new URL("../dist/rvbox.min.js", import.meta.url).href;
const FIB = new URL("../examples/fib/fib.rv32imac.elf", import.meta.url);

/** Loads fib from its file, calls an export, runs it, and tries a directory and an endless file. */
const SCRIPT = `
  const { Program, ProgramError } = await import(${JSON.stringify(BUNDLE)});
  const program = await Program.fromFile(new URL(${JSON.stringify(FIB.href)}));
  const instance = program.instantiate({}, { gas: 1e9 });
  const fib20 = instance.exports.fib(20);
  const code = instance.run(); // prints with the default sink
  const errors = [];
  for (const [path, options] of [["/tmp", {}], ["/dev/zero", { maxFileSize: 1000 }]]) {
    try { await Program.fromFile(path, options); errors.push("loaded"); }
    catch (e) { errors.push(e instanceof ProgramError ? "ProgramError" : e.code); }
  }
  // The full bundle imports here too; without koffi (none is installed where this runs),
  // "auto" runs the wasm tier (at once, with tierUp: 0) and says why.
  const full = await import(${JSON.stringify(FULL)});
  const auto = full.Program.fromBytes(await (await import("node:fs/promises")).readFile(
    new URL(${JSON.stringify(FIB.href)}))).instantiate({}, { gas: 1e9, tierUp: 0 });
  const reason = auto.tierReason;
  const fullTier = [auto.exports.fib(20), auto.tier, reason.split(":")[0], reason.split("; ")[1]];
  process.stderr.write(JSON.stringify({ fib20, code, gas: instance.gas, tier: instance.tier, errors, fullTier }));
`;

/** What `script` reports on standard error, as JSON, and its standard output. */
async function run(
  runtime: typeof RUNTIMES[number],
  script: string,
): Promise<{ report: Record<string, unknown>; stdout: string; }> {
  const out = await new Deno.Command(runtime.command, {
    args: [...runtime.args, script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  // The report is the last line: a runtime may warn on standard error before it.
  const report = JSON.parse(stderr.trim().split("\n").pop()!);
  return { report, stdout: new TextDecoder().decode(out.stdout) };
}

for (const runtime of RUNTIMES) {
  Deno.test({
    name: `${runtime.name}: the portable bundle reads files, runs guests and prints like Deno`,
    ignore: !(await has(runtime.command)) && envVar("RVBOX_REQUIRE_TOOLS") !== "1",
    async fn() {
      const { report, stdout } = await run(runtime, SCRIPT);
      const deno = (await Program.fromFile(FIB)).instantiate({}, { gas: 1e9, print: () => {} });
      const fib20 = deno.exports.fib(20);
      const code = deno.run();
      assertEquals(report, {
        fib20,
        code,
        gas: deno.gas,
        tier: "interpreter",
        errors: ["EISDIR", "ProgramError"],
        fullTier: [
          fib20,
          "wasm",
          "the native tier needs koffi under Node (npm install koffi)",
          "WebAssembly is available",
        ],
      });
      assertEquals(stdout, "fib(32) = 2178309\n"); // one write per guest print, no added newlines
    },
  });
}

const KVSTORE = new URL("../examples/kvstore/kvstore.rv32em.elf", import.meta.url);
const FINGERPRINT = new URL("./_fingerprint.js", import.meta.url).href;

for (const runtime of RUNTIMES) {
  Deno.test({
    name:
      `${runtime.name}: one guest gives the same results, trap, registers, memory and gas as Deno`,
    ignore: !(await has(runtime.command)) && envVar("RVBOX_REQUIRE_TOOLS") !== "1",
    async fn() {
      const script = `
        const { Program } = await import(${JSON.stringify(BUNDLE)});
        const { fingerprint } = await import(${JSON.stringify(FINGERPRINT)});
        const { readFile } = await import("node:fs/promises");
        const bytes = new Uint8Array(await readFile(new URL(${JSON.stringify(KVSTORE.href)})));
        process.stderr.write(JSON.stringify(fingerprint(Program, bytes)));
      `;
      const { report } = await run(runtime, script);
      assertEquals(report, fingerprint(Program, await Deno.readFile(KVSTORE)));
    },
  });
}
