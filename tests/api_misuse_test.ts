/**
 * Host-API misuse, CI's share of the campaign (`deno task fuzz`,
 * fuzz/README.md): random sequences of API calls with bad arguments end in
 * results, Traps or the documented typed errors — never a wrapped address,
 * gas that is not a safe integer or a non-Error — the same on every tier.
 * `RVBOX_FUZZ_CASES` sets the number of sequences (default 500).
 */
import { apiCampaign } from "../fuzz/api/mod.ts";
import { runShare } from "../fuzz/share.ts";
import { envVar } from "./_tiers.ts";

const CASES = Number(envVar("RVBOX_FUZZ_CASES") ?? 500);

Deno.test(`API misuse: ${CASES} sequences give results, Traps or typed errors`, async () => {
  const failure = await runShare(apiCampaign, CASES);
  if (failure) throw new Error(failure);
});
