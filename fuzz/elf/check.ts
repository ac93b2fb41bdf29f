/**
 * Checks one mutated file: loading gives a Program or a ProgramError (never
 * another exception, never far more memory than the file warrants); every
 * tier instantiates it (or fails with a LinkError or RangeError, as
 * documented) and runs it and its exports, with limited gas, into results or
 * Traps; the tiers agree; host memory helpers agree with the memory model.
 * @module
 */
import { LinkError, Program, ProgramError } from "../../mod.ts";
import type { Imports, Instance } from "../../mod.ts";
import { describeThrown, type Failure, mib } from "../campaign.ts";
import { allows, edgeAddresses, loadSegmentsOf, modelLayout, withHeap } from "../model.ts";
import { compareTiers, memoryDigest, onTier, outcomeText, tierConfigs } from "../observe.ts";
import type { Observation, TierConfig } from "../observe.ts";

/** A load may allocate this much more than the file before it counts as a failure. */
const LOAD_MEMORY_CAP = 64 << 20;
/** Most exports called per instance. */
const MAX_EXPORTS = 8;
/** Arguments every export gets (pointers into typical data, small numbers). */
const ARGS = [0x22000, 16, 3];

const allocated = () => {
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
};

/** Loads `bytes`; a failure, the program, or undefined when rightly rejected. */
function load(bytes: Uint8Array): Failure | Program | undefined {
  const before = allocated();
  const started = performance.now();
  let program: Program;
  try {
    program = Program.fromBytes(bytes);
  } catch (error) {
    if (error instanceof ProgramError) return undefined;
    return { kind: "error", message: `loading threw ${describeThrown(error)}, not a ProgramError` };
  }
  const grown = allocated() - before;
  if (grown > LOAD_MEMORY_CAP && grown > 64 * bytes.length) {
    const ms = Math.round(performance.now() - started);
    return {
      kind: "memory",
      message: `loading a ${bytes.length}-byte file allocated ${
        mib(grown)
      } (took ${ms} ms; ${program.instructionCount} instructions, segments ${
        program.segments.map((s) =>
          `${s.start.toString(16)}-${s.end.toString(16)} ${s.permissions}`
        ).join(", ")
      })`,
    };
  }
  return program;
}

/** Runs the program on one tier; events to compare, and contract violations. */
function observe(program: Program, bytes: Uint8Array, gas: number, tier: TierConfig): Observation {
  const events: string[] = [];
  const violations: string[] = [];
  const imports: Imports = {};
  for (const name of program.imports) if (!name.startsWith("rvbox_")) imports[name] = () => 0;
  const model = modelLayout(loadSegmentsOf(bytes), {});
  let instance: Instance;
  try {
    instance = onTier(
      tier,
      () => program.instantiate(imports, { ...tier.options, gas, print: () => {} }),
    );
  } catch (error) {
    events.push(`instantiate: ${describeThrown(error)}`);
    if (!(error instanceof LinkError || error instanceof RangeError)) {
      violations.push(`instantiate threw ${describeThrown(error)}, not a LinkError or RangeError`);
    } else if (model && error instanceof RangeError) {
      violations.push(`instantiate threw ${describeThrown(error)} though the model's layout fits`);
    }
    return { events, violations };
  }
  const call = (what: string, fn: () => unknown) => {
    const text = outcomeText(fn);
    events.push(`${what}: ${text} gas ${instance.gas}`);
    if (text.startsWith("throws")) violations.push(`${what} ${text}; expected a result or a Trap`);
  };
  call("run", () => instance.run());
  for (const name of program.exports.slice(0, MAX_EXPORTS)) {
    instance.gas = gas;
    call(name, () => instance.exports[name](...ARGS));
  }
  if (model) {
    const regions = withHeap(model, instance.memory.brk);
    events.push(memoryDigest(instance.memory, regions));
    for (const address of edgeAddresses(regions).filter((_, k) => k % 5 === 0)) {
      const text = outcomeText(() => instance.memory.readU8(address));
      const ok = allows(regions, address, 1, "read");
      events.push(`readU8 ${address.toString(16)}: ${text}`);
      if (ok !== text.startsWith("result")) {
        violations.push(
          `memory.readU8(${address.toString(16)}): ${text}; the model says ${
            ok ? "readable" : "not readable"
          }`,
        );
      }
    }
  } else violations.push("instantiated although the model says stack and heap do not fit");
  instance.dispose();
  return { events, violations };
}

/** Checks one file (see the module comment). */
export function checkElf(bytes: Uint8Array, gas: number): Failure | undefined {
  const loaded = load(bytes);
  if (!(loaded instanceof Program)) return loaded;
  // Disposed at once: the cases run in one synchronous loop, where finalizers never run.
  using program = loaded;
  const tiers = tierConfigs(false, bytes.length + gas);
  return compareTiers(tiers, tiers.map((tier) => observe(program, bytes, gas, tier)));
}
