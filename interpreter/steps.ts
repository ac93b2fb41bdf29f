/**
 * The interpreter's second loop, for V8 without its JIT (`--jitless`:
 * Ignition bytecode only). There the `switch` loop of run.ts pays for
 * decoding each entry's fields and for the guard V8 puts in front of every
 * jump table; here each entry of the compiled stream (compile.ts) becomes,
 * on first execution, a closure (a step) that performs it with its operands
 * captured and returns the next step, so the loop is one call per step
 * (interpreter/README.md has the figures). The steps are built from the
 * stream's words, so both loops share its layout, lazy filling, gas blocks
 * and trap pcs, and are tested alike.
 *
 * The steps belong to the program (shared by its instances). What they
 * work on is the running instance's, held in variables of these modules
 * while it runs (one run executes steps at a time): the registers
 * (_step_alu.ts), the memory (_step_memory.ts), the gas and the engine here.
 * A host call or the trace hook may run another instance (of any program):
 * the state is given back to the engine before and taken again after.
 * @module
 */
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import type { RunOutcome } from "../abi/engine.ts";
import type { TrapKind } from "../abi/errors.ts";
import { callImport } from "../abi/host.ts";
import { Op } from "../abi/isa.ts";
import { aluStep, type Box, loadRegisters, REG, type Step, storeRegisters } from "./_step_alu.ts";
import { type Entry, entryAt, fuses, pairStep } from "./_step_fuse.ts";
import { atomicStep, bindMemory, memoryStep } from "./_step_memory.ts";
import { type CompiledCode, Pseudo, UNCOMPILED } from "./compile.ts";
import type { Interpreter } from "./mod.ts";

/** The running instance's engine. */
let engine: Interpreter;
/** Its slice's gas (the rest waits in `Interpreter.reserve`). */
let gas = 0;
/** How the run ended, once a step returned null. */
let outcome: RunOutcome | "slice" = "return";

/** Takes the state of `s` into the steps' variables (when a run starts, after host calls). */
function resume(s: Interpreter): void {
  engine = s;
  gas = s.gas - s.reserve;
  loadRegisters(s.regs);
  bindMemory(s, fault);
}

/** Gives the registers and gas back to the engine. */
function suspend(): Interpreter {
  const s = engine;
  storeRegisters(s.regs);
  s.gas = gas + s.reserve;
  return s;
}

/** Ends the run with `result`. */
function end(result: RunOutcome | "slice"): null {
  outcome = result;
  return null;
}

/** Ends the run: out of gas at entry `at` (after `charge`, see `Interpreter.outOfGas`). */
function outOfGas(at: number, charge: number): null {
  storeRegisters(engine.regs);
  return end(engine.outOfGas(at, gas, charge));
}

/** Ends the run with a MemoryFault at entry `at`. */
function fault(at: number, address: number, access: "read" | "write"): void {
  storeRegisters(engine.regs);
  outcome = engine.fault(at, gas, address, access);
}

/** Ends the run with a trap of `kind` at entry `at`. */
function trap(at: number, kind: TrapKind, address?: number, resumePc = -1): null {
  return end(suspend().raise(at, kind, address, undefined, resumePc));
}

/** Performs host call `index` at entry `at`: whether the run goes on. */
function hostCall(at: number, index: number): boolean {
  const s = suspend();
  const result = callImport(s, s.imports[index]);
  resume(s); // the host may have run other instances, set registers or moved the break
  if (result === undefined) return true;
  storeRegisters(s.regs);
  end(
    result === "exit" ? "exit" : s.raise(at, "HostError", undefined, undefined, -1, result.error),
  );
  return false;
}

/**
 * The steps of a compiled stream, by entry, and the length of the chain of
 * calls each makes: a step that goes on at the next entry calls its step
 * itself instead of returning it to the loop (a call costs Ignition less
 * than a trip through the loop), up to `CHAIN` deep, which bounds the stack
 * it uses.
 */
interface Steps {
  readonly code: CompiledCode;
  readonly fns: (Step | undefined)[];
  readonly chain: Uint8Array;
}

/** The longest chain of steps calling each other. */
const CHAIN = 32;

// By compiled stream: the steps live as long as it (recycled programs get a new stream).
const stepsOf = new WeakMap<CompiledCode, Steps>();

/**
 * Runs from entry `k` after charging `charge`, like run.ts's `execute`
 * (same arguments, same outcomes, same state on return).
 */
export function executeSteps(
  s: Interpreter,
  code: CompiledCode,
  k: number,
  charge: number,
): RunOutcome | "slice" {
  let steps = stepsOf.get(code);
  if (steps === undefined) {
    const entries = code.pcs.length;
    steps = { code, fns: new Array(entries), chain: new Uint8Array(entries) };
    stepsOf.set(code, steps);
  }
  resume(s);
  if (charge !== 0) {
    if (gas < charge) return s.outOfGas(k, gas, charge);
    gas -= charge;
  }
  let step: Step | null = stepOf(steps, k);
  do step = step(); while (step !== null);
  return outcome;
}

/** The step of entry `k`, built on first use. */
function stepOf(steps: Steps, k: number): Step {
  return steps.fns[k] ?? stepAt(steps, k);
}

/** Whether op always continues at the next entry (its step may call the next step). */
function fallsThrough(op: number): boolean {
  return op >= Pseudo.GAS
    ? op !== Pseudo.JUMP_FAULT
    : (op >= Op.BEQ && op <= Op.AND) || (op >= Op.MUL && op <= Op.AMOMAXU_W);
}

/** A step that only returns the step of entry `k` to the loop (ends a chain). */
function returnTo(steps: Steps, k: number, next?: Step): Step {
  return () => next ?? (next = stepOf(steps, k));
}

/**
 * Where a jump to entry `e` lands: a GAS entry's charge and the entry after
 * it (the jump charges the block itself, saving the GAS step's call), or
 * nothing to charge and `e` itself (a fault stub, an indirect entry).
 */
function landing(code: CompiledCode, e: number): [number, number] {
  const insn = code.insn;
  if (insn[e << 1] === UNCOMPILED) code.fill(e);
  return (insn[e << 1] & 255) === Pseudo.GAS ? [insn[(e << 1) + 1], e + 1] : [0, e];
}

/**
 * Builds (and records) the step of entry `k`, compiling the stream there
 * first if needed; `depth` steps are being built before it (bounded by
 * `CHAIN`). Where entry k and the next make a pair that `pairStep` fuses,
 * the step performs both (unless `single`: the slow path of a fused pair).
 */
function stepAt(steps: Steps, k: number, depth = 0, single = false): Step {
  const code = steps.code;
  const first = entryAt(code, k);
  const op = first.op;
  // Where the step goes on: past a branch, the next block's first entry after its GAS entry
  // (charged by the branch); past a pair, the entry after it.
  let [fc, n] = [0, k + 1];
  let second: Entry | undefined;
  if (op >= Op.BEQ && op <= Op.BGEU) [fc, n] = landing(code, k + 1);
  else if (!single && fallsThrough(op)) {
    const next = entryAt(code, k + 1);
    if (fuses(first, next)) [second, n] = [next, k + 2];
  }
  let then = returnTo(steps, n);
  let chain = 1;
  if (fallsThrough(op)) {
    const next = steps.fns[n] ?? (depth < CHAIN ? stepAt(steps, n, depth + 1) : undefined);
    if (next !== undefined && steps.chain[n] < CHAIN) {
      [then, chain] = [next, steps.chain[n] + 1];
    } else chain = 2;
  }
  const { rd, rs1, rs2, imm } = first;
  // JAL, JALR and EBREAK keep their encoded size in rs2 (compile.ts): the link or resume pc.
  const link = (code.pcs[k] + rs2) | 0;
  let step: Step;
  if (second !== undefined) {
    let slow: Step | undefined;
    step = pairStep(first, second, then, () => (slow ??= stepAt(steps, k, depth, true))());
  } else if (op >= Op.BEQ && op <= Op.BGEU) {
    step = branchStep(steps, op, REG[rs1], REG[rs2], imm, k + 1, fc, then);
  } else step = stepFor(steps, op, REG[rd], REG[rs1], REG[rs2], imm, k, link, then);
  if (!single) {
    steps.fns[k] = step;
    steps.chain[k] = chain;
  }
  return step;
}

/**
 * The step of one entry. Its operands are parameters, captured by the
 * closure: Ignition reads them as context slots, without the hole checks
 * that `let`/`const` captures cost.
 */
function stepFor(
  steps: Steps,
  op: number,
  d: Box,
  a: Box,
  b: Box,
  imm: number,
  k: number,
  link: number,
  then: Step,
): Step {
  switch (op) {
    case Pseudo.GAS:
      return () => {
        if (gas < imm) return outOfGas(k, 0);
        gas -= imm;
        return then();
      };
    case Pseudo.LI:
      return () => {
        d.v = imm;
        return then();
      };
    case Pseudo.MV:
      return () => {
        d.v = a.v;
        return then();
      };
    case Pseudo.NOP:
      return then;
    case Pseudo.JUMP_FAULT:
      return () => trap(k, "InvalidJump", imm >>> 0);
    case Pseudo.TRACE:
      return () => {
        const s = suspend();
        s.trace!(steps.code.pcs[k], s.regs);
        resume(s);
        return then();
      };
    case Op.JAL:
      return jal(steps, d, imm, link);
    case Op.JALR:
      return jalr(steps, d, a, imm, k, link);
    case Op.ECALL:
      return () => hostCall(k, imm) ? then() : null;
    case Op.EBREAK:
      return () => trap(k, "Breakpoint", undefined, link >>> 0);
  }
  if (op >= Op.LB && op <= Op.SW) return memoryStep(op, op >= Op.SB ? b : d, a, imm, k, then);
  if (op >= Op.LR_W && op <= Op.AMOMAXU_W) return atomicStep(op, d, a, b, k, then);
  return aluStep(op, d, a, b, imm, then) ?? (() => trap(k, "InvalidInstruction"));
}

/** JAL: charges the target block and returns its step (`t`, built on first use) to the loop. */
function jal(steps: Steps, d: Box, e: number, link: number, t?: Step, tc = 0): Step {
  return () => {
    d.v = link;
    if (t === undefined) {
      const [cost, n] = landing(steps.code, e);
      [t, tc] = [stepOf(steps, n), cost];
    }
    if (gas < tc) return outOfGas(e, 0);
    gas -= tc;
    return t;
  };
}

/**
 * A conditional branch to entry `e`, or on to entry `k1`. Both are blocks
 * (k1 the one after the branch) whose gas the step charges: `tc` and `fc`
 * (`landing`). Taken, it returns the target's step (`t`, built on first
 * use) to the loop; not taken, it goes on in the chain.
 */
function branchStep(
  steps: Steps,
  op: number,
  a: Box,
  b: Box,
  e: number,
  k1: number,
  fc: number,
  then: Step,
): Step {
  const [tc, n] = landing(steps.code, e);
  let t: Step | undefined;
  const to = (): Step => t = stepOf(steps, n);
  switch (op) {
    case Op.BEQ:
      return () =>
        a.v === b.v
          ? gas < tc ? outOfGas(e, 0) : (gas -= tc, t ?? to())
          : gas < fc
          ? outOfGas(k1, 0)
          : (gas -= fc, then());
    case Op.BNE:
      return () =>
        a.v !== b.v
          ? gas < tc ? outOfGas(e, 0) : (gas -= tc, t ?? to())
          : gas < fc
          ? outOfGas(k1, 0)
          : (gas -= fc, then());
    case Op.BLT:
      return () =>
        a.v < b.v
          ? gas < tc ? outOfGas(e, 0) : (gas -= tc, t ?? to())
          : gas < fc
          ? outOfGas(k1, 0)
          : (gas -= fc, then());
    case Op.BGE:
      return () =>
        a.v >= b.v
          ? gas < tc ? outOfGas(e, 0) : (gas -= tc, t ?? to())
          : gas < fc
          ? outOfGas(k1, 0)
          : (gas -= fc, then());
    case Op.BLTU:
      return () =>
        a.v >>> 0 < b.v >>> 0
          ? gas < tc ? outOfGas(e, 0) : (gas -= tc, t ?? to())
          : gas < fc
          ? outOfGas(k1, 0)
          : (gas -= fc, then());
    default: // BGEU
      return () =>
        a.v >>> 0 >= b.v >>> 0
          ? gas < tc ? outOfGas(e, 0) : (gas -= tc, t ?? to())
          : gas < fc
          ? outOfGas(k1, 0)
          : (gas -= fc, then());
  }
}

/** JALR: to the host, to a known entry, or resolving its target on first use. */
function jalr(steps: Steps, d: Box, a: Box, imm: number, k: number, link: number): Step {
  const { code, fns } = steps;
  const { insn, entryOf, midCost, codeStart, flatLength } = code;
  return () => {
    const target = ((a.v + imm) & ~1) >>> 0;
    if (target === HOST_RETURN_ADDRESS) {
      d.v = link;
      return end(suspend() && "return");
    }
    const offset = target - codeStart;
    let e = offset >= 0 && offset < flatLength ? entryOf[offset >>> 1] - 1 : -1;
    if (e < 0) {
      e = code.enter(target);
      if (e < 0) return trap(k, "InvalidJump", target);
    }
    d.v = link;
    const cost = midCost[e];
    if (cost !== 0) {
      if (gas < cost) return outOfGas(e, cost);
      gas -= cost;
      return fns[e] ?? stepAt(steps, e);
    }
    // An instruction that starts a block: e is its GAS entry, charged here.
    const c = insn[(e << 1) + 1];
    if (gas < c) return outOfGas(e, 0);
    gas -= c;
    return fns[e + 1] ?? stepAt(steps, e + 1);
  };
}
