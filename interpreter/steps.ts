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
 * (_step_alu.ts), the memory (_step_memory.ts), the gas (_step_flow.ts) and
 * the engine here.
 * A host call or the trace hook may run another instance (of any program):
 * the state is given back to the engine before and taken again after.
 * @module
 */
import type { RunOutcome } from "../abi/engine.ts";
import type { TrapKind } from "../abi/errors.ts";
import { callImport } from "../abi/host.ts";
import { Op } from "../abi/isa.ts";
import { aluStep, type Box, loadRegisters, REG, type Step, storeRegisters } from "./_step_alu.ts";
import {
  branchStep,
  type Exits,
  gasLeft,
  gasStep,
  jal,
  jalr,
  landing,
  setGas,
  type Table,
} from "./_step_flow.ts";
import {
  type Entry,
  entryAt,
  fuses,
  type Linear,
  linear,
  pairStep,
  runStep,
  wordRun,
} from "./_step_fuse.ts";
import { atomicStep, bindMemory, memoryStep } from "./_step_memory.ts";
import { type CompiledCode, Pseudo } from "./compile.ts";
import type { Interpreter } from "./mod.ts";

/** The running instance's engine. */
let engine: Interpreter;
/** How the run ended, once a step returned null. */
let outcome: RunOutcome | "slice" = "return";

/** How the flow steps end a run. */
const EXITS: Exits = {
  outOfGas(at, gas, charge) {
    storeRegisters(engine.regs);
    return end(engine.outOfGas(at, gas, charge));
  },
  trap: (at, kind, address) => trap(at, kind, address),
  hostReturn: () => end(suspend() && "return"),
};

/** Takes the state of `s` into the steps' variables (when a run starts, after host calls). */
function resume(s: Interpreter): void {
  engine = s;
  setGas(s.gas - s.reserve, EXITS);
  loadRegisters(s.regs);
  bindMemory(s, fault);
}

/** Gives the registers and gas back to the engine. */
function suspend(): Interpreter {
  const s = engine;
  storeRegisters(s.regs);
  s.gas = gasLeft() + s.reserve;
  return s;
}

/** Ends the run with `result`. */
function end(result: RunOutcome | "slice"): null {
  outcome = result;
  return null;
}

/** Ends the run with a MemoryFault at entry `at`. */
function fault(at: number, address: number, access: "read" | "write"): void {
  storeRegisters(engine.regs);
  outcome = engine.fault(at, gasLeft(), address, access);
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
interface Steps extends Table {
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
    const table: Steps = {
      code,
      fns: new Array(entries),
      chain: new Uint8Array(entries),
      step: (k) => table.fns[k] ?? stepAt(table, k),
    };
    stepsOf.set(code, steps = table);
  }
  resume(s);
  const gas = gasLeft();
  if (charge !== 0) {
    if (gas < charge) return s.outOfGas(k, gas, charge);
    setGas(gas - charge, EXITS);
  }
  let step: Step | null = steps.step(k);
  do step = step(); while (step !== null);
  return outcome;
}

/** Whether op always continues at the next entry (its step may call the next step). */
function fallsThrough(op: number): boolean {
  return op >= Pseudo.GAS
    ? op !== Pseudo.JUMP_FAULT
    : (op >= Op.BEQ && op <= Op.AND) || (op >= Op.MUL && op <= Op.AMOMAXU_W);
}

/** Whether op is a conditional branch. */
function isBranch(op: number): boolean {
  return op >= Op.BEQ && op <= Op.BGEU;
}

/** A step that only returns the step of entry `k` to the loop (ends a chain). */
function returnTo(steps: Steps, k: number, next?: Step): Step {
  return () => next ?? (next = steps.step(k));
}

/**
 * Builds (and records) the step of entry `k`, compiling the stream there
 * first if needed; `depth` steps are being built before it (bounded by
 * `CHAIN`). Where entry k and the next make a pair that `pairStep` fuses,
 * or are a linear op and a branch, JAL or JALR, the step performs both
 * (unless `single`: the slow path of a fused pair).
 */
function stepAt(steps: Steps, k: number, depth = 0, single = false): Step {
  const code = steps.code;
  let first = entryAt(code, k);
  let pre: Linear | undefined;
  if (!single) {
    const l = linear(first);
    const next = l !== undefined ? entryAt(code, k + 1) : undefined;
    if (next !== undefined && (isBranch(next.op) || next.op === Op.JAL || next.op === Op.JALR)) {
      // LI as ADDI from x0: a read of x0 costs less than a call.
      [pre, first] = [l![0] === "K" ? ["I", l![1], REG[0], REG[0], l![4]] : l, next];
    }
  }
  const op = first.op;
  const at = pre === undefined ? k : k + 1;
  // Where the step goes on: past a branch, the next block's first entry after its GAS entry
  // (charged by the branch); past a pair, the entry after it.
  let [fc, n, run] = [0, at + 1, 1];
  let second: Entry | undefined;
  if (isBranch(op)) [fc, n] = landing(code, at + 1);
  else if (!single && fallsThrough(op)) {
    run = wordRun(code, k);
    const next = entryAt(code, k + 1);
    if (run > 1) n = k + run;
    else if (fuses(first, next, () => entryAt(code, k + 2))) [second, n] = [next, k + 2];
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
  let step: Step;
  let unfused: Step | undefined;
  const slow = () => (unfused ??= stepAt(steps, k, depth, true))();
  if (run > 1) step = runStep(code, k, run, then, slow);
  else if (second !== undefined) {
    step = pairStep(first, second, then, slow, () => steps.step(k + 1)());
  } else if (isBranch(op)) {
    step = branchStep(steps, op, REG[rs1], REG[rs2], imm, at + 1, fc, then, pre);
  } else {
    // JAL, JALR and EBREAK keep their encoded size in rs2 (compile.ts): the link or resume pc.
    const link = (code.pcs[at] + rs2) | 0;
    step = op === Op.JAL
      ? jal(steps, REG[rd], imm, link, pre)
      : op === Op.JALR
      ? jalr(steps, REG[rd], REG[rs1], imm, at, link, pre)
      : stepFor(steps, op, REG[rd], REG[rs1], REG[rs2], imm, k, link, then);
  }
  if (!single) {
    steps.fns[k] = step;
    steps.chain[k] = chain;
  }
  return step;
}

/**
 * The step of one entry (not a branch). Its operands are parameters,
 * captured by the closure: Ignition reads them as context slots, without
 * the hole checks that `let`/`const` captures cost.
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
      return gasStep(imm, k, then);
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
    case Op.ECALL:
      return () => hostCall(k, imm) ? then() : null;
    case Op.EBREAK:
      return () => trap(k, "Breakpoint", undefined, link >>> 0);
  }
  if (op >= Op.LB && op <= Op.SW) return memoryStep(op, op >= Op.SB ? b : d, a, imm, k, then);
  if (op >= Op.LR_W && op <= Op.AMOMAXU_W) return atomicStep(op, d, a, b, k, then);
  return aluStep(op, d, a, b, imm, then) ?? (() => trap(k, "InvalidInstruction"));
}
