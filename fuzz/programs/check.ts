/**
 * Runs one generated program on every tier and turns what happened into
 * comparable events: the run with its refuels and resumes, export calls, gas,
 * the break, what the host function saw, a memory digest, then single-access
 * probes and host memory helpers at region edges. Probes and helpers are also
 * checked against the independent memory model, and a few invariants of the
 * API (gas stays a safe integer, a disposed instance refuses) are checked on
 * every tier.
 * @module
 */
import { type Imports, type Instance, Program, ProgramError } from "../../mod.ts";
import { buildGuest, codeBytes, type GuestSpec } from "../../tests/_guest.ts";
import { describeThrown, type Failure } from "../campaign.ts";
import {
  type Access,
  allows,
  edgeAddresses,
  loadSegmentsOf,
  type MemoryModel,
  modelLayout,
  type ModelRegion,
  type ModelSegment,
  withHeap,
} from "../model.ts";
import {
  callHelper,
  compareTiers,
  memoryDigest,
  onTier,
  outcomeText,
  tierConfigs,
} from "../observe.ts";
import type { Observation, TierConfig } from "../observe.ts";
import type { ProbeKind, ProgramCase } from "./generate.ts";
import { fuzzHost, type HostLog, mix } from "./host.ts";

const asGuestCode = (parcels: ProgramCase["code"]): GuestSpec["code"] =>
  parcels.map((p) => p.size === 4 ? p.word : { half: p.word });

/** The case's ELF file. */
export function programElf(c: ProgramCase): Uint8Array {
  const { layout } = c;
  const length = c.code.reduce((n, p) => n + p.size, 0);
  const far = { vaddr: layout.farCode, bytes: codeBytes(asGuestCode(c.farCode)), flags: 5 };
  return buildGuest({
    code: asGuestCode(c.code),
    codeAt: layout.codeAt,
    codeFlags: layout.codeFlags,
    codeMemsz: layout.tail ? length + layout.tail : undefined,
    segments: [...layout.segments, ...(layout.farCode ? [far] : [])],
    entry: c.entry,
    rve: c.rve,
    imports: c.sites,
    exports: c.exports,
  });
}

const PROBE_ACCESS: Record<ProbeKind, [number, Access]> = {
  lw: [4, "read"],
  lh: [2, "read"],
  lbu: [1, "read"],
  sw: [4, "write"],
  sh: [2, "write"],
  sb: [1, "write"],
  amo: [4, "amo"],
  lrsc: [4, "amo"],
  clw: [4, "read"],
  csw: [4, "write"],
};

const hex = (n: number) => (n >>> 0).toString(16);

/** Runs `c` (loaded as `program`, whose segments are `segments`) on one tier. */
export function observeProgram(
  c: ProgramCase,
  program: Program,
  segments: readonly ModelSegment[],
  tier: TierConfig,
): Observation {
  const events: string[] = [];
  const violations: string[] = [];
  const log: HostLog = { calls: 0, seen: 0 };
  let printed = 0;
  let instance: Instance | undefined;
  const imports: Imports = {};
  if (c.sites.some((s) => s.name === "h")) imports.h = fuzzHost(c.forward, log, () => instance);
  const model = modelLayout(segments, c.layout.options);
  try {
    instance = onTier(tier, () =>
      program.instantiate(imports, {
        ...c.layout.options,
        ...tier.options,
        gas: c.gas,
        print: (bytes) => printed = bytes.reduce(mix, printed),
      }));
  } catch (error) {
    events.push(`instantiate: ${describeThrown(error)}`);
    if (model) {
      violations.push(`instantiation failed (${describeThrown(error)}) but the layout fits`);
    }
    return { events, violations };
  }
  if (!model) {
    violations.push("instantiated although stack and heap do not fit (or span over 1 GiB)");
    return { events, violations };
  }
  const live = instance;
  const checkGas = (when: string) => {
    const gas = live.gas;
    if (!Number.isSafeInteger(gas) || gas < 0) violations.push(`gas is ${gas} after ${when}`);
    events.push(`gas ${gas}`);
  };
  const callOutcome = (what: string, call: () => unknown) => {
    const text = outcomeText(call);
    if (text.startsWith("throws")) violations.push(`${what} ${text}; expected a result or a Trap`);
    events.push(`${what}: ${text}`);
    return text;
  };
  let next = () => live.run() as unknown;
  for (let round = 0; round <= c.refuels.length; round++) {
    const text = callOutcome(round ? "resume" : "run", next);
    checkGas(round ? "resume" : "run");
    if (!/^(OutOfGas|Breakpoint) /.test(text) || round === c.refuels.length) break;
    live.gas = c.refuels[round];
    next = () => live.resume();
  }
  for (const call of c.calls) {
    live.gas = call.gas;
    callOutcome(`${call.name}(${call.args.map(hex)})`, () => live.exports[call.name](...call.args));
    checkGas(call.name);
  }
  const brk = live.memory.brk;
  if (brk < model.heapStart || brk > model.heapLimit) {
    violations.push(
      `brk ${hex(brk)} outside the heap [${hex(model.heapStart)}, ${hex(model.heapLimit)}]`,
    );
  }
  const regions = withHeap(model, brk);
  events.push(
    `brk ${hex(brk)} host calls ${log.calls} seen ${hex(log.seen)} printed ${hex(printed)}`,
  );
  events.push(memoryDigest(live.memory, regions));
  probe(c, live, regions, model, events, violations);
  live.dispose();
  if (!outcomeText(() => live.memory.readU8(model.heapStart)).startsWith("throws Error")) {
    violations.push("memory stays readable after dispose");
  }
  if (!outcomeText(() => live.run()).startsWith("throws Error")) {
    violations.push("run() works after dispose");
  }
  return { events, violations };
}

/** Single accesses through the probe exports and the host helpers, checked against the model. */
function probe(
  c: ProgramCase,
  instance: Instance,
  regions: ModelRegion[],
  model: MemoryModel,
  events: string[],
  violations: string[],
): void {
  const edges = edgeAddresses([...regions, {
    start: model.heapLimit,
    end: model.heapLimit,
    read: true,
    write: true,
    name: "limit",
  }]);
  for (const p of c.probes) {
    const address = edges[Math.floor(p.pick * edges.length)];
    const [size, access] = PROBE_ACCESS[p.kind];
    instance.gas = 1000;
    const text = outcomeText(() => instance.exports[`p_${p.kind}`](address, p.value));
    events.push(`probe ${p.kind} ${hex(address)}: ${text}`);
    const ok = allows(regions, address, size, access);
    // LR.W faults as a read before its SC.W can fault as a write.
    const readFirst = access === "read"
      || (p.kind === "lrsc" && !allows(regions, address, 4, "read"));
    const fault = `MemoryFault at ${hex(address)} (${readFirst ? "read" : "write"})`;
    const faulted = new RegExp(
      `^MemoryFault pc=\\w+ addr=${hex(address)} ${readFirst ? "read" : "write"} `,
    );
    if (ok ? !text.startsWith("result") : !faulted.test(text)) {
      const expected = ok ? "the access to succeed" : fault;
      violations.push(
        `probe ${p.kind} (${size}-byte ${access}) at ${hex(address)}: ${
          text.slice(0, 90)
        }; the model expects ${expected}`,
      );
    }
  }
  for (const hp of c.helperProbes) {
    const address = edges[Math.floor(hp.pick * edges.length)];
    const length = hp.helper.endsWith("U8") ? 1 : hp.helper.endsWith("U32") ? 4 : hp.length;
    const write = hp.helper.startsWith("write");
    const data = new Uint8Array(length).fill(0xa5);
    const text = outcomeText(() => callHelper(instance.memory, hp.helper, address, length, data));
    events.push(`helper ${hp.helper} ${hex(address)}+${length}: ${text}`);
    const ok = length === 0 || allows(regions, address, length, write ? "write" : "read");
    if (ok ? !text.startsWith("result") : !text.startsWith("throws RangeError")) {
      violations.push(
        `memory.${hp.helper}(${hex(address)}, ${length}): ${text}; the model says ${
          ok ? "allowed" : "RangeError"
        }`,
      );
    }
  }
}

/** Checks one case: loads it once, runs it on every tier, compares. */
export function checkProgram(c: ProgramCase): Failure | undefined {
  const elf = programElf(c);
  let program: Program;
  try {
    program = Program.fromBytes(elf);
  } catch (error) {
    if (error instanceof ProgramError) return undefined; // e.g. a layout the loader rejects
    return { kind: "error", message: `loading threw ${describeThrown(error)}, not a ProgramError` };
  }
  // Disposed at once: the cases run in one synchronous loop, where finalizers never run.
  using loaded = program;
  const tiers = tierConfigs(c.traced, c.gas + c.code.length);
  const segments = loadSegmentsOf(elf);
  return compareTiers(tiers, tiers.map((tier) => observeProgram(c, loaded, segments, tier)));
}
