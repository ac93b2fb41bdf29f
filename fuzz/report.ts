/**
 * Failure reports: what failed, how to reproduce it, the reduced case
 * (disassembled where it is code) and the files that reproduce it.
 * @module
 */
import { type Campaign, type Failure, type FailureKind, gists, signature } from "./campaign.ts";
import { caseSeed } from "./random.ts";
import { formatKept } from "./reduce.ts";

/** One failure, ready to print or to save. */
export interface Report {
  campaign: string;
  /** The campaign seed (`--seed`). */
  seed: number;
  /** The case number (`--from`). */
  index: number;
  kind: FailureKind;
  message: string;
  /** Units of the unreduced case, and those kept (`--keep`). */
  units: number;
  kept: string;
  /** The failure's {@linkcode gists}. */
  gists: string[];
  /** The reduced case, described. */
  listing: string;
  /** Files by name suffix, base64. */
  artifacts: Record<string, string>;
  /** Anything else worth saying (e.g. a reduction cut short). */
  note?: string;
}

/** Builds the report of `c` (already reduced to `kept`) failing with `failure`. */
export function makeReport<C>(
  campaign: Campaign<C>,
  seed: number,
  index: number,
  c: C,
  failure: Failure,
  kept: readonly boolean[],
): Report {
  const artifacts: Record<string, string> = {};
  for (const [suffix, bytes] of Object.entries(campaign.artifacts(c))) {
    artifacts[suffix] = toBase64(bytes);
  }
  return {
    campaign: campaign.name,
    seed,
    index,
    kind: failure.kind,
    message: failure.message,
    units: kept.length,
    kept: formatKept(kept),
    gists: gists(failure),
    listing: campaign.describe(c),
    artifacts,
  };
}

/** The command that runs exactly the reported (reduced) case again. */
export function reproduceCommand(r: Report): string {
  const all = formatKept(new Array<boolean>(r.units).fill(true));
  const keep = r.kept === all ? "" : ` --keep ${r.kept}`;
  return `deno task fuzz --campaign ${r.campaign} --seed ${r.seed} --from ${r.index} --cases 1${keep}`;
}

/** How many units `kept` (as {@linkcode formatKept} writes it) names. */
function keptCount(kept: string): number {
  if (kept === "none") return 0;
  return kept.split(",").reduce((n, part) => {
    const [from, to = from] = part.split("-").map(Number);
    return n + to - from + 1;
  }, 0);
}

/** The report as text. */
export function formatReport(r: Report): string {
  return [
    `${r.kind.toUpperCase()} in the ${r.campaign} campaign (signature ${
      signature(r.gists)
    }): seed ${r.seed}, case ${r.index} (case seed ${caseSeed(r.seed, r.index)})`,
    r.message,
    ...(r.note ? [r.note] : []),
    `reproduce: ${reproduceCommand(r)}`,
    `reduced case (${keptCount(r.kept)} of ${r.units} units kept):`,
    r.listing,
  ].join("\n");
}

/** Writes the report and its files to `dir`; returns the paths written. */
export function saveReport(r: Report, dir: string): string[] {
  Deno.mkdirSync(dir, { recursive: true });
  const stem = `${dir}/${r.campaign}-seed${r.seed}-case${r.index}`;
  Deno.writeTextFileSync(`${stem}.txt`, formatReport(r) + "\n");
  const paths = [`${stem}.txt`];
  for (const [suffix, data] of Object.entries(r.artifacts)) {
    Deno.writeFileSync(stem + suffix, fromBase64(data));
    paths.push(stem + suffix);
  }
  return paths;
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let k = 0; k < bytes.length; k += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  }
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
