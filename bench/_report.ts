/**
 * Turning measurements into the console table, the JSON record and the SVG
 * bar chart of every engine's time relative to native code.
 * @module
 */

/** One workload on one engine. */
export interface Row {
  workload: string;
  engine: string;
  /** Why the engine did not run, if it did not. */
  skipped?: string;
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  /** Guest instructions per second, millions (rvbox tiers). */
  mips?: number;
  /** Median time over the native binary's. */
  ratio?: number;
}

/** Geometric mean of the ratios each engine got, over the workloads it ran. */
export function geomeans(rows: Row[]): Map<string, number> {
  const logs = new Map<string, number[]>();
  for (const r of rows) {
    if (r.ratio === undefined) continue;
    logs.set(r.engine, [...(logs.get(r.engine) ?? []), Math.log(r.ratio)]);
  }
  return new Map([...logs].map(([e, l]) => [e, Math.exp(l.reduce((a, b) => a + b, 0) / l.length)]));
}

const fmt = (v: number | undefined, digits = 1) => (v === undefined ? "" : v.toFixed(digits));

/** A plain-text table with aligned columns. */
export function textTable(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  return [header, ...lines].map((l) =>
    l.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd()
  )
    .join("\n");
}

/** The execution table. */
export function executionTable(rows: Row[]): string {
  return textTable(
    ["workload", "engine", "median ms (min-max)", "MIPS", "x native"],
    rows.map((r) => [
      r.workload,
      r.engine,
      r.skipped
        ? `skipped: ${r.skipped}`
        : `${fmt(r.medianMs)} (${fmt(r.minMs)}-${fmt(r.maxMs)})`,
      fmt(r.mips, 0),
      fmt(r.ratio, 2),
    ]),
  );
}

const COLORS = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#9c755f",
];

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** A grouped bar chart (log scale) of each engine's ratio to native, per workload and geomean. */
export function ratioChart(rows: Row[], engines: string[], title: string): string {
  const means = geomeans(rows);
  const groups = [...new Set(rows.map((r) => r.workload)), "geomean"];
  const shown = engines.filter((e) => rows.some((r) => r.engine === e && r.ratio !== undefined));
  const ratio = (w: string, e: string) =>
    w === "geomean" ? means.get(e) : rows.find((r) => r.workload === w && r.engine === e)?.ratio;
  const max = Math.max(2, ...rows.map((r) => r.ratio ?? 1));
  const decades = Math.ceil(Math.log10(max));
  const left = 60, top = 40, plotH = 300, bar = 12, gap = 18;
  const groupW = shown.length * bar + gap;
  const width = left + groups.length * groupW + 20;
  const height = top + plotH + 60 + 18 * Math.ceil(shown.length / 3);
  const y = (v: number) => top + plotH - (Math.log10(Math.max(v, 1)) / decades) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14">${escape(title)}</text>`,
  ];
  for (let d = 0; d <= decades; d++) {
    const v = 10 ** d;
    out.push(
      `<line x1="${left}" x2="${width - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v}x</text>`,
    );
  }
  groups.forEach((w, g) => {
    const x0 = left + g * groupW + gap / 2;
    shown.forEach((e, k) => {
      const v = ratio(w, e);
      if (v === undefined) return;
      const barTop = y(v);
      out.push(
        `<rect x="${x0 + k * bar}" y="${barTop.toFixed(1)}" width="${bar - 2}" height="${
          (y(1) - barTop).toFixed(1)
        }" fill="${COLORS[k % COLORS.length]}"><title>${
          escape(`${w}, ${e}: ${v.toFixed(2)}x`)
        }</title></rect>`,
      );
    });
    out.push(
      `<text x="${x0 + (shown.length * bar) / 2}" y="${top + plotH + 16}" text-anchor="middle">${
        escape(w)
      }</text>`,
    );
  });
  shown.forEach((e, k) => {
    const lx = left + (k % 3) * 230, ly = top + plotH + 40 + 18 * Math.floor(k / 3);
    out.push(
      `<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${COLORS[k % COLORS.length]}"/>`,
      `<text x="${lx + 14}" y="${ly}">${escape(e)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
