/**
 * Hostile ELF files: seeded random corruptions of real programs must either
 * load or fail with ProgramError — never another exception, a hang or a huge
 * allocation — and whatever loads must run into a result or a Trap.
 * `RVBOX_FUZZ_CASES` raises the number of cases.
 */
import { assert, assertInstanceOf } from "@std/assert";
import { LinkError, Program, ProgramError, Trap } from "../mod.ts";
import { mulberry32 } from "./_random.ts";
import { envVar, TIERS } from "./_tiers.ts";

const CASES = Number(envVar("RVBOX_FUZZ_CASES") ?? 3000);
const seeds = ["hello", "kvstore", "fib"].map((name) =>
  Deno.readFileSync(new URL(`../examples/${name}/${name}.rv32em.elf`, import.meta.url))
);

const EXTREMES = [
  0,
  1,
  0x7f,
  0x80,
  0xff,
  0xffff,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  0xfffff000,
  0x1000,
];

/** One corruption: a header field, a random byte run, or truncation. */
function mutate(bytes: Uint8Array, rnd: () => number): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)];
  const headerEnd = Math.min(out.length, 52 + 32 * 8);
  const shoff = view.getUint32(32, true);
  switch (Math.floor(rnd() * 5)) {
    case 0: // a 32-bit field in the ELF or program headers
      view.setUint32(Math.floor(rnd() * (headerEnd - 4)) & ~3, pick(EXTREMES), true);
      break;
    case 1: // a 32-bit field in the section headers
      if (shoff + 4 < out.length) {
        const at = shoff + Math.floor(rnd() * (out.length - shoff - 4));
        view.setUint32(at & ~3, pick(EXTREMES), true);
      }
      break;
    case 2: // random bytes anywhere, code included
      for (let n = 1 + Math.floor(rnd() * 16); n > 0; n--) {
        out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
      }
      break;
    case 3: // truncation
      return out.subarray(0, Math.floor(rnd() * out.length));
    default: // a 16-bit field (counts, sizes, indices)
      view.setUint16(Math.floor(rnd() * 26) * 2, pick(EXTREMES) & 0xffff, true);
  }
  return out;
}

Deno.test(`hostile ELF: ${CASES} seeded corruptions load or give ProgramError`, () => {
  let loaded = 0;
  let rejected = 0;
  for (let i = 0; i < CASES; i++) {
    const rnd = mulberry32(i);
    const bytes = mutate(seeds[i % seeds.length], rnd);
    let program: Program;
    try {
      program = Program.fromBytes(bytes);
    } catch (e) {
      assertInstanceOf(e, ProgramError, `case ${i}: ${e}`);
      rejected++;
      continue;
    }
    loaded++;
    const imports = Object.fromEntries(
      program.imports.filter((n) => !n.startsWith("rvbox_")).map((n) => [n, () => 0]),
    );
    for (const tier of TIERS) {
      try {
        program.instantiate(imports, { tier, gas: 100_000, print: () => {} }).run();
      } catch (e) {
        assert(
          e instanceof Trap || e instanceof LinkError || e instanceof RangeError,
          `case ${i}: ${e}`,
        );
      }
    }
  }
  console.log(`hostile ELF: ${CASES} cases, ${loaded} loaded and ran, ${rejected} rejected`);
  assert(
    rejected > CASES / 10 && loaded > CASES / 10,
    "the corruptions should exercise both paths",
  );
});
