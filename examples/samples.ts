/**
 * `deno task samples [--check]`: writes `samples.ts` (the `./samples`
 * export), which embeds small example guests as `.rvbox` blobs so that
 * rvbox's documentation examples run from `jsr:` with no file at hand.
 * `--check` exits 1 when the committed module differs from what the
 * committed ELF files link to (the tests check it too).
 * @module
 */
import { linkProgram } from "../mod.ts";

/** The embedded guests: export name, ELF file, and what the doc comment says of it. */
const SAMPLES = [
  {
    name: "hello",
    file: "examples/hello/hello.rv32em.elf",
    doc: "Imports `host_log(ptr, len)`, logs a greeting through it and exits with 0 (`run()`).",
  },
  {
    name: "fib",
    file: "examples/fib/fib.rv32em.elf",
    doc: "Exports `fib(n)` (the n-th Fibonacci number mod 2^32) and `fib64(n)` (as a 64-bit value).",
  },
  {
    name: "kvstore",
    file: "examples/kvstore/kvstore.rv32em.elf",
    doc: "A token ledger whose state lives in host storage: imports `storage_get`, `storage_set` and `caller_input`; exports `init(owner, supply)`, `transfer(from, to, amount)`, `balance_of(account)` and more (see examples/kvstore/kvstore.c).",
  },
] as const;

const ROOT = new URL("../", import.meta.url);

/** `bytes` in base64 (btoa over a binary string: no Node API, so the tests run in browsers too). */
const base64 = (bytes: Uint8Array) => btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
const OUTPUT = new URL("samples.ts", ROOT);

/** The text of samples.ts, from the committed ELF files. */
export async function samplesModule(): Promise<string> {
  const parts = [
    `/**
 * Small guest programs embedded in the package (RV32E, as \`.rvbox\` blobs of
 * a few kilobytes), so that examples run anywhere rvbox is imported from,
 * \`jsr:\` included, without files. Built from \`examples/\` by
 * \`deno task samples\`: do not edit.
 *
 * @example
 * \`\`\`ts
 * import { Program } from "@rvbox/rvbox";
 * import { fib } from "@rvbox/rvbox/samples";
 *
 * const instance = Program.fromBytes(fib).instantiate();
 * console.log(instance.exports.fib(20)); // 6765
 * \`\`\`
 * @module
 */
`,
    `/** Decodes an embedded blob (atob: in every runtime rvbox supports). */
function decode(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
`,
  ];
  for (const { name, file, doc } of SAMPLES) {
    const blob = linkProgram(await Deno.readFile(new URL(file, ROOT)));
    parts.push(`/** ${doc} Built from ${file}. */
export const ${name}: Uint8Array = decode(
  "${base64(blob)}",
);
`);
  }
  return parts.join("\n");
}

if (import.meta.main) {
  const text = await samplesModule();
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readTextFile(OUTPUT).catch(() => "");
    if (committed !== text) {
      console.error("samples.ts is out of date: run `deno task samples`");
      Deno.exit(1);
    }
    console.log("samples.ts is up to date");
  } else {
    await Deno.writeTextFile(OUTPUT, text);
    console.log(`wrote samples.ts (${text.length} bytes)`);
  }
}
