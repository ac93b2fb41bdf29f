/**
 * What every campaign provides, and the in-process loop that runs its cases.
 * A case is generated from a seed alone; it is a list of units (instructions,
 * mutations, API calls) that the reducer may drop one by one while the
 * failure persists.
 * @module
 */
import { caseSeed } from "./random.ts";

/** Kinds of failure, from the worst. */
export type FailureKind =
  | "crash" // the process died
  | "hang" // no progress within the watchdog's time
  | "divergence" // tiers disagree
  | "contract" // every tier agrees, but not with the machine contract
  | "error" // an exception of the wrong type, or no message
  | "slow" // one case took over the time cap
  | "memory"; // one case allocated over the memory cap

/** Why a case fails. */
export interface Failure {
  kind: FailureKind;
  /** One paragraph: what was expected and what happened. */
  message: string;
}

/** A campaign: a generator of cases and the check every case must pass. */
export interface Campaign<C> {
  /** Name on the command line. */
  readonly name: string;
  /** What one case is, plural ("programs", "files", "sequences"). */
  readonly noun: string;
  /** The case for `seed` (deterministic). */
  generate(seed: number): C;
  /** Runs the case on every tier; a failure, or undefined when it behaves. */
  check(c: C): Failure | undefined;
  /** Number of units the reducer may drop. */
  units(c: C): number;
  /** The case with only the units where `kept` is true. */
  restrict(c: C, kept: readonly boolean[]): C;
  /** A readable listing: configuration and the units (disassembled where code). */
  describe(c: C): string;
  /** Files that reproduce the case (e.g. the ELF), by file name suffix. */
  artifacts(c: C): Record<string, Uint8Array>;
}

/** Limits every case is held to. */
export interface Limits {
  /** Most milliseconds one case may take. */
  slowMs: number;
  /** Most bytes the process may grow by (resident set) over one case. */
  memoryBytes: number;
}

/** Generous by design: a case normally takes milliseconds and a few MiB. */
export const DEFAULT_LIMITS: Limits = { slowMs: 10_000, memoryBytes: 512 << 20 };

/** Runs `check` under the time and memory caps; exceptions become failures. */
export function checkCase<C>(
  campaign: Campaign<C>,
  c: C,
  limits: Limits = DEFAULT_LIMITS,
): Failure | undefined {
  const rss = Deno.memoryUsage().rss;
  const started = performance.now();
  let failure: Failure | undefined;
  try {
    failure = campaign.check(c);
  } catch (error) {
    failure = { kind: "error", message: `the check itself threw: ${describeThrown(error)}` };
  }
  if (failure) return failure;
  const ms = performance.now() - started;
  if (ms > limits.slowMs) {
    return { kind: "slow", message: `took ${Math.round(ms)} ms (cap ${limits.slowMs} ms)` };
  }
  const grown = Deno.memoryUsage().rss - rss;
  if (grown > limits.memoryBytes) {
    return { kind: "memory", message: `the process grew by ${mib(grown)} over this case` };
  }
  return undefined;
}

/**
 * What a failure says, ignoring the details: one hash per line of the
 * message (the kind, then the line with every number and register dump
 * blanked). A failure all of whose lines were seen before is most likely a
 * bug already reported (`--keep-going` reduces only failures with a new line).
 */
export function gists(failure: Failure): string[] {
  return failure.message.split("\n").slice(0, 12).map((line) => {
    const gist = line.replace(/\[[^\]]*\]/g, "[]").replace(/\b\w*\d\w*\b/g, "#").trim();
    let h = 0x811c9dc5;
    for (const c of `${failure.kind} ${gist}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
    return (h >>> 0).toString(16).padStart(8, "0");
  });
}

/** One name for a failure's first three {@linkcode gists}, for reports. */
export function signature(gistList: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const c of gistList.slice(0, 3).join("")) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** `n` bytes in MiB, for messages. */
export function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** A thrown value as text: class and message, or its type for non-Errors. */
export function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `non-Error ${typeof error} ${String(error)}`;
}

/** The first failing case of a range, generated from its seed. */
export interface CaseFailure<C> {
  index: number;
  seed: number;
  case: C;
  failure: Failure;
}

/**
 * Runs cases `from` .. `from + count - 1` of `campaign` in this process;
 * stops at the first failure. `onCase` hears of each case before it runs.
 */
export function runCases<C>(
  campaign: Campaign<C>,
  seed: number,
  from: number,
  count: number,
  onCase?: (index: number) => void,
  limits?: Limits,
): CaseFailure<C> | undefined {
  for (let index = from; index < from + count; index++) {
    onCase?.(index);
    const c = campaign.generate(caseSeed(seed, index));
    const failure = checkCase(campaign, c, limits);
    if (failure) return { index, seed: caseSeed(seed, index), case: c, failure };
  }
  return undefined;
}
