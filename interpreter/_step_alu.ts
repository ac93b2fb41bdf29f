/**
 * The steps loop's registers and its register arithmetic (steps.ts has the
 * loop). Each register is a box, an object with one field `v`, and a step
 * captures the boxes of its operands: Ignition reads a captured box's field
 * with a named load, about half the cost of a keyed load from an array
 * indexed by a captured register number (interpreter/README.md).
 * @module
 */
import { Op } from "../abi/isa.ts";
import { div, divu, mulh, mulhsu, mulhu, rem, remu } from "./_arith.ts";

/** One entry of the stream as a closure: performs it, returns the next step to run, or null to stop. */
export type Step = () => Step | null;

/** A register: its value (always an int32, so a small integer to V8). */
export interface Box {
  v: number;
}

/**
 * The registers while steps run: x0..x31, then the sink for writes to x0
 * (compile.ts). One set for the whole process, shared by every program and
 * instance: only one run executes steps at a time, and each loads its
 * registers from `Interpreter.regs` when it starts or resumes and gives them
 * back before anything else runs (a host call, the trace hook, a trap or the
 * end of the run).
 */
export const REG: readonly Box[] = Array.from({ length: 33 }, () => ({ v: 0 }));

/** Copies `regs` (x0..x31) into the boxes. */
export function loadRegisters(regs: Int32Array): void {
  for (let i = 0; i < 32; i++) REG[i].v = regs[i];
}

/** Copies the boxes back into `regs` (x1..x31). */
export function storeRegisters(regs: Int32Array): void {
  for (let i = 1; i < 32; i++) regs[i] = REG[i].v;
}

/** Register arithmetic on boxes `d`, `a`, `b`, then `then`; undefined for an op that is none. */
export function aluStep(
  op: number,
  d: Box,
  a: Box,
  b: Box,
  imm: number,
  then: Step,
): Step | undefined {
  switch (op) {
    case Op.ADDI:
      return () => {
        d.v = (a.v + imm) | 0;
        return then();
      };
    case Op.SLTI:
      return () => {
        d.v = a.v < imm ? 1 : 0;
        return then();
      };
    case Op.SLTIU:
      return () => {
        d.v = a.v >>> 0 < imm >>> 0 ? 1 : 0;
        return then();
      };
    case Op.XORI:
      return () => {
        d.v = a.v ^ imm;
        return then();
      };
    case Op.ORI:
      return () => {
        d.v = a.v | imm;
        return then();
      };
    case Op.ANDI:
      return () => {
        d.v = a.v & imm;
        return then();
      };
    case Op.SLLI:
      return () => {
        d.v = a.v << imm;
        return then();
      };
    case Op.SRLI:
      return () => {
        d.v = (a.v >>> imm) | 0;
        return then();
      };
    case Op.SRAI:
      return () => {
        d.v = a.v >> imm;
        return then();
      };
    case Op.ADD:
      return () => {
        d.v = (a.v + b.v) | 0;
        return then();
      };
    case Op.SUB:
      return () => {
        d.v = (a.v - b.v) | 0;
        return then();
      };
    case Op.SLL:
      return () => {
        d.v = a.v << b.v;
        return then();
      };
    case Op.SLT:
      return () => {
        d.v = a.v < b.v ? 1 : 0;
        return then();
      };
    case Op.SLTU:
      return () => {
        d.v = a.v >>> 0 < b.v >>> 0 ? 1 : 0;
        return then();
      };
    case Op.XOR:
      return () => {
        d.v = a.v ^ b.v;
        return then();
      };
    case Op.SRL:
      return () => {
        d.v = (a.v >>> b.v) | 0;
        return then();
      };
    case Op.SRA:
      return () => {
        d.v = a.v >> b.v;
        return then();
      };
    case Op.OR:
      return () => {
        d.v = a.v | b.v;
        return then();
      };
    case Op.AND:
      return () => {
        d.v = a.v & b.v;
        return then();
      };
    case Op.MUL:
      return () => {
        d.v = Math.imul(a.v, b.v);
        return then();
      };
  }
  const f = MULDIV[op];
  if (f === undefined) return undefined;
  return () => {
    d.v = f(a.v, b.v) | 0;
    return then();
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
