/**
 * The supervisor: runs a campaign's cases in a child process (fuzz/child.ts)
 * under a watchdog, so a crash of the library (native code faulting) or a
 * hang (a loop that never ends) is caught, attributed to the case that was
 * running, and reduced by running variants of that case in fresh processes.
 * @module
 */
import { type Failure, gists } from "./campaign.ts";
import { formatKept, parseKept, reduceUnits } from "./reduce.ts";
import type { Report } from "./report.ts";

/** What to run and how patiently. */
export interface SuperviseOptions {
  campaign: string;
  seed: number;
  from: number;
  cases: number;
  /** Most milliseconds without a heartbeat (a case or reduction step) before a hang is declared. */
  timeoutMs: number;
  /** Most seconds spent reducing one failure. */
  reduceSeconds: number;
  /** Cases slower than this fail as "slow". */
  slowMs: number;
  /** Run only these units of each case (`--keep`). */
  keep?: string;
  /** After a failure, continue with the next case instead of stopping. */
  keepGoing: boolean;
  /** Hears the number of the next case to run (for progress and resuming). */
  onProgress?: (next: number) => void;
  /** Hears of each failure: reduced, or a repeat of a signature seen before. */
  onFailure?: (report: Report, repeat: boolean) => void;
  /** Stops the campaign (the current case is not finished: resume from `next`). */
  signal?: AbortSignal;
}

/** How a supervised campaign ended. */
export interface SuperviseResult {
  /** The first case not run to its end. */
  next: number;
  failures: Report[];
}

/** One child run: its lines, and how it ended. */
interface ChildRun {
  lines: string[];
  code: number;
  signal: string | null;
  timedOut: boolean;
  stderr: string;
}

const CHILD = new URL("./child.ts", import.meta.url).href;
const decoder = new TextDecoder();

/** Runs the child with `args`, killing it after `timeoutMs` without output. */
async function runChild(
  args: string[],
  timeoutMs: number,
  onLine: (line: string) => void = () => {},
  signal?: AbortSignal,
): Promise<ChildRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-read", "--allow-ffi", CHILD, ...args],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let beat = Date.now();
  let timedOut = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const watchdog = setInterval(() => {
    if (Date.now() - beat > timeoutMs) {
      timedOut = true;
      kill();
    }
  }, Math.min(1000, timeoutMs / 4));
  signal?.addEventListener("abort", kill);
  const lines: string[] = [];
  let stderr = "";
  const readErr = (async () => {
    for await (const chunk of child.stderr) stderr = (stderr + decoder.decode(chunk)).slice(-4000);
  })();
  let pending = "";
  for await (const chunk of child.stdout) {
    beat = Date.now();
    pending += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      lines.push(line);
      onLine(line);
    }
  }
  await readErr;
  const status = await child.status;
  clearInterval(watchdog);
  signal?.removeEventListener("abort", kill);
  return { lines, code: status.code, signal: status.signal, timedOut, stderr };
}

const baseArgs = (o: SuperviseOptions) => [
  "--campaign",
  o.campaign,
  "--seed",
  String(o.seed),
  "--reduce-seconds",
  String(o.reduceSeconds),
  "--slow-ms",
  String(o.slowMs),
];

/** Why a child ended without reporting: a hang, a crash, or nothing wrong. */
function abnormalEnd(run: ChildRun, timeoutMs: number): Failure | undefined {
  if (run.timedOut) {
    return {
      kind: "hang",
      message: `no progress for ${timeoutMs / 1000} s: the case never finished`,
    };
  }
  const reported = run.lines.some((l) =>
    l === "done" || l.startsWith("found ") || l.startsWith("failure ")
  );
  if (reported && run.signal === null) return undefined;
  const how = run.signal ? `was killed by ${run.signal}` : `exited with code ${run.code}`;
  const err = run.stderr.trim().split("\n").slice(-8).join("\n  ");
  return {
    kind: "crash",
    message: `the process ${how}${err ? `; its last output:\n  ${err}` : ""}`,
  };
}

/** Runs cases `from` .. `from + cases - 1` of a campaign; see {@linkcode SuperviseOptions}. */
export async function supervise(o: SuperviseOptions): Promise<SuperviseResult> {
  const failures: Report[] = [];
  const known = new Set<string>();
  const deliver = (report: Report, repeat: boolean) => {
    for (const g of report.gists) known.add(g);
    failures.push(report);
    o.onFailure?.(report, repeat);
  };
  const end = o.from + o.cases;
  let next = o.from;
  while (next < end && !o.signal?.aborted) {
    let current = next;
    let units = 0;
    let found: Report | undefined; // reported, not yet reduced
    const args = [...baseArgs(o), "--from", String(next), "--cases", String(end - next)];
    if (o.keep) args.push("--keep", o.keep);
    if (o.keepGoing) args.push("--keep-going");
    if (known.size) args.push("--known", [...known].join(","));
    const before = failures.length;
    const run = await runChild(args, o.timeoutMs, (line) => {
      const space = line.indexOf(" ");
      const word = space < 0 ? line : line.slice(0, space);
      const report = () => JSON.parse(line.slice(space + 1)) as Report;
      if (word === "case") {
        [current, units] = line.slice(space + 1).split(" ").map(Number);
        o.onProgress?.(current);
      } else if (word === "found") found = report();
      else if (word === "failure") {
        found = undefined;
        deliver(report(), false);
      } else if (word === "again") deliver(report(), true);
    }, o.signal);
    if (o.signal?.aborted) return { next: current, failures };
    const abnormal = abnormalEnd(run, o.timeoutMs);
    if (!abnormal) {
      next = failures.length > before && !o.keepGoing ? current + 1 : end;
      break;
    }
    if (found) {
      const what = abnormal.kind === "hang" ? "hung" : "crashed";
      deliver({ ...found, note: `(not reduced: a reduced variant ${what} the process)` }, false);
    } else {
      const repeat = gists(abnormal).every((g) => known.has(g));
      deliver(await reduceInProcesses(o, current, units, abnormal, repeat), repeat);
    }
    next = current + 1;
    o.onProgress?.(next);
    if (!o.keepGoing) break;
  }
  return { next, failures };
}

/**
 * Reduces a hang or crash of case `index`: each variant runs in a fresh
 * process, and counts as failing when it hangs or crashes the same way.
 */
async function reduceInProcesses(
  o: SuperviseOptions,
  index: number,
  units: number,
  failure: Failure,
  skip: boolean,
): Promise<Report> {
  const timeoutMs = Math.min(o.timeoutMs, 15_000);
  const one = (kept: readonly boolean[], extra: string[] = []) =>
    runChild(
      [
        ...baseArgs(o),
        "--from",
        String(index),
        "--cases",
        "1",
        "--keep",
        formatKept(kept),
        "--no-reduce",
        ...extra,
      ],
      timeoutMs,
    );
  const initial = o.keep ? parseKept(o.keep, units) : new Array<boolean>(units).fill(true);
  const deadline = skip ? 0 : Date.now() + 1000 * o.reduceSeconds;
  const kept = await reduceUnits(
    units,
    async (k) => abnormalEnd(await one(k), timeoutMs)?.kind === failure.kind,
    deadline,
    initial,
  );
  const described = await one(kept, ["--describe"]);
  const line = described.lines.find((l) => l.startsWith("describe "));
  const base: Report = line
    ? JSON.parse(line.slice("describe ".length))
    : {
      campaign: o.campaign,
      seed: o.seed,
      index,
      units,
      kept: formatKept(kept),
      listing: "(no description: the process failed)",
      artifacts: {},
    } as unknown as Report;
  const note = skip
    ? "(not reduced: a failure saying the same was reduced before)"
    : Date.now() > deadline
    ? "(reduction stopped at its time limit)"
    : undefined;
  return { ...base, kind: failure.kind, message: failure.message, gists: gists(failure), note };
}
