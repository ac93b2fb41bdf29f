/**
 * Hostile ELF files, CI's share of the mutation campaign (`deno task fuzz`,
 * fuzz/README.md): seeded structured mutations of the example and benchmark
 * programs and of generated ones must load or fail with ProgramError — never
 * another exception or a huge allocation — and whatever loads must
 * instantiate (or fail with LinkError/RangeError) and run into a result or a
 * Trap, the same on every tier. `RVBOX_FUZZ_CASES` sets the number of files
 * (default 800).
 */
import { elfCampaign } from "../fuzz/elf/mod.ts";
import { runShare } from "../fuzz/share.ts";
import { envVar } from "./_tiers.ts";

const CASES = Number(envVar("RVBOX_FUZZ_CASES") ?? 800);

Deno.test(`hostile ELF: ${CASES} mutated files load or give ProgramError, and run cleanly`, async () => {
  const failure = await runShare(elfCampaign, CASES);
  if (failure) throw new Error(failure);
});
