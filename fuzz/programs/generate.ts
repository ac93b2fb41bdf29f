/**
 * Random programs for the differential campaign: a layout, a prologue that
 * loads every register (three of them with pointers at and around region
 * edges), then a body of random instruction groups over all of RV32IMAC —
 * compressed forms, AMOs and LR/SC, branches and jumps to valid, mid-
 * instruction and outside targets, host calls, heap growth and shrinking,
 * breakpoints — and small exports that probe single accesses.
 *
 * A "bounded" program may loop and gets little gas; a "forward" program only
 * jumps forward (every indirect jump goes through a literal loaded just
 * before it), so it ends quickly whatever its gas: those get huge gas values,
 * and their host function may set any gas at all.
 * @module
 */
import { cins, format, ins } from "../../tests/_guest.ts";
import { modelLayout, type ModelRegion, withHeap } from "../model.ts";
import { type Random, seeded } from "../random.ts";
import { type Body, generateBody, type Parcel } from "./body.ts";
import { chooseLayout, type Layout } from "./layouts.ts";

/** Exports that perform one access at `a0` (stores write `a1`). */
export const PROBE_KINDS = [
  "lw",
  "lh",
  "lbu",
  "sw",
  "sh",
  "sb",
  "amo",
  "lrsc",
  "clw",
  "csw",
] as const;
/** One kind of probe export. */
export type ProbeKind = typeof PROBE_KINDS[number];

/** A probe call: the address is the edge address at fraction `pick` of the list (known after the run). */
export interface Probe {
  kind: ProbeKind;
  pick: number;
  value: number;
}

/** The host memory helpers the campaign checks against the model. */
export const HELPERS = ["read", "write", "readU8", "readU32", "writeU8", "writeU32"] as const;

/** A host memory helper call at an edge address. */
export interface HelperProbe {
  helper: typeof HELPERS[number];
  pick: number;
  length: number;
}

/** An export call after the run. */
export interface ExportCall {
  name: string;
  args: number[];
  gas: number;
}

export type { Parcel };

/** Everything one differential case runs. */
export interface ProgramCase {
  layout: Layout;
  rve: boolean;
  forward: boolean;
  /** Probe exports, then export stubs, the prologue and the body. */
  code: Parcel[];
  /** Index of the first parcel the reducer may replace (the first stub's). */
  firstUnit: number;
  /** Parcel index of the entry point. */
  entry: number;
  /** Host-call sites (parcel index and import name). */
  sites: { at: number; name: string; }[];
  exports: { at: number; name: string; }[];
  /** Contents of the far code segment, when the layout has one. */
  farCode: Parcel[];
  gas: number;
  /** Gas set before each resume after a resumable trap. */
  refuels: number[];
  calls: ExportCall[];
  probes: Probe[];
  helperProbes: HelperProbe[];
  /** Also compare the interpreter's tracing build. */
  traced: boolean;
}

const A0 = 10, A1 = 11, T0 = 5, RA = 1;
const { i, s } = format;
const amo = ins.atomic;
const w = (word: number): Parcel => ({ word: word >>> 0, size: 4 });
const h = (word: number): Parcel => ({ word: word & 0xffff, size: 2 });

function probeCode(): { code: Parcel[]; exports: { at: number; name: string; }[]; } {
  const ret = w(ins.ret());
  const bodies: Record<ProbeKind, Parcel[]> = {
    lw: [w(i(0, A0, 2, A0, 3)), ret],
    lh: [w(i(0, A0, 1, A0, 3)), ret],
    lbu: [w(i(0, A0, 4, A0, 3)), ret],
    sw: [w(s(0, A1, A0, 2)), ret],
    sh: [w(s(0, A1, A0, 1)), ret],
    sb: [w(s(0, A1, A0, 0)), ret],
    amo: [w(amo(0, A0, A1, A0)), ret],
    lrsc: [w(amo(2, T0, 0, A0)), w(amo(3, A0, A1, A0)), ret],
    clw: [h(cins.lw(A0, A0, 0)), h(cins.jr(RA))],
    csw: [h(cins.sw(A1, A0, 0)), h(cins.jr(RA))],
  };
  const code: Parcel[] = [];
  const exports = PROBE_KINDS.map((kind) => {
    const at = code.length;
    code.push(...bodies[kind]);
    return { at, name: `p_${kind}` };
  });
  return { code, exports };
}

/** The model's regions for a layout before the code is known (the code takes one page). */
export function plannedRegions(layout: Layout): ModelRegion[] {
  const segments = [
    { vaddr: layout.codeAt, memsz: 0x1000 + layout.tail, flags: layout.codeFlags },
    ...layout.segments.map((s) => ({
      vaddr: s.vaddr,
      memsz: s.memsz ?? s.bytes.length,
      flags: s.flags,
    })),
    ...(layout.farCode ? [{ vaddr: layout.farCode, memsz: 0x100, flags: 5 }] : []),
  ];
  const model = modelLayout(segments, layout.options);
  if (!model) return [];
  // The heap is empty at first; the program grows it by small amounts.
  return withHeap(model, model.heapStart + Math.min(8, model.heapLimit - model.heapStart));
}

const EDGE_VALUES = [0, 1, -1, 2, 31, 32, 0x7fffffff, -0x80000000, 0x8000, 0xffff, 0x12345678];
const BIG_GAS = [
  (1 << 22) - 1,
  1 << 22,
  (1 << 22) + 1,
  10_000_000,
  2 ** 31,
  2 ** 32 + 5,
  10_000_000_000,
  Number.MAX_SAFE_INTEGER,
];
/** Gas for programs that may loop: now and then too little for anything, mostly plenty. */
const SMALL_GAS = [
  0,
  1,
  10,
  70,
  300,
  2000,
  ...new Array(8).fill(20_000),
  ...new Array(8).fill(50_000),
];
const SMALL_REFUEL = [0, 1, 7, 100, 500, 5000, 5000, 5000, 20_000, 20_000];

/** The differential case for `seed`. */
export function generateProgram(seed: number): ProgramCase {
  const rnd = seeded(seed);
  const layout = chooseLayout(rnd);
  const rve = rnd.chance(0.4);
  const forward = rnd.chance(0.4);
  const probes = probeCode();
  const regions = plannedRegions(layout);
  const body: Body = generateBody(rnd, {
    layout,
    rve,
    forward,
    regions,
    first: probes.code.length,
    at: layout.codeAt + probes.code.reduce((n, p) => n + p.size, 0),
  });
  const code = [...probes.code, ...body.code];
  const farCode = layout.farCode ? farCodeParcels(rnd) : [];
  const gasList = forward ? [...SMALL_GAS, ...BIG_GAS] : SMALL_GAS;
  const refuelList = forward ? [...SMALL_REFUEL, ...BIG_GAS] : SMALL_REFUEL;
  const argument = () =>
    rnd.chance(0.5) || !regions.length ? rnd.pick(EDGE_VALUES) : rnd.pick(regions).start;
  const calls: ExportCall[] = [];
  for (let n = 1 + rnd.int(4); n > 0; n--) {
    const name = rnd.chance(0.85) ? rnd.pick(body.entries).name : `p_${rnd.pick(PROBE_KINDS)}`;
    calls.push({
      name,
      args: Array.from({ length: rnd.int(7) }, argument),
      gas: rnd.pick(gasList),
    });
  }
  return {
    layout,
    rve,
    forward,
    code,
    firstUnit: probes.code.length,
    entry: body.entry,
    sites: body.sites,
    exports: [...probes.exports, ...body.entries],
    farCode,
    // Mostly enough for the prologue too, so that the gas is the body's budget.
    gas: Math.min(
      Number.MAX_SAFE_INTEGER,
      rnd.pick(gasList) + (rnd.chance(0.85) ? body.prologue : 0),
    ),
    refuels: Array.from({ length: 1 + rnd.int(5) }, () => rnd.pick(refuelList)),
    calls,
    probes: Array.from({ length: 4 + rnd.int(8) }, () => ({
      kind: rnd.pick(PROBE_KINDS),
      pick: rnd.next(),
      value: rnd.pick(EDGE_VALUES),
    })),
    helperProbes: Array.from({ length: 4 + rnd.int(8) }, () => ({
      helper: rnd.pick(HELPERS),
      pick: rnd.next(),
      length: rnd.pick([0, 1, 2, 4, 7, 4096]),
    })),
    traced: rnd.chance(0.2),
  };
}

/** A few random instructions ending in a breakpoint (then the segment ends). */
function farCodeParcels(rnd: Random): Parcel[] {
  const out: Parcel[] = [];
  for (let n = 1 + rnd.int(6); n > 0; n--) {
    out.push(rnd.chance(0.5) ? h(cins.addi(A0, rnd.int(64) - 32)) : w(ins.add(A0, A0, A1)));
  }
  out.push(rnd.chance(0.5) ? h(cins.ebreak()) : w(ins.ebreak()));
  return out;
}
