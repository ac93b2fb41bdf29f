/**
 * The process that runs cases for the supervisor (fuzz/supervise.ts), so a
 * crash or hang of the library takes only this process down. It speaks in
 * lines on standard output:
 *
 * - `case <index> <units>` before each case runs (the watchdog's heartbeat),
 * - `step` before each reduction attempt (also a heartbeat),
 * - `found <report>` when a case fails (JSON, unreduced), then
 *   `failure <report>` once it is reduced (JSON),
 * - `again <report>` for a failure whose every line was seen before (not
 *   reduced; with `--keep-going`),
 * - `describe <report>` for `--describe` (nothing runs),
 * - `done` when the range is through.
 *
 * Without `--keep-going` it exits with status 1 after the first failure.
 * Options: `--campaign NAME --seed N --from N --cases N [--keep RANGES]
 * [--no-reduce] [--describe] [--keep-going] [--known GISTS]
 * [--reduce-seconds N] [--slow-ms N]`.
 * @module
 */
import { intArg, parseArgs } from "./args.ts";
import { checkCase, DEFAULT_LIMITS, type Limits } from "./campaign.ts";
import { campaignNamed } from "./campaigns.ts";
import { caseSeed } from "./random.ts";
import { parseKept, reduceCase } from "./reduce.ts";
import { makeReport } from "./report.ts";

const encoder = new TextEncoder();
/** Unbuffered, so the supervisor sees the last case even if this process then dies. */
function say(line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (let n = 0; n < bytes.length;) n += Deno.stdout.writeSync(bytes.subarray(n));
}

const args = parseArgs(
  Deno.args,
  ["campaign", "seed", "from", "cases", "keep", "known", "reduce-seconds", "slow-ms"],
  ["no-reduce", "describe", "keep-going"],
);
const campaign = campaignNamed(String(args.campaign));
const seed = intArg(args, "seed", 1);
const from = intArg(args, "from", 0);
const count = intArg(args, "cases", 1);
const limits: Limits = {
  ...DEFAULT_LIMITS,
  slowMs: intArg(args, "slow-ms", DEFAULT_LIMITS.slowMs),
};
const known = new Set(typeof args.known === "string" ? args.known.split(",") : []);

for (let index = from; index < from + count; index++) {
  const whole = campaign.generate(caseSeed(seed, index));
  const units = campaign.units(whole);
  const kept = typeof args.keep === "string"
    ? parseKept(args.keep, units)
    : new Array<boolean>(units).fill(true);
  const c = campaign.restrict(whole, kept);
  if (args.describe) {
    const report = makeReport(campaign, seed, index, c, { kind: "crash", message: "" }, kept);
    say(`describe ${JSON.stringify(report)}`);
    continue;
  }
  say(`case ${index} ${units}`);
  const failure = checkCase(campaign, c, limits);
  if (!failure) continue;
  const report = makeReport(campaign, seed, index, c, failure, kept);
  if (report.gists.every((g) => known.has(g))) {
    say(`again ${JSON.stringify(report)}`);
    continue;
  }
  for (const g of report.gists) known.add(g);
  say(`found ${JSON.stringify(report)}`);
  if (args["no-reduce"]) Deno.exit(1);
  const reduced = await reduceCase(campaign, whole, failure, {
    limits,
    deadline: Date.now() + 1000 * intArg(args, "reduce-seconds", 120),
    initial: kept,
    onStep: () => say("step"),
  });
  say(
    `failure ${
      JSON.stringify(makeReport(campaign, seed, index, reduced.case, reduced.failure, reduced.kept))
    }`,
  );
  if (!args["keep-going"]) Deno.exit(1);
}
say("done");
