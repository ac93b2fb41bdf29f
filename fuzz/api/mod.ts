/**
 * The host-API misuse campaign: random sequences of API calls with bad
 * arguments (fuzz/api/steps.ts) give a result, a Trap or a typed error, as
 * documented, and the same on every tier (fuzz/api/run.ts).
 * @module
 */
import type { Campaign, Failure } from "../campaign.ts";
import { compareTiers, tierConfigs } from "../observe.ts";
import { seeded } from "../random.ts";
import { API_GUEST, runSteps } from "./run.ts";
import { generateSteps, show, type Step } from "./steps.ts";

function checkSteps(steps: readonly Step[]): Failure | undefined {
  const tiers = tierConfigs(false, steps.length);
  const errorOrContract = (violations: string[]) =>
    violations.some((v) => v.includes("non-Error") || v.includes("without a message"))
      ? "error"
      : "contract";
  return compareTiers(tiers, tiers.map((tier) => runSteps(steps, tier)), errorOrContract);
}

/** One step as a line of pseudo-TypeScript. */
function stepText(step: Step): string {
  const i = "target" in step ? `i[${step.target}]` : "";
  switch (step.op) {
    case "instantiate":
      return `i.push(program.instantiate(${step.imports} imports, ${show(step.options)}))`;
    case "call":
      return `${i}.exports.${step.name}${step.i64 ? ".i64" : ""}(${
        step.args.map(show).join(", ")
      })`;
    case "setGas":
      return `${i}.gas = ${show(step.value)}`;
    case "memory": {
      const s = step.step;
      return `${i}.memory.${s.helper}(${show(s.address)}, ${show(s.length)}${
        s.helper === "write" ? `, <${s.data}>` : ""
      })`;
    }
    case "host": {
      const m = step.mode;
      const detail = Object.entries(m).filter(([k]) => k !== "kind").map(([k, v]) =>
        `${k}: ${show(v)}`
      ).join(", ");
      return `h = ${m.kind}(${detail})   // what the import h does from now on`;
    }
    case "load":
      return `Program.fromBytes(<${step.input}>, ${show(step.options)})`;
    case "usingDispose":
      return `${i}[Symbol.dispose]()`;
    case "getGas":
      return `${i}.gas`;
    default:
      return `${i}.${step.op}()`;
  }
}

/** The misuse campaign. */
export const apiCampaign: Campaign<Step[]> = {
  name: "api",
  noun: "API sequences",
  generate: (seed) => generateSteps(seeded(seed)),
  check: checkSteps,
  units: (steps) => steps.length,
  restrict: (steps, kept) => steps.filter((_, k) => kept[k]),
  describe: (steps) =>
    [
      "steps (i[k] is live instance k modulo their number; exports f: call h, spin, brk, grow: sbrk, load, store, print, exit):",
      ...steps.map((s) => `  ${stepText(s)}`),
    ].join("\n"),
  artifacts: () => ({ ".elf": API_GUEST }),
};
