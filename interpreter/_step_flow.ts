/**
 * The steps loop's gas and control flow (steps.ts has the loop): `GAS`
 * entries, branches, JAL and JALR. Every jump charges the block it enters
 * and goes on past its `GAS` entry, a call saved per block; a branch charges
 * either way (the entry after a branch is a block's too). The slice's gas is
 * a variable of this module, read and written by these steps alone.
 * @module
 */
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import type { TrapKind } from "../abi/errors.ts";
import { Op } from "../abi/isa.ts";
import type { Box, Step } from "./_step_alu.ts";
import type { Linear } from "./_step_fuse.ts";
import { type CompiledCode, Pseudo, UNCOMPILED } from "./compile.ts";

/** This slice's gas (the rest waits in `Interpreter.reserve`). */
let gas = 0;

/** How the steps here end a run (steps.ts). */
export interface Exits {
  /** Out of gas at entry `at` after `charge` (see `Interpreter.outOfGas`). */
  outOfGas(at: number, gas: number, charge: number): null;
  /** A trap of `kind` at entry `at`. */
  trap(at: number, kind: TrapKind, address: number): null;
  /** Back to the host: the caller's return address was reached. */
  hostReturn(): null;
}

let exits: Exits;

/** Sets the slice's gas and how runs end (when a run starts or resumes). */
export function setGas(slice: number, how: Exits): void {
  gas = slice;
  exits = how;
}

/**
 * Out of gas at GAS entry `at`, whose `cost` a step has just taken: gives
 * it back and ends the run there.
 */
function short(at: number, cost: number): null {
  return shortBy(at, cost, 0);
}

/** Like `short`, for an entry that charges `charge` again when the run resumes there. */
function shortBy(at: number, cost: number, charge: number): null {
  gas += cost;
  return exits.outOfGas(at, gas, charge);
}

/** The slice's gas left. */
export function gasLeft(): number {
  return gas;
}

/** What the steps here need of their stream's steps. */
export interface Table {
  readonly code: CompiledCode;
  /** The steps built so far, by entry. */
  readonly fns: readonly (Step | undefined)[];
  /** The step of entry `k`, built on first use. */
  step(k: number): Step;
}

/**
 * Where a jump to entry `e` lands: a GAS entry's charge and the entry after
 * it, or nothing to charge and `e` itself (a fault stub).
 */
export function landing(code: CompiledCode, e: number): [number, number] {
  const insn = code.insn;
  if (insn[e << 1] === UNCOMPILED) code.fill(e);
  return (insn[e << 1] & 255) === Pseudo.GAS ? [insn[(e << 1) + 1], e + 1] : [0, e];
}

/** A GAS entry `k` charging `cost`, reached without a jump (a block entered in sequence). */
export function gasStep(cost: number, k: number, then: Step): Step {
  return () => (gas -= cost) < 0 ? short(k, cost) : then();
}

/**
 * JAL, after the linear op `pre` if any: charges the target block and
 * returns its step (`t`, built on first use) to the loop.
 */
export function jal(table: Table, d: Box, e: number, link: number, pre?: Linear): Step {
  let [t, tc]: [Step | undefined, number] = [undefined, 0];
  const to = (): Step => {
    const [cost, n] = landing(table.code, e);
    [t, tc] = [table.step(n), cost];
    return t;
  };
  if (pre === undefined) {
    return () => ((d.v = link), t ?? to(), (gas -= tc) < 0 ? short(e, tc) : t!);
  }
  const [form, pd, p, q, i] = pre;
  if (form === "I") {
    return () => (
      (pd.v = (p.v + i) | 0), (d.v = link), t ?? to(), (gas -= tc) < 0 ? short(e, tc) : t!
    );
  }
  return () => (
    (pd.v = (p.v + q.v) | 0), (d.v = link), t ?? to(), (gas -= tc) < 0 ? short(e, tc) : t!
  );
}

/**
 * JALR, after the linear op `pre` if any: to the host, or to an entry,
 * through a one-entry cache of the last target (most JALRs are returns to
 * one call site at a time) and else the stream's `entryOf`. The cache is
 * parameters (context slots without hole checks): the `last` target, the
 * entry charged there (`cost`, `charge` as `Exits.outOfGas` takes it) and
 * the `next` step.
 */
export function jalr(
  table: Table,
  d: Box,
  a: Box,
  imm: number,
  k: number,
  link: number,
  pre?: Linear,
  last = -1,
  at = 0,
  cost = 0,
  charge = 0,
  next?: Step,
): Step {
  const { code, fns } = table;
  const { insn, entryOf, midCost, codeStart, flatLength } = code;
  const miss = (target: number): Step | null => {
    if (target === HOST_RETURN_ADDRESS) {
      d.v = link;
      return exits.hostReturn();
    }
    const offset = target - codeStart;
    let e = offset >= 0 && offset < flatLength ? entryOf[offset >>> 1] - 1 : -1;
    if (e < 0) {
      e = code.enter(target);
      if (e < 0) return exits.trap(k, "InvalidJump", target);
    }
    d.v = link;
    // An indirect entry into a block pays its own charge; a block's first instruction, its GAS entry's.
    last = target;
    at = e;
    charge = midCost[e];
    cost = charge !== 0 ? charge : insn[(e << 1) + 1];
    const n = charge !== 0 ? e : e + 1;
    next = fns[n] ?? table.step(n);
    return (gas -= cost) < 0 ? shortBy(at, cost, charge) : next;
  };
  if (pre === undefined) {
    return () => {
      const x = ((a.v + imm) & ~1) >>> 0;
      return x !== last
        ? miss(x)
        : ((d.v = link), (gas -= cost) < 0 ? shortBy(at, cost, charge) : next!);
    };
  }
  const [form, pd, p, q, i] = pre;
  if (form === "I") {
    return () => {
      pd.v = (p.v + i) | 0;
      const x = ((a.v + imm) & ~1) >>> 0;
      return x !== last
        ? miss(x)
        : ((d.v = link), (gas -= cost) < 0 ? shortBy(at, cost, charge) : next!);
    };
  }
  return () => {
    pd.v = (p.v + q.v) | 0;
    const x = ((a.v + imm) & ~1) >>> 0;
    return x !== last
      ? miss(x)
      : ((d.v = link), (gas -= cost) < 0 ? shortBy(at, cost, charge) : next!);
  };
}

/**
 * A conditional branch to entry `e`, or on to entry `k1`, after the linear
 * op `pre` if any (ADD, ADDI, MV or LI: one step for both). Both ways lead to a
 * block whose gas the step charges (`landing`): `fc` for k1's. Taken, it
 * returns the target's step (`t`, built on first use) to the loop; not
 * taken, it goes on in the chain (`then`).
 */
export function branchStep(
  table: Table,
  op: number,
  a: Box,
  b: Box,
  e: number,
  k1: number,
  fc: number,
  then: Step,
  pre?: Linear,
): Step {
  const [tc, n] = landing(table.code, e);
  let t: Step | undefined;
  const to = (): Step => t = table.step(n);
  if (pre === undefined) {
    switch (op) {
      case Op.BEQ:
        return () =>
          a.v === b.v
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      case Op.BNE:
        return () =>
          a.v !== b.v
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      case Op.BLT:
        return () =>
          a.v < b.v
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      case Op.BGE:
        return () =>
          a.v >= b.v
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      case Op.BLTU:
        return () =>
          a.v >>> 0 < b.v >>> 0
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      default: // BGEU
        return () =>
          a.v >>> 0 >= b.v >>> 0
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
    }
  }
  const [form, d, p, q, i] = pre;
  if (form === "I") {
    switch (op) {
      case Op.BEQ:
        return () =>
          ((d.v = (p.v + i) | 0), a.v === b.v)
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      case Op.BNE:
        return () =>
          ((d.v = (p.v + i) | 0), a.v !== b.v)
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      case Op.BLT:
        return () =>
          ((d.v = (p.v + i) | 0), a.v < b.v)
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      case Op.BGE:
        return () =>
          ((d.v = (p.v + i) | 0), a.v >= b.v)
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      case Op.BLTU:
        return () =>
          ((d.v = (p.v + i) | 0), a.v >>> 0 < b.v >>> 0)
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
      default: // BGEU
        return () =>
          ((d.v = (p.v + i) | 0), a.v >>> 0 >= b.v >>> 0)
            ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
            : ((gas -= fc) < 0 ? short(k1, fc) : then());
    }
  }
  switch (op) {
    case Op.BEQ:
      return () =>
        ((d.v = (p.v + q.v) | 0), a.v === b.v)
          ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
          : ((gas -= fc) < 0 ? short(k1, fc) : then());
    case Op.BNE:
      return () =>
        ((d.v = (p.v + q.v) | 0), a.v !== b.v)
          ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
          : ((gas -= fc) < 0 ? short(k1, fc) : then());
    case Op.BLT:
      return () =>
        ((d.v = (p.v + q.v) | 0), a.v < b.v)
          ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
          : ((gas -= fc) < 0 ? short(k1, fc) : then());
    case Op.BGE:
      return () =>
        ((d.v = (p.v + q.v) | 0), a.v >= b.v)
          ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
          : ((gas -= fc) < 0 ? short(k1, fc) : then());
    case Op.BLTU:
      return () =>
        ((d.v = (p.v + q.v) | 0), a.v >>> 0 < b.v >>> 0)
          ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
          : ((gas -= fc) < 0 ? short(k1, fc) : then());
    default: // BGEU
      return () =>
        ((d.v = (p.v + q.v) | 0), a.v >>> 0 >= b.v >>> 0)
          ? (gas -= tc) < 0 ? short(e, tc) : t ?? to()
          : ((gas -= fc) < 0 ? short(k1, fc) : then());
  }
}
