/**
 * The interpreter's second loop, for V8 without its JIT (`--jitless`:
 * Ignition bytecode only). There the `switch` loop of run.ts pays for
 * decoding each entry's fields and for the guard V8 puts in front of every
 * jump table; here each entry of the compiled stream (compile.ts) becomes,
 * on first execution, a closure that performs it with its operands as
 * captured constants and returns the next entry, so the loop is one keyed
 * load and one call per entry (interpreter/README.md has the figures). The
 * closures are built from the stream's words, so both loops share its
 * layout, lazy filling, gas blocks and trap pcs, and are tested alike.
 *
 * The closures belong to the program (shared by its instances): per-instance
 * state reaches them as arguments, the registers and a {@linkcode StepState}.
 * @module
 */
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import type { RunOutcome } from "../abi/engine.ts";
import type { TrapKind } from "../abi/errors.ts";
import { callImport } from "../abi/host.ts";
import { Op } from "../abi/isa.ts";
import type { GuestMemory } from "../abi/memory.ts";
import { amo, div, divu, mulh, mulhsu, mulhu, rem, remu } from "./_arith.ts";
import { type CompiledCode, Pseudo, UNCOMPILED } from "./compile.ts";
import type { Interpreter } from "./mod.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One entry of the stream as a closure: performs it, returns the next entry or `STOP`. */
type Step = (r: number[], t: StepState) => number;

/** What a step returns to end the run; the outcome waits in `StepState.outcome`. */
const STOP = -1;

/** The per-instance state steps read, in one small object of stable shape. */
export class StepState {
  /** This slice's gas (the rest waits in `Interpreter.reserve`). */
  gas = 0;
  /**
   * The registers while steps run, as a plain array of small integers
   * (every value int32): Ignition indexes it faster than the Int32Array
   * `Interpreter.regs`, which gets them back (`store`) before anything
   * else can see them: a host call, the trace hook, a trap or the end of
   * the run.
   */
  readonly x: number[] = Array.from({ length: 33 }, () => 0);
  /** The memory's bytes and view, and its fast windows as in run.ts; reloaded after host calls. */
  u8: Uint8Array;
  dv: DataView;
  /**
   * The bytes as words, for aligned word accesses (an indexed load costs
   * Ignition less than a DataView call); `unaligned` is 1 where the words
   * do not line up with guest addresses or the host is big-endian, so that
   * `((offset | unaligned) & 3) === 0` picks them exactly when they apply.
   */
  words: Int32Array;
  unaligned = 1;
  base = 0;
  rs = 0;
  rl1 = 0;
  ws = 0;
  wl1 = 0;
  /** How the run ended, once a step returned `STOP`. */
  outcome: RunOutcome | "slice" = "return";
  readonly mem: GuestMemory;

  constructor(readonly s: Interpreter) {
    this.mem = s.memory;
    this.u8 = this.mem.bytes;
    this.dv = this.mem.view;
    this.words = new Int32Array(0);
    this.reload();
  }

  /** Reads the memory's backing and windows (at the start and after every host call). */
  reload(): void {
    const m = this.mem;
    if (m.bytes !== this.u8 || this.words.length === 0) {
      this.u8 = m.bytes;
      this.dv = m.view;
      const aligned = this.u8.byteOffset % 4 === 0 && m.base % 4 === 0 && LITTLE_ENDIAN;
      this.words = new Int32Array(this.u8.buffer, this.u8.byteOffset, this.u8.length >>> 2);
      this.unaligned = aligned ? 0 : 1;
    }
    this.base = m.base;
    this.rs = m.readStart;
    this.rl1 = m.readEnd - m.readStart - 1;
    this.ws = m.writeStart;
    this.wl1 = m.writeEnd - m.writeStart - 1;
  }

  /** Takes the registers from `Interpreter.regs`. */
  load(): void {
    const x = this.x, regs = this.s.regs;
    for (let i = 0; i < 32; i++) x[i] = regs[i];
  }

  /** Gives the registers back to `Interpreter.regs`. */
  store(): void {
    const x = this.x, regs = this.s.regs;
    for (let i = 1; i < 32; i++) regs[i] = x[i];
  }

  /** Ends the run with `outcome`. */
  end(outcome: RunOutcome | "slice"): number {
    this.outcome = outcome;
    return STOP;
  }

  /** Ends the run: out of gas at entry `at` (after `charge`, see `Interpreter.outOfGas`). */
  outOfGas(at: number, charge: number): number {
    this.store();
    return this.end(this.s.outOfGas(at, this.gas, charge));
  }

  /** Ends the run with a MemoryFault at entry `at`. */
  fault(at: number, address: number, access: "read" | "write"): number {
    this.store();
    return this.end(this.s.fault(at, this.gas, address, access));
  }

  /**
   * The slow path of an access outside the fast window: false when `size`
   * bytes at `address` are accessible, else true after ending the run with
   * a MemoryFault at entry `at`.
   */
  inaccessible(at: number, address: number, size: number, write: boolean): boolean {
    if (this.mem.accessible(address, size, write)) return false;
    this.fault(at, address, write ? "write" : "read");
    return true;
  }

  /** Ends the run with a trap of `kind` at entry `at`. */
  trap(at: number, kind: TrapKind, address?: number, resumePc = -1): number {
    this.store();
    this.s.gas = this.gas + this.s.reserve;
    return this.end(this.s.raise(at, kind, address, undefined, resumePc));
  }

  /** Performs host call `index` at entry `at`; returns the next entry or `STOP`. */
  hostCall(at: number, index: number): number {
    const s = this.s;
    this.store();
    s.gas = this.gas + s.reserve;
    const outcome = callImport(s, s.imports[index]);
    this.gas = s.gas - s.reserve;
    this.load();
    if (outcome === "exit") return this.end("exit");
    if (outcome !== undefined) {
      return this.end(s.raise(at, "HostError", undefined, undefined, -1, outcome.error));
    }
    this.reload(); // the host may have moved the break
    return at + 1;
  }

  /** Ends the run returning to the host (the caller's `ra` was reached). */
  hostReturn(): number {
    this.store();
    this.s.gas = this.gas + this.s.reserve;
    return this.end("return");
  }
}

/**
 * The steps of a compiled stream, by entry, and the length of the chain of
 * calls each makes: a step that falls through calls the next one itself
 * instead of returning to the loop (a call costs Ignition less than a trip
 * through the loop), up to `CHAIN` deep, which bounds the stack it uses.
 */
interface Steps {
  readonly fns: Step[];
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
  state: StepState,
  code: CompiledCode,
  k: number,
  charge: number,
): RunOutcome | "slice" {
  let steps = stepsOf.get(code);
  if (steps === undefined) {
    const entries = code.pcs.length;
    stepsOf.set(code, steps = { fns: new Array(entries), chain: new Uint8Array(entries) });
  }
  const fns = steps.fns;
  const t = state;
  const r = t.x;
  t.load();
  t.reload();
  t.gas = s.gas - s.reserve;
  if (charge !== 0) {
    if (t.gas < charge) return s.outOfGas(k, t.gas, charge);
    t.gas -= charge;
  }
  for (;;) {
    let step = fns[k];
    if (step === undefined) step = stepAt(code, steps, k);
    k = step(r, t);
    if (k < 0) return t.outcome;
  }
}

/** Whether op always continues at the next entry (its step may call the next step). */
function fallsThrough(op: number): boolean {
  return op >= Pseudo.GAS ? op !== Pseudo.JUMP_FAULT : (op >= Op.LB && op <= Op.AND)
    || (op >= Op.MUL && op <= Op.AMOMAXU_W);
}

/** A step that only returns entry `next` to the loop (ends a chain). */
function returnTo(next: number): Step {
  return () => next;
}

/**
 * Builds (and records) the step of entry `k`, compiling the stream there
 * first if needed; `depth` steps are being built before it (bounded by `CHAIN`).
 */
function stepAt(code: CompiledCode, steps: Steps, k: number, depth = 0): Step {
  const { insn, pcs } = code;
  if (insn[k << 1] === UNCOMPILED) code.fill(k);
  const w = insn[k << 1];
  const [op, rd, rs1, rs2, imm] = [
    w & 255,
    (w >>> 8) & 63,
    (w >>> 14) & 63,
    (w >>> 20) & 63,
    insn[(k << 1) + 1],
  ];
  let then = returnTo(k + 1);
  let chain = 1;
  if (fallsThrough(op)) {
    const next = steps.fns[k + 1]
      ?? (depth < CHAIN ? stepAt(code, steps, k + 1, depth + 1) : undefined);
    if (next !== undefined && steps.chain[k + 1] < CHAIN) {
      [then, chain] = [next, steps.chain[k + 1] + 1];
    } else chain = 2;
  }
  // JAL, JALR and EBREAK keep their encoded size in rs2 (compile.ts): the link or resume pc.
  const link = (pcs[k] + rs2) | 0;
  const step = stepFor(code, op, rd, rs1, rs2, imm, k, link, then);
  steps.fns[k] = step;
  steps.chain[k] = chain;
  return step;
}

/**
 * The step of one entry. Its operands are parameters, captured by the
 * closure: Ignition reads them as context slots, without the hole checks
 * that `let`/`const` captures cost.
 */
function stepFor(
  code: CompiledCode,
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
  k: number,
  link: number,
  then: Step,
): Step {
  switch (op) {
    case Pseudo.GAS:
      return (r, t) => {
        if (t.gas < imm) return t.outOfGas(k, 0);
        t.gas -= imm;
        return then(r, t);
      };
    case Pseudo.LI:
      return (r, t) => {
        r[rd] = imm;
        return then(r, t);
      };
    case Pseudo.MV:
      return (r, t) => {
        r[rd] = r[rs1];
        return then(r, t);
      };
    case Pseudo.NOP:
      return then;
    case Pseudo.JUMP_FAULT:
      return (_r, t) => t.trap(k, "InvalidJump", imm >>> 0);
    case Pseudo.TRACE:
      return (r, t) => {
        t.store();
        t.s.trace!(code.pcs[k], t.s.regs);
        return then(r, t);
      };
    case Op.BEQ:
      return (r, t) => r[rs1] === r[rs2] ? imm : then(r, t);
    case Op.BNE:
      return (r, t) => r[rs1] !== r[rs2] ? imm : then(r, t);
    case Op.BLT:
      return (r, t) => r[rs1] < r[rs2] ? imm : then(r, t);
    case Op.BGE:
      return (r, t) => r[rs1] >= r[rs2] ? imm : then(r, t);
    case Op.BLTU:
      return (r, t) => r[rs1] >>> 0 < r[rs2] >>> 0 ? imm : then(r, t);
    case Op.BGEU:
      return (r, t) => r[rs1] >>> 0 >= r[rs2] >>> 0 ? imm : then(r, t);
    case Op.JAL:
      return (r) => {
        r[rd] = link;
        return imm;
      };
    case Op.JALR:
      return jalr(code, code.entryOf, code.midCost, rd, rs1, imm, k, link);
    case Op.ECALL:
      return (_r, t) => t.hostCall(k, imm);
    case Op.EBREAK:
      return (_r, t) => t.trap(k, "Breakpoint", undefined, link >>> 0);
  }
  if (op >= Op.LB && op <= Op.SW) return memoryStep(op, rd, rs1, rs2, imm, k, then);
  if (op >= Op.LR_W && op <= Op.AMOMAXU_W) return atomicStep(op, rd, rs1, rs2, k, then);
  return aluStep(op, rd, rs1, rs2, imm, then)
    ?? ((_r, t) => t.trap(k, "InvalidInstruction"));
}

/** JALR: to the host, to a known entry, or resolving its target on first use. */
function jalr(
  code: CompiledCode,
  entryOf: Int32Array,
  midCost: Uint32Array,
  rd: number,
  rs1: number,
  imm: number,
  k: number,
  link: number,
) {
  return (r: number[], t: StepState): number => {
    const target = ((r[rs1] + imm) & ~1) >>> 0;
    if (target === HOST_RETURN_ADDRESS) {
      r[rd] = link;
      return t.hostReturn();
    }
    const offset = target - code.codeStart;
    let e = offset >= 0 && offset < code.flatLength ? entryOf[offset >>> 1] - 1 : -1;
    if (e < 0) {
      e = code.enter(target);
      if (e < 0) return t.trap(k, "InvalidJump", target);
    }
    r[rd] = link;
    const cost = midCost[e];
    if (cost !== 0) {
      if (t.gas < cost) return t.outOfGas(e, cost);
      t.gas -= cost;
    }
    return e;
  };
}

/**
 * The narrow accesses: size, whether a write, and how each moves register
 * `reg` from or to the bytes at offset `o`.
 */
const NARROW: Record<number, [number, boolean, Access]> = {
  [Op.LB]: [1, false, (t, o, r, reg) => r[reg] = (t.u8[o] << 24) >> 24],
  [Op.LH]: [2, false, (t, o, r, reg) => r[reg] = t.dv.getInt16(o, true)],
  [Op.LBU]: [1, false, (t, o, r, reg) => r[reg] = t.u8[o]],
  [Op.LHU]: [2, false, (t, o, r, reg) => r[reg] = t.dv.getUint16(o, true)],
  [Op.SB]: [1, true, (t, o, r, reg) => t.u8[o] = r[reg]],
  [Op.SH]: [2, true, (t, o, r, reg) => t.dv.setInt16(o, r[reg], true)],
};
type Access = (t: StepState, o: number, r: number[], reg: number) => void;

/**
 * Loads and stores, through the fast window or the exact check (as in
 * run.ts). Words, the most frequent, access memory inline; bytes and
 * halves through a function (one call more).
 */
function memoryStep(
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
  k: number,
  then: Step,
): Step {
  if (op === Op.LW) {
    return (r, t) => {
      const a = (r[rs1] + imm) >>> 0;
      if ((a - t.rs) >>> 0 > t.rl1 - 3 && t.inaccessible(k, a, 4, false)) return STOP;
      const o = a - t.base;
      r[rd] = ((o | t.unaligned) & 3) === 0 ? t.words[o >>> 2] : t.dv.getInt32(o, true);
      return then(r, t);
    };
  }
  if (op === Op.SW) {
    return (r, t) => {
      const a = (r[rs1] + imm) >>> 0;
      if ((a - t.ws) >>> 0 > t.wl1 - 3 && t.inaccessible(k, a, 4, true)) return STOP;
      const o = a - t.base;
      if (((o | t.unaligned) & 3) === 0) t.words[o >>> 2] = r[rs2];
      else t.dv.setInt32(o, r[rs2], true);
      return then(r, t);
    };
  }
  const [size, write, access] = NARROW[op];
  return narrowStep(size, size - 1, write, access, write ? rs2 : rd, rs1, imm, k, then);
}

/** A load or store of 1 or 2 bytes (`last` = size - 1) through `access`. */
function narrowStep(
  size: number,
  last: number,
  write: boolean,
  access: Access,
  reg: number,
  rs1: number,
  imm: number,
  k: number,
  then: Step,
): Step {
  return (r, t) => {
    const a = (r[rs1] + imm) >>> 0;
    const outside = write ? (a - t.ws) >>> 0 > t.wl1 - last : (a - t.rs) >>> 0 > t.rl1 - last;
    if (outside && t.inaccessible(k, a, size, write)) return STOP;
    access(t, a - t.base, r, reg);
    return then(r, t);
  };
}

/** LR.W and SC.W, with the instance's reservation, and the AMOs. */
function atomicStep(
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  k: number,
  then: Step,
): Step {
  if (op === Op.LR_W) {
    return (r, t) => {
      const a = r[rs1] >>> 0;
      if ((a - t.rs) >>> 0 > t.rl1 - 3 && t.inaccessible(k, a, 4, false)) return STOP;
      r[rd] = t.dv.getInt32(a - t.base, true);
      t.s.reservation = a;
      return then(r, t);
    };
  }
  if (op === Op.SC_W) {
    return (r, t) => {
      const a = r[rs1] >>> 0;
      if ((a - t.ws) >>> 0 > t.wl1 - 3 && t.inaccessible(k, a, 4, true)) return STOP;
      if (t.s.reservation === a) {
        t.dv.setInt32(a - t.base, r[rs2], true);
        r[rd] = 0;
      } else r[rd] = 1;
      t.s.reservation = -1;
      return then(r, t);
    };
  }
  // The AMOs: read, combine with rs2 (`amo`), write.
  return (r, t) => {
    const a = r[rs1] >>> 0;
    if ((a - t.ws) >>> 0 > t.wl1 - 3 && t.inaccessible(k, a, 4, true)) return STOP;
    const old = t.dv.getInt32(a - t.base, true);
    t.dv.setInt32(a - t.base, amo(op, old, r[rs2]), true);
    r[rd] = old;
    return then(r, t);
  };
}

/** Register arithmetic, or undefined for an op that is none. */
function aluStep(
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
  then: Step,
): Step | undefined {
  switch (op) {
    case Op.ADDI:
      return (r, t) => {
        r[rd] = (r[rs1] + imm) | 0;
        return then(r, t);
      };
    case Op.SLTI:
      return (r, t) => {
        r[rd] = r[rs1] < imm ? 1 : 0;
        return then(r, t);
      };
    case Op.SLTIU:
      return (r, t) => {
        r[rd] = r[rs1] >>> 0 < imm >>> 0 ? 1 : 0;
        return then(r, t);
      };
    case Op.XORI:
      return (r, t) => {
        r[rd] = r[rs1] ^ imm;
        return then(r, t);
      };
    case Op.ORI:
      return (r, t) => {
        r[rd] = r[rs1] | imm;
        return then(r, t);
      };
    case Op.ANDI:
      return (r, t) => {
        r[rd] = r[rs1] & imm;
        return then(r, t);
      };
    case Op.SLLI:
      return (r, t) => {
        r[rd] = r[rs1] << imm;
        return then(r, t);
      };
    case Op.SRLI:
      return (r, t) => {
        r[rd] = (r[rs1] >>> imm) | 0;
        return then(r, t);
      };
    case Op.SRAI:
      return (r, t) => {
        r[rd] = r[rs1] >> imm;
        return then(r, t);
      };
    case Op.ADD:
      return (r, t) => {
        r[rd] = (r[rs1] + r[rs2]) | 0;
        return then(r, t);
      };
    case Op.SUB:
      return (r, t) => {
        r[rd] = (r[rs1] - r[rs2]) | 0;
        return then(r, t);
      };
    case Op.SLL:
      return (r, t) => {
        r[rd] = r[rs1] << r[rs2];
        return then(r, t);
      };
    case Op.SLT:
      return (r, t) => {
        r[rd] = r[rs1] < r[rs2] ? 1 : 0;
        return then(r, t);
      };
    case Op.SLTU:
      return (r, t) => {
        r[rd] = r[rs1] >>> 0 < r[rs2] >>> 0 ? 1 : 0;
        return then(r, t);
      };
    case Op.XOR:
      return (r, t) => {
        r[rd] = r[rs1] ^ r[rs2];
        return then(r, t);
      };
    case Op.SRL:
      return (r, t) => {
        r[rd] = (r[rs1] >>> r[rs2]) | 0;
        return then(r, t);
      };
    case Op.SRA:
      return (r, t) => {
        r[rd] = r[rs1] >> r[rs2];
        return then(r, t);
      };
    case Op.OR:
      return (r, t) => {
        r[rd] = r[rs1] | r[rs2];
        return then(r, t);
      };
    case Op.AND:
      return (r, t) => {
        r[rd] = r[rs1] & r[rs2];
        return then(r, t);
      };
    case Op.MUL:
      return (r, t) => {
        r[rd] = Math.imul(r[rs1], r[rs2]);
        return then(r, t);
      };
  }
  const f = MULDIV[op];
  if (f === undefined) return undefined;
  return (r, t) => {
    r[rd] = f(r[rs1], r[rs2]) | 0;
    return then(r, t);
  };
}

/** The M extension's ops beyond MUL, as functions of rs1 and rs2. */
const MULDIV: Record<number, (a: number, b: number) => number> = {
  [Op.MULH]: mulh,
  [Op.MULHSU]: mulhsu,
  [Op.MULHU]: mulhu,
  [Op.DIV]: div,
  [Op.DIVU]: divu,
  [Op.REM]: rem,
  [Op.REMU]: remu,
};
