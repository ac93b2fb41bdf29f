/**
 * `deno task fuzz`: runs the campaigns (fuzz/README.md), each in a supervised
 * child process, all at once; prints progress with the command that resumes
 * where it stands; stops at the first failure (or, with `--keep-going`,
 * records it and goes on) and saves a reduced repro.
 *
 * Options: `--campaign a,b` (default all), `--seed N` (1), `--from N` or
 * `--from name=N,...` (0), `--cases N` (1000 per campaign) or `--to N`,
 * `--minutes M`, `--timeout S` (watchdog, 60), `--slow-ms N` (10000),
 * `--reduce-seconds S` (120), `--keep RANGES`, `--keep-going`, `--out DIR`
 * (tmp/fuzz).
 * @module
 */
import { type Args, intArg, parseArgs } from "./args.ts";
import { signature } from "./campaign.ts";
import { campaignNamed, CAMPAIGNS } from "./campaigns.ts";
import { formatReport, type Report, saveReport } from "./report.ts";
import { supervise } from "./supervise.ts";

const args = parseArgs(
  Deno.args,
  [
    "campaign",
    "seed",
    "from",
    "cases",
    "to",
    "minutes",
    "timeout",
    "slow-ms",
    "reduce-seconds",
    "keep",
    "out",
  ],
  ["keep-going"],
);
const names = typeof args.campaign === "string" ? args.campaign.split(",") : Object.keys(CAMPAIGNS);
names.forEach(campaignNamed); // unknown names fail here, before anything runs
const seed = intArg(args, "seed", 1);
const starts = parseFrom(args, names);
const ends = new Map(names.map((n) => {
  const to = args.to !== undefined
    ? intArg(args, "to", 0)
    : starts.get(n)! + intArg(args, "cases", 1000);
  return [n, to];
}));
const out = typeof args.out === "string" ? args.out : "tmp/fuzz";
const minutes = intArg(args, "minutes", 0);
const keepGoing = args["keep-going"] === true;

/** `--from 5` (every campaign) or `--from programs=5,elf=7` (others start at 0). */
function parseFrom(args: Args, names: string[]): Map<string, number> {
  const from = new Map(names.map((n) => [n, 0]));
  const text = args.from;
  if (text === undefined) return from;
  if (typeof text === "string" && text.includes("=")) {
    for (const part of text.split(",")) {
      const [name, value] = part.split("=");
      campaignNamed(name);
      if (from.has(name)) from.set(name, intArg({ from: value }, "from", 0));
    }
  } else for (const n of names) from.set(n, intArg(args, "from", 0));
  return from;
}

const next = new Map(starts);
const started = Date.now();
/** When each campaign finished (its rate stops there). */
const finished = new Map<string, number>();
const stop = new AbortController();
const failures: Report[] = [];

function resumeCommand(): string {
  const from = names.map((n) => `${n}=${next.get(n)}`).join(",");
  const to = new Set(ends.values()).size === 1 ? ` --to ${ends.get(names[0])}` : "";
  return `deno task fuzz --campaign ${names.join(",")} --seed ${seed} --from ${from}${to}`
    + (keepGoing ? " --keep-going" : "");
}

function progress(): void {
  const seconds = (Date.now() - started) / 1000;
  const parts = names.map((n) => {
    const done = next.get(n)! - starts.get(n)!;
    const ran = ((finished.get(n) ?? Date.now()) - started) / 1000;
    return `${n} ${next.get(n)}/${ends.get(n)} (${(done / Math.max(ran, 1e-3)).toFixed(0)}/s)`;
  });
  console.log(
    `[${Math.round(seconds)} s] ${
      parts.join(" | ")
    } | ${failures.length} failures\n  resume: ${resumeCommand()}`,
  );
}

const ticker = setInterval(progress, 10_000);
Deno.addSignalListener("SIGINT", () => stop.abort());
if (minutes) setTimeout(() => stop.abort(), minutes * 60_000);

await Promise.all(names.map((name) =>
  supervise({
    campaign: name,
    seed,
    from: starts.get(name)!,
    cases: ends.get(name)! - starts.get(name)!,
    timeoutMs: 1000 * intArg(args, "timeout", 60),
    reduceSeconds: intArg(args, "reduce-seconds", 120),
    slowMs: intArg(args, "slow-ms", 10_000),
    keep: typeof args.keep === "string" ? args.keep : undefined,
    keepGoing,
    signal: stop.signal,
    onProgress: (n) => next.set(name, n),
    onFailure: (report, repeat) => {
      failures.push(report);
      if (repeat) {
        console.log(
          `again: ${report.kind} in ${name} case ${report.index} (signature ${
            signature(report.gists)
          }): ${report.message.split("\n")[0].slice(0, 160)}`,
        );
      } else {
        const paths = saveReport(report, out);
        console.log(`\n${formatReport(report)}\nsaved: ${paths.join(" ")}\n`);
      }
      if (!keepGoing) stop.abort();
    },
  }).then((result) => {
    next.set(name, result.next);
    finished.set(name, Date.now());
  })
));
clearInterval(ticker);
progress();
const summary = names.map((n) => `${next.get(n)! - starts.get(n)!} ${campaignNamed(n).noun}`);
console.log(
  `ran ${summary.join(", ")} in ${Math.round((Date.now() - started) / 1000)} s; ${
    failures.length ? `${failures.length} failure(s), reports in ${out}/` : "no failure"
  }`,
);
Deno.exit(failures.length ? 1 : 0);
