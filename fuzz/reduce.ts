/**
 * Test-case reduction: drops units (instructions, mutations, API calls) while
 * the failure persists — halves first, then quarters, down to single units —
 * so a repro shows only what matters.
 * @module
 */
import { type Campaign, checkCase, type Failure, type Limits } from "./campaign.ts";

/**
 * Returns which of `count` units to keep. `fails(kept)` says whether the case
 * restricted to `kept` still fails the same way; it may run in another
 * process (async). Reduction starts from `initial` (default: every unit) and
 * stops early at `deadline` (a `Date.now()` time), keeping what it has.
 */
export async function reduceUnits(
  count: number,
  fails: (kept: readonly boolean[]) => boolean | Promise<boolean>,
  deadline = Infinity,
  initial?: readonly boolean[],
): Promise<boolean[]> {
  const kept = initial ? [...initial] : new Array<boolean>(count).fill(true);
  let chunk = 1;
  while (chunk * 2 < count) chunk *= 2;
  for (; chunk >= 1; chunk = chunk >> 1) {
    let dropped = true;
    // Single units are retried until nothing more can go: one drop can enable another.
    while (dropped) {
      dropped = false;
      for (let start = 0; start < count; start += chunk) {
        if (Date.now() > deadline) return kept;
        const range = [];
        for (let k = start; k < Math.min(count, start + chunk); k++) if (kept[k]) range.push(k);
        if (range.length === 0) continue;
        for (const k of range) kept[k] = false;
        if (await fails(kept)) dropped = true;
        else for (const k of range) kept[k] = true;
      }
      if (chunk > 1) break;
    }
  }
  return kept;
}

/** `kept` as compact ranges of kept unit numbers, e.g. `0-3,7,9-12` (`none` if empty). */
export function formatKept(kept: readonly boolean[]): string {
  const parts: string[] = [];
  for (let k = 0; k < kept.length; k++) {
    if (!kept[k]) continue;
    let end = k;
    while (end + 1 < kept.length && kept[end + 1]) end++;
    parts.push(end === k ? `${k}` : `${k}-${end}`);
    k = end;
  }
  return parts.length ? parts.join(",") : "none";
}

/** Parses {@linkcode formatKept}'s output for a case of `count` units. */
export function parseKept(text: string, count: number): boolean[] {
  const kept = new Array<boolean>(count).fill(false);
  if (text === "none") return kept;
  for (const part of text.split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to)) {
      throw new RangeError(`--keep: bad range ${JSON.stringify(part)}`);
    }
    for (let k = from; k <= to && k < count; k++) kept[k] = true;
  }
  return kept;
}

/** A failing case reduced: which units remain, the case, and its failure. */
export interface Reduced<C> {
  kept: boolean[];
  case: C;
  failure: Failure;
}

/**
 * Reduces a failing case in this process: keeps dropping units while the
 * check still fails with the same kind of failure. `c` is the whole case,
 * `initial` the units of it that failed (default: all). `onStep` hears of
 * each attempt (a watchdog's heartbeat).
 */
export async function reduceCase<C>(
  campaign: Campaign<C>,
  c: C,
  failure: Failure,
  options: { limits?: Limits; deadline?: number; onStep?: () => void; initial?: boolean[]; } = {},
): Promise<Reduced<C>> {
  const attempt = (kept: readonly boolean[]) => {
    options.onStep?.();
    return checkCase(campaign, campaign.restrict(c, kept), options.limits);
  };
  const kept = await reduceUnits(
    campaign.units(c),
    (k) => attempt(k)?.kind === failure.kind,
    options.deadline,
    options.initial,
  );
  const reduced = campaign.restrict(c, kept);
  return { kept, case: reduced, failure: attempt(kept) ?? failure };
}
