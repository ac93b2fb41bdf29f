/**
 * Fused pairs for the steps loop (steps.ts): two entries of the stream that
 * follow each other in a block, performed by one step. Each pair saves a
 * call (the dearest thing Ignition does per entry) and what the two share;
 * the second entry keeps its own step for an indirect jump to it.
 * @module
 */
import { Op } from "../abi/isa.ts";
import { REG, type Step } from "./_step_alu.ts";
import { memoryPair } from "./_step_memory.ts";
import { type CompiledCode, Pseudo, UNCOMPILED } from "./compile.ts";

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
    op: w & 255,
    rd: (w >>> 8) & 63,
    rs1: (w >>> 14) & 63,
    rs2: (w >>> 20) & 63,
    imm: insn[(k << 1) + 1],
  };
}

/**
 * The linear ops, `rd = rs1 + rs2 + imm` with x0 (always 0) for what an op
 * lacks: `[rs1, rs2, imm]` of ADD, ADDI, LI and MV, a third of all
 * instructions, or undefined for another op.
 */
function linear(e: Entry): [number, number, number] | undefined {
  switch (e.op) {
    case Op.ADD:
      return [e.rs1, e.rs2, 0];
    case Op.ADDI:
      return [e.rs1, 0, e.imm];
    case Pseudo.LI:
      return [0, 0, e.imm];
    case Pseudo.MV:
      return [e.rs1, 0, 0];
  }
  return undefined;
}

/** Word accesses through the same base register, the first not a load of that register. */
function memoryPairs(first: Entry, second: Entry): boolean {
  return (first.op === Op.LW || first.op === Op.SW) && second.op === first.op
    && second.rs1 === first.rs1 && ((first.imm - second.imm) & 3) === 0
    && (first.op === Op.SW || first.rd !== first.rs1);
}

/** Whether `pairStep` fuses `first` and `second` (which follows it in a block). */
export function fuses(first: Entry, second: Entry): boolean {
  return (linear(first) !== undefined && linear(second) !== undefined)
    || memoryPairs(first, second);
}

/**
 * The step of a pair that `fuses`, then `then`. `slow` performs the pair
 * one entry at a time, for a memory pair outside the fast window.
 */
export function pairStep(first: Entry, second: Entry, then: Step, slow: Step): Step {
  const l1 = linear(first), l2 = linear(second);
  if (l1 !== undefined && l2 !== undefined) {
    const [d1, a1, b1, i1] = [REG[first.rd], REG[l1[0]], REG[l1[1]], l1[2]];
    const [d2, a2, b2, i2] = [REG[second.rd], REG[l2[0]], REG[l2[1]], l2[2]];
    return () => {
      d1.v = (a1.v + b1.v + i1) | 0;
      d2.v = (a2.v + b2.v + i2) | 0;
      return then();
    };
  }
  const store = first.op === Op.SW;
  const [r1, r2] = store ? [first.rs2, second.rs2] : [first.rd, second.rd];
  return memoryPair(store, REG[r1], REG[r2], REG[first.rs1], first.imm, second.imm, then, slow);
}
