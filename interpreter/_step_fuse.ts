/**
 * Fused pairs for the steps loop (steps.ts): two entries of the stream that
 * follow each other in a block, performed by one step. Each pair saves a
 * call (the dearest thing Ignition does per entry) and what the two share;
 * the second entry keeps its own step for an indirect jump to it.
 * @module
 */
import { Op } from "../abi/isa.ts";
import { type Box, REG, type Step } from "./_step_alu.ts";
import { memoryRun, memoryThen, thenMemory } from "./_step_memory.ts";
import { type CompiledCode, opOf, Pseudo, UNCOMPILED } from "./compile.ts";

/** An entry of the stream, decoded. */
export interface Entry {
  readonly op: number;
  readonly rd: number;
  readonly rs1: number;
  readonly rs2: number;
  readonly imm: number;
}

/** Entry `k` of `code`'s stream, compiling it first if needed. */
export function entryAt(code: CompiledCode, k: number): Entry {
  const insn = code.insn;
  if (insn[k << 1] === UNCOMPILED) code.fill(k);
  const w = insn[k << 1];
  return {
    op: opOf(w),
    rd: (w >>> 8) & 63,
    rs1: (w >>> 14) & 63,
    rs2: (w >>> 20) & 63,
    imm: insn[(k << 1) + 1],
  };
}

/**
 * A linear op's form, `d = imm` (K: LI), `d = a + imm` (I: ADDI, and MV
 * with imm 0) or `d = a + b` (R: ADD), and its boxes and immediate.
 */
export type Linear = readonly [form: "K" | "I" | "R", d: Box, a: Box, b: Box, imm: number];

/** Entry `e` as a linear op, or undefined for another op: a third of all instructions. */
export function linear(e: Entry): Linear | undefined {
  const [d, a, b] = [REG[e.rd], REG[e.rs1], REG[e.rs2]];
  switch (e.op) {
    case Pseudo.LI:
      return ["K", d, a, b, e.imm];
    case Op.ADDI:
      return ["I", d, a, b, e.imm];
    case Pseudo.MV:
      return ["I", d, a, b, 0];
    case Op.ADD:
      return ["R", d, a, b, 0];
  }
  return undefined;
}

/** Two linear ops by their forms: each saves the x0 reads and additions a general form would cost. */
const LINEAR_PAIRS: Record<string, (x: Linear, y: Linear, then: Step) => Step> = {
  KK: ([, d, , , i], [, e, , , j], then) => () => ((d.v = i), (e.v = j), then()),
  KI: ([, d, , , i], [, e, p, , j], then) => () => ((d.v = i), (e.v = (p.v + j) | 0), then()),
  KR: ([, d, , , i], [, e, p, q], then) => () => ((d.v = i), (e.v = (p.v + q.v) | 0), then()),
  IK: ([, d, a, , i], [, e, , , j], then) => () => ((d.v = (a.v + i) | 0), (e.v = j), then()),
  II: ([, d, a, , i], [, e, p, , j], then) => () => (
    (d.v = (a.v + i) | 0), (e.v = (p.v + j) | 0), then()
  ),
  IR: ([, d, a, , i], [, e, p, q], then) => () => (
    (d.v = (a.v + i) | 0), (e.v = (p.v + q.v) | 0), then()
  ),
  RK: ([, d, a, b], [, e, , , j], then) => () => ((d.v = (a.v + b.v) | 0), (e.v = j), then()),
  RI: ([, d, a, b], [, e, p, , j], then) => () => (
    (d.v = (a.v + b.v) | 0), (e.v = (p.v + j) | 0), then()
  ),
  RR: ([, d, a, b], [, e, p, q], then) => () => (
    (d.v = (a.v + b.v) | 0), (e.v = (p.v + q.v) | 0), then()
  ),
};

/** Word accesses through the same base register, the first not a load of that register. */
function memoryPairs(first: Entry, second: Entry): boolean {
  return (first.op === Op.LW || first.op === Op.SW) && second.op === first.op
    && second.rs1 === first.rs1 && ((first.imm - second.imm) & 3) === 0
    && (first.op === Op.SW || first.rd !== first.rs1);
}

/** The longest run of word accesses. */
const RUN = 4;

/**
 * How many entries from `k` (at most `RUN`) are word accesses that a run
 * performs (`memoryPairs`, each with the one before): 1 where none follow.
 */
export function wordRun(code: CompiledCode, k: number): number {
  const first = entryAt(code, k);
  let n = 1;
  while (n < RUN && memoryPairs(n === 1 ? first : entryAt(code, k + n - 1), entryAt(code, k + n))) {
    n++;
  }
  return n;
}

/** Whether op is LW, LBU, SW or SB (the accesses fused with a linear op). */
function common(op: number): boolean {
  return op === Op.LW || op === Op.LBU || op === Op.SW || op === Op.SB;
}

/** Whether a linear op in form I or R (not K: LI). */
function linearIR(e: Entry): boolean {
  return e.op === Op.ADD || e.op === Op.ADDI || e.op === Pseudo.MV;
}

/**
 * Whether `pairStep` fuses `first` and `second` (which follows it in a
 * block); `third` (what follows, if in the block) is asked for when the
 * second could rather pair with it into word accesses, the better pair.
 */
export function fuses(first: Entry, second: Entry, third: () => Entry): boolean {
  return (linear(first) !== undefined && linear(second) !== undefined)
    || (common(first.op) && linearIR(second))
    || (linearIR(first) && common(second.op) && !memoryPairs(second, third()));
}

/** The access of a load or store entry: op, register (rd, or rs2 for a store), base, offset. */
function access(e: Entry): readonly [number, Box, Box, number] {
  return [e.op, REG[e.op >= Op.SB ? e.rs2 : e.rd], REG[e.rs1], e.imm];
}

/**
 * The step of a pair that `fuses`, then `then`. Where a memory access
 * misses the fast path, `slow` performs the pair one entry at a time, or
 * `rest` performs the second entry alone (after the linear op).
 */
export function pairStep(
  first: Entry,
  second: Entry,
  then: Step,
  slow: Step,
  rest: Step,
): Step {
  const l1 = linear(first), l2 = linear(second);
  if (l1 !== undefined && l2 !== undefined) return LINEAR_PAIRS[l1[0] + l2[0]](l1, l2, then);
  if (l2 !== undefined && common(first.op)) return memoryThen(access(first), l2, then, slow);
  return thenMemory(l1!, access(second), then, rest);
}

/** The step of the `n` entries from `k` that `wordRun` counts, then `then`; `slow` as for pairs. */
export function runStep(code: CompiledCode, k: number, n: number, then: Step, slow: Step): Step {
  const entries = Array.from({ length: n }, (_, m) => entryAt(code, k + m));
  const store = entries[0].op === Op.SW;
  const regs = entries.map((e) => REG[store ? e.rs2 : e.rd]);
  const imms = entries.map((e) => e.imm);
  return memoryRun(store, regs, REG[entries[0].rs1], imms, then, slow);
}
