/**
 * Differential fuzzing, CI's share (the long campaign is `deno task fuzz`,
 * fuzz/README.md): seeded random programs over all of RV32IMAC, in several
 * memory layouts, run on every tier; each call's outcome (result or trap
 * kind, pc, address, access, registers), the gas left, what the host
 * function saw and a digest of memory must match the interpreter's, and
 * single-access probes must agree with the memory model of abi/README.md.
 *
 * `RVBOX_FUZZ_CASES` sets the number of programs (default 200). A failure
 * prints the seed, the case and the program reduced to what matters.
 */
import { programsCampaign } from "../fuzz/programs/mod.ts";
import { runShare } from "../fuzz/share.ts";
import { envVar, TIERS } from "./_tiers.ts";

const CASES = Number(envVar("RVBOX_FUZZ_CASES") ?? 200);

Deno.test(`differential: ${CASES} random programs behave the same on every tier`, async () => {
  if (TIERS.length < 2) {
    console.warn("no native tier here: the interpreter's two loops are compared, and the model");
  }
  const failure = await runShare(programsCampaign, CASES);
  if (failure) throw new Error(failure);
});
