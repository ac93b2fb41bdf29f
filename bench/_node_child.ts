/**
 * The cycle figures of rvbox under Node, in a child process: bench/mod.ts
 * bundles this file with esbuild and runs it with `node`, koffi (npm, in
 * .ci/tools) on `NODE_PATH`. Prints JSON: one {@linkcode Cycle} (or why
 * not) for the interpreter and one for the native tier through koffi.
 *
 *   node _node_child.mjs <quick|full> <contract index> <program.elf>...
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { nativeSupport } from "../jit/mod.ts";
import { type Cycle, rvboxCycle } from "./_cycle.ts";

const [mode, contractIndex, ...paths] = process.argv.slice(2);
const quick = mode === "quick";
const programs = paths.map((path) => new Uint8Array(readFileSync(path)));
const contract = programs[Number(contractIndex)];
const support = nativeSupport();
const result: Record<string, Cycle | string> = {
  interpreter: rvboxCycle("interpreter", programs, contract, quick),
  native: support.ok
    ? rvboxCycle("native", programs, contract, quick)
    : `skipped: ${support.reason}`,
};
console.log(JSON.stringify(result));
