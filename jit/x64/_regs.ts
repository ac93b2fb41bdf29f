/**
 * Which x86-64 register holds which guest register. The rest of the guest
 * registers live in the state block (jit/state.ts).
 * @module
 */
import { type DecodedCode, instructionAt } from "../../abi/code.ts";
import { OPS } from "../../abi/isa.ts";
import { R13, R14, R15, RAX, RBP, RBX, RCX, RDI, RDX, type Reg, RSI } from "./asm.ts";
import { R10, R11, R12, R8, R9 } from "./asm.ts";

/** Host address of guest address 0; the state block sits below it. */
export const BASE: Reg = R15;
/** Remaining gas (64-bit). */
export const GAS: Reg = R14;
/** Scratch registers (division and wide multiplication need exactly these). */
export const T0: Reg = RAX;
/** Second scratch register. */
export const T1: Reg = RDX;

/**
 * Host registers for guest registers, best first. RCX comes last because
 * variable shifts need CL: the guest register there is the one least used
 * (saved around a shift by another register).
 */
const HOST_ORDER: readonly Reg[] = [RBX, RSI, RDI, RBP, R8, R9, R10, R11, R12, R13, RCX];

/** 1 for branches and JAL: ops whose immediate is a jump offset. */
const DIRECT_JUMP = Uint8Array.from(OPS, (o) => (o.kind === "branch" || o.kind === "jal" ? 1 : 0));

/** Callee-saved registers the entry routine must preserve (System V). */
export const CALLEE_SAVED: readonly Reg[] = [RBX, RBP, R12, R13, R14, R15];

/**
 * `hostOf[x]` is the host register of guest `x`, or -1 when it lives in
 * memory. The 11 guest registers the program's code names most often get
 * host registers (a linear pass over the decoded operands, loop bodies
 * weighted); ties go to the lower register number.
 */
export function hostRegisters(code: DecodedCode): Int8Array {
  // Instructions inside a backward branch's range (a loop) count 8 times:
  // a difference array over the ranges keeps this linear.
  const { count, op, imm, pc } = code;
  const delta = new Int32Array(count + 1);
  for (let i = 0; i < count; i++) {
    if (imm[i] < 0 && DIRECT_JUMP[op[i]] === 1) {
      const target = instructionAt(code, (pc[i] + imm[i]) >>> 0);
      if (target >= 0) {
        delta[target]++;
        delta[i + 1]--;
      }
    }
  }
  const uses = new Int32Array(32);
  const { rd, rs1, rs2 } = code;
  let depth = 0;
  for (let i = 0; i < count; i++) {
    depth += delta[i];
    const weight = depth > 0 ? 8 : 1;
    uses[rd[i]] += weight;
    uses[rs1[i]] += weight;
    uses[rs2[i]] += weight;
  }
  const guests = Array.from({ length: 31 }, (_, k) => k + 1)
    .sort((x, y) => uses[y] - uses[x] || x - y)
    .slice(0, HOST_ORDER.length);
  const hostOf = new Int8Array(32).fill(-1);
  guests.forEach((guest, k) => (hostOf[guest] = HOST_ORDER[k]));
  return hostOf;
}
