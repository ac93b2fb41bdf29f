/**
 * The ELF mutation campaign: real programs (examples, benchmark guests) and
 * generated ones, mutated one to a few times (fuzz/elf/mutate.ts), must load
 * or be rejected cleanly and then run cleanly on every tier
 * (fuzz/elf/check.ts).
 * @module
 */
import type { Campaign } from "../campaign.ts";
import { programElf } from "../programs/check.ts";
import { generateProgram } from "../programs/generate.ts";
import { seeded } from "../random.ts";
import { checkElf } from "./check.ts";
import { applyMutations, type Mutation, randomMutation } from "./mutate.ts";

/** One case: a base file, the mutations, and the gas each call gets. */
export interface ElfCase {
  /** A path under the repository, or `generated <seed>`. */
  base: string;
  mutations: Mutation[];
  gas: number;
}

const ROOT = new URL("../../", import.meta.url);
let realFiles: string[] | undefined;

/** The committed ELF files of the examples and benchmark guests, sorted. */
export function realBases(): string[] {
  return realFiles ??= ["examples", "bench/guests"].flatMap((dir) => {
    const found: string[] = [];
    const walk = (path: string) => {
      for (const entry of Deno.readDirSync(new URL(path, ROOT))) {
        if (entry.isDirectory) walk(`${path}/${entry.name}`);
        else if (entry.name.endsWith(".elf")) found.push(`${path}/${entry.name}`);
      }
    };
    walk(dir);
    return found;
  }).sort();
}

const cache = new Map<string, Uint8Array>();

/** The bytes of a base file. */
export function baseBytes(base: string): Uint8Array {
  let bytes = cache.get(base);
  if (!bytes) {
    bytes = base.startsWith("generated ")
      ? programElf(generateProgram(Number(base.slice(10))))
      : Deno.readFileSync(new URL(base, ROOT));
    if (!base.startsWith("generated ")) cache.set(base, bytes);
  }
  return bytes;
}

/** The case for `seed`. */
export function generateElfCase(seed: number): ElfCase {
  const rnd = seeded(seed);
  const real = realBases();
  const base = real.length && rnd.chance(0.6) ? rnd.pick(real) : `generated ${rnd.int(2 ** 31)}`;
  let bytes = baseBytes(base);
  const mutations: Mutation[] = [];
  for (let n = rnd.chance(0.1) ? 4 + rnd.int(5) : 1 + rnd.int(3); n > 0; n--) {
    const m = randomMutation(rnd, bytes);
    mutations.push(m);
    bytes = applyMutations(bytes, [m]);
  }
  return {
    base,
    mutations,
    gas: rnd.chance(0.05) ? (1 << 22) + 1000 : rnd.pick([10_000, 200_000]),
  };
}

const hex = (n: number) => "0x" + (n >>> 0).toString(16);

/** The mutation campaign. */
export const elfCampaign: Campaign<ElfCase> = {
  name: "elf",
  noun: "files",
  generate: generateElfCase,
  check: (c) => checkElf(applyMutations(baseBytes(c.base), c.mutations), c.gas),
  units: (c) => c.mutations.length,
  restrict: (c, kept) => ({ ...c, mutations: c.mutations.filter((_, k) => kept[k]) }),
  describe(c) {
    const size = baseBytes(c.base).length;
    return [
      `base ${c.base} (${size} bytes), gas ${c.gas} per call, mutations in order:`,
      ...c.mutations.map((m) => {
        switch (m.op) {
          case "truncate":
            return `  truncate to ${m.length} bytes`;
          case "copy":
            return `  copy ${m.length} bytes from ${hex(m.from)} to ${hex(m.to)} (${m.what})`;
          default:
            return `  ${m.op} at ${hex(m.at)} = ${hex(m.value)} (${m.what})`;
        }
      }),
    ].join("\n");
  },
  artifacts: (c) => ({ ".elf": applyMutations(baseBytes(c.base), c.mutations) }),
};
