/**
 * The share of a campaign that `deno task test` runs: a fixed seed and a
 * small number of cases, in the test's own process (CI's AArch64 run cannot
 * start child processes), reduced and reported like `deno task fuzz` does.
 * @module
 */
import { type Campaign, DEFAULT_LIMITS, type Limits, runCases } from "./campaign.ts";
import { reduceCase } from "./reduce.ts";
import { formatReport, makeReport } from "./report.ts";

/** The seed of every CI share: the same cases on every run and machine. */
export const SHARE_SEED = 1;

/**
 * A looser time cap than the campaign's: CI also runs the share under
 * qemu-aarch64, where every case takes about 20 times as long.
 */
const SHARE_LIMITS: Limits = { ...DEFAULT_LIMITS, slowMs: 60_000 };

/**
 * Runs cases 0 .. `cases` - 1 of `campaign`; returns the reduced report of the
 * first failure (as text), or undefined when every case passes.
 */
export async function runShare<C>(
  campaign: Campaign<C>,
  cases: number,
): Promise<string | undefined> {
  const found = runCases(campaign, SHARE_SEED, 0, cases, undefined, SHARE_LIMITS);
  if (!found) return undefined;
  const reduced = await reduceCase(campaign, found.case, found.failure, {
    limits: SHARE_LIMITS,
    deadline: Date.now() + 30_000,
  });
  const { index } = found;
  const report = makeReport(
    campaign,
    SHARE_SEED,
    index,
    reduced.case,
    reduced.failure,
    reduced.kept,
  );
  return formatReport(report);
}
