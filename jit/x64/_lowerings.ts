/**
 * The x86-64 lowering of each common group of RISC-V ops, one function a
 * group, which the translation loop (./backend.ts) calls once per
 * instruction: each writes at `p` in `buf` and returns the position after.
 * Small functions that call only leaf encoders (./_encode.ts,
 * ./_guest_regs.ts), so that V8 compiles each cheaply when it gets hot and
 * never has to replace a huge loop mid-run.
 * @module
 */
import type { DecodedCode } from "../../abi/code.ts";
import { Op, OP_COUNT } from "../../abi/isa.ts";
import { directTarget } from "../_lower.ts";
import { Exit, State } from "../state.ts";
import { aluImm, branchBack, branchField, callTo, i32, lea32, movImm32 } from "./_encode.ts";
import { opcode, patchRel32, rr } from "./_encode.ts";
import type { Fixups } from "./_fixups.ts";
import { aluGuest, loadGuest, putGuest, setGuest } from "./_guest_regs.ts";
import { JUMP_INDIRECT, WINDOW_CHECK } from "./_templates.ts";
import { ALU, CC, MOVE, MOVE_OPCODE, RAX, RDX, SHIFT } from "./asm.ts";

/** Per op: a table lookup, cheaper than an object keyed by op. */
const byOp = (pairs: [number, number][]) => {
  const table = new Int8Array(OP_COUNT).fill(-1);
  for (const [op, value] of pairs) table[op] = value;
  return table;
};
const BRANCH_CC = byOp([
  [Op.BEQ, CC.E],
  [Op.BNE, CC.NE],
  [Op.BLT, CC.L],
  [Op.BGE, CC.GE],
  [Op.BLTU, CC.B],
  [Op.BGEU, CC.AE],
]);
/** The condition with its operands swapped (a < b  ⇔  b > a), by condition code. */
const MIRROR = Int8Array.from({ length: 16 }, (_, cc) => cc);
MIRROR[CC.L] = CC.G;
MIRROR[CC.GE] = CC.LE;
MIRROR[CC.B] = CC.A;
MIRROR[CC.AE] = CC.BE;
/**
 * Loads and stores: the window check's slot, `(width >> 1) * 2 + (write ?
 * 1 : 0)`, and the host move ({@linkcode MOVE}).
 */
const ACCESSES: [number, number, number][] = [
  [Op.LB, 0, MOVE.LOADS8],
  [Op.LBU, 0, MOVE.LOADU8],
  [Op.LH, 2, MOVE.LOADS16],
  [Op.LHU, 2, MOVE.LOADU16],
  [Op.LW, 4, MOVE.LOAD32],
  [Op.SB, 1, MOVE.STORE8],
  [Op.SH, 3, MOVE.STORE16],
  [Op.SW, 5, MOVE.STORE32],
];
const CHECK_SLOT = byOp(ACCESSES.map(([op, slot]) => [op, slot]));
const MOVE_OF = byOp(ACCESSES.map(([op, , move]) => [op, move]));
/** The ALU op of the register and immediate forms (SUB has no immediate one). */
const ALU_OF = byOp([[Op.SUB, ALU.SUB]]);
for (
  const [reg, imm, alu] of [
    [Op.ADD, Op.ADDI, ALU.ADD],
    [Op.XOR, Op.XORI, ALU.XOR],
    [Op.OR, Op.ORI, ALU.OR],
    [Op.AND, Op.ANDI, ALU.AND],
  ]
) ALU_OF[reg] = ALU_OF[imm] = alu;
const SHIFT_OF = byOp([[Op.SLLI, SHIFT.SHL], [Op.SRLI, SHIFT.SHR], [Op.SRAI, SHIFT.SAR]]);

/**
 * The window checks by slot, 20 bytes each: `cmp eax, [r15 + lo]; jb
 * rel32; cmp eax, [r15 + last]; ja rel32`, both rel32s to the access's
 * cold path (patched later; the layout is checked here).
 */
const WINDOWS = new Uint8Array(6 * 20);
WINDOW_CHECK.forEach((t, slot) => {
  if (t.bytes.length !== 20 || t.rel32[0] !== 6 || t.rel32[1] !== 16) {
    throw new Error("window-check template: unexpected layout");
  }
  WINDOWS.set(t.bytes, 20 * slot);
});

/** Stores `value` to the state-block field `field` (within 128 bytes below guest 0). */
function stateImm(buf: Uint8Array, p: number, field: number, value: number): number {
  buf[p] = 0x41;
  buf[p + 1] = 0xc7;
  buf[p + 2] = 0x47; // [r15 + disp8]
  buf[p + 3] = field;
  buf[p + 4] = value;
  buf[p + 5] = value >> 8;
  buf[p + 6] = value >> 16;
  buf[p + 7] = value >> 24;
  return p + 8;
}

/**
 * Leaves native code with `reason` for the instruction at `pc` (`aux` when
 * `withAux`) through the exit routine at offset `exit`.
 */
export function exitTo(
  buf: Uint8Array,
  p: number,
  exit: number,
  reason: number,
  pc: number,
  withAux: boolean,
  aux: number,
): number {
  p = stateImm(buf, p, State.EXIT_PC, pc);
  if (withAux) p = stateImm(buf, p, State.EXIT_AUX, aux);
  p = stateImm(buf, p, State.EXIT_REASON, reason);
  return branchBack(buf, p, 0xeb, 0xe9, exit);
}

/**
 * `eax = guest rs1 + imm` then its window check for `slot`, whose cold path
 * `fixups` records.
 */
export function address(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  fixups: Fixups,
  rs1: number,
  imm: number,
  slot: number,
): number {
  const h = host[rs1];
  if (h >= 0 && imm !== 0) p = lea32(buf, p, RAX, h, imm); // lea eax, [h + imm]
  else {
    p = loadGuest(buf, p, host, RAX, rs1);
    if (imm !== 0) p = aluImm(buf, p, 0, ALU.ADD, RAX, imm);
  }
  const w = WINDOWS, t = 20 * slot; // the rel32s (bytes 6-9 and 16-19) are patched later
  buf[p] = w[t];
  buf[p + 1] = w[t + 1];
  buf[p + 2] = w[t + 2];
  buf[p + 3] = w[t + 3];
  buf[p + 4] = w[t + 4];
  buf[p + 5] = w[t + 5];
  buf[p + 10] = w[t + 10];
  buf[p + 11] = w[t + 11];
  buf[p + 12] = w[t + 12];
  buf[p + 13] = w[t + 13];
  buf[p + 14] = w[t + 14];
  buf[p + 15] = w[t + 15];
  fixups.addMemory(p + 6, slot);
  return p + 20;
}

/** A load or store of `kind` ({@linkcode MOVE}) between `reg` and `[r15 + rax]`. */
function access(buf: Uint8Array, p: number, kind: number, reg: number): number {
  if (kind === MOVE.STORE16) buf[p++] = 0x66;
  p = opcode(buf, p, 0x41 | ((reg >> 3) << 2), MOVE_OPCODE[kind], false);
  buf[p] = ((reg & 7) << 3) | 4;
  buf[p + 1] = 0x07; // SIB: rax + r15
  return p + 2;
}

/** Loads and stores: the address, its window check, the access. */
export function lowerAccess(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  fixups: Fixups,
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
): number {
  const slot = CHECK_SLOT[op], kind = MOVE_OF[op];
  p = address(buf, p, host, fixups, rs1, imm, slot);
  if ((slot & 1) === 1) { // a store
    if (kind === MOVE.STORE32 && rs2 === 0) {
      p = i32(buf, p, 0x0704c741); // mov dword [r15 + rax], 0
      return i32(buf, p, 0);
    }
    let s = host[rs2];
    if (s < 0) {
      p = loadGuest(buf, p, host, RDX, rs2);
      s = RDX;
    }
    return access(buf, p, kind, s);
  }
  if (rd === 0) return p; // a load to x0: checked, nothing written
  const d = host[rd] >= 0 ? host[rd] : RDX;
  return putGuest(buf, access(buf, p, kind, d), host, rd, d);
}

/** ADDI XORI ORI ANDI. */
export function lowerAluImm(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  op: number,
  rd: number,
  rs1: number,
  imm: number,
): number {
  if (rd === 0) return p;
  if (rs1 === 0) return setGuest(buf, p, host, rd, op === Op.ANDI ? 0 : imm); // li
  const d = host[rd], h1 = host[rs1], alu = ALU_OF[op];
  const always = imm !== 0 || op === Op.ANDI; // x op 0 is x but for AND
  if (d >= 0 && h1 >= 0) {
    if (d === h1) return always ? aluImm(buf, p, 0, alu, d, imm) : p;
    if (op === Op.ADDI) return lea32(buf, p, d, h1, imm); // lea
  }
  const t = d >= 0 ? d : RAX;
  p = loadGuest(buf, p, host, t, rs1);
  if (always) p = aluImm(buf, p, 0, alu, t, imm);
  return putGuest(buf, p, host, rd, t);
}

/** SLLI SRLI SRAI. */
export function lowerShiftImm(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  op: number,
  rd: number,
  rs1: number,
  imm: number,
): number {
  if (rd === 0) return p;
  const t = host[rd] >= 0 ? host[rd] : RAX;
  p = loadGuest(buf, p, host, t, rs1);
  if (imm !== 0) {
    p = rr(buf, p, 0, 0xc1, SHIFT_OF[op], t);
    buf[p++] = imm;
  }
  return putGuest(buf, p, host, rd, t);
}

/** ADD SUB XOR OR AND. */
export function lowerAluReg(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
): number {
  if (rd === 0) return p;
  if (rs1 === 0 && (op === Op.ADD || op === Op.OR || op === Op.XOR)) {
    const h2 = host[rs2]; // a move (c.mv)
    if (h2 >= 0) return putGuest(buf, p, host, rd, h2);
    return putGuest(buf, loadGuest(buf, p, host, RAX, rs2), host, rd, RAX);
  }
  const d = host[rd], h1 = host[rs1], h2 = host[rs2], alu = ALU_OF[op];
  if (d >= 0 && d === h1 && h2 >= 0) return rr(buf, p, 0, (alu << 3) | 1, h2, d); // the common form
  const t = d >= 0 && (rd !== rs2 || rs2 === rs1) ? d : RAX; // never clobber rs2 before reading it
  p = loadGuest(buf, p, host, t, rs1);
  if (rs2 !== 0 || op === Op.AND) p = aluGuest(buf, p, host, alu, t, rs2);
  return putGuest(buf, p, host, rd, t);
}

/** MUL: `eax = rs1; imul eax, rs2`. */
export function lowerMul(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  rd: number,
  rs1: number,
  rs2: number,
): number {
  if (rd === 0) return p;
  p = loadGuest(buf, p, host, RAX, rs1);
  let s = host[rs2];
  if (s < 0) {
    p = loadGuest(buf, p, host, RDX, rs2);
    s = RDX;
  }
  p = rr(buf, p, 0, 0x0faf, RAX, s); // imul eax, s
  return putGuest(buf, p, host, rd, RAX);
}

/** SLTI SLTIU SLT SLTU: setcc into EAX. */
export function lowerSetLess(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
): number {
  if (rd === 0) return p;
  let left = host[rs1];
  if (left < 0) {
    p = loadGuest(buf, p, host, RDX, rs1);
    left = RDX;
  }
  p = movImm32(buf, p, RAX, 0);
  if (op === Op.SLTI || op === Op.SLTIU) p = aluImm(buf, p, 0, ALU.CMP, left, imm);
  else p = aluGuest(buf, p, host, ALU.CMP, left, rs2);
  const unsigned = op === Op.SLTU || op === Op.SLTIU;
  p = rr(buf, p, 0, 0x0f90 | (unsigned ? CC.B : CC.L), 0, RAX); // setcc al
  return putGuest(buf, p, host, rd, RAX);
}

/** The flags of a conditional branch (not both x0): `test` against x0, else `cmp rs1, rs2`. */
function branchCompare(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  rs1: number,
  rs2: number,
): number {
  if (rs2 === 0 || rs1 === 0) {
    // Compare with zero: TEST clears CF and OF, so every condition still holds.
    let r = host[rs1 === 0 ? rs2 : rs1];
    if (r < 0) {
      p = loadGuest(buf, p, host, RAX, rs1 === 0 ? rs2 : rs1);
      r = RAX;
    }
    return rr(buf, p, 0, 0x85, r, r); // test r, r
  }
  let left = host[rs1];
  if (left < 0) {
    p = loadGuest(buf, p, host, RAX, rs1);
    left = RAX;
  }
  return aluGuest(buf, p, host, ALU.CMP, left, rs2);
}

/**
 * A conditional branch or JAL, instruction `i` of `code`: a native jump to
 * the target's first byte (`starts`, already set when it is not ahead),
 * else an InvalidJump exit (at once, or on a cold path for a branch).
 */
export function lowerDirect(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  fixups: Fixups,
  code: DecodedCode,
  i: number,
  starts: Uint32Array,
  exit: number,
): number {
  const op = code.op[i], pc = code.pc[i], targetPc = (pc + code.imm[i]) >>> 0;
  const t = directTarget(code, targetPc);
  let cc = -1; // jmp
  if (op === Op.JAL) {
    if (t >= 0) p = setGuest(buf, p, host, code.rd[i], pc + code.size[i]);
  } else {
    const rs1 = code.rs1[i], rs2 = code.rs2[i];
    cc = BRANCH_CC[op];
    if (rs1 === 0 && rs2 === 0) {
      // 0 ? 0: BEQ, BGE and BGEU always jump; the others never do.
      if (cc !== CC.E && cc !== CC.GE && cc !== CC.AE) return p;
      cc = -1;
    } else {
      if (rs1 === 0) cc = MIRROR[cc];
      p = branchCompare(buf, p, host, rs1, rs2);
    }
  }
  if (t < 0 && cc < 0) return exitTo(buf, p, exit, Exit.INVALID_JUMP, pc, true, targetPc);
  const near = cc < 0 ? 0xe9 : 0x0f80 | cc;
  if (t >= 0 && t <= i) return branchBack(buf, p, cc < 0 ? 0xeb : 0x70 | cc, near, starts[t]);
  p = branchField(buf, p, near);
  if (t >= 0) fixups.addForward(p - 4, t);
  else fixups.addJump(p - 4, pc, targetPc); // to a cold InvalidJump exit
  return p;
}

/** What an indirect jump's lowering needs besides the instruction: routine offsets, code span. */
export interface IndirectJumps {
  /** Offsets of the lookup, charge and link-less unpaid routines. */
  readonly lookup: number;
  readonly charge: number;
  readonly unpaidIndirect: number;
  /** Lowest code address and code bytes. */
  readonly codeStart: number;
  readonly codeBytes: number;
}

/** JALR. */
export function lowerJumpIndirect(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  fixups: Fixups,
  jumps: IndirectJumps,
  rd: number,
  rs1: number,
  imm: number,
  pc: number,
  link: number,
): number {
  const h = host[rs1];
  if (h >= 0) p = lea32(buf, p, RAX, h, imm); // lea eax, [h + imm]
  else {
    p = loadGuest(buf, p, host, RAX, rs1);
    if (imm !== 0) p = aluImm(buf, p, 0, ALU.ADD, RAX, imm);
  }
  p = aluImm(buf, p, 0, ALU.AND, RAX, -2);
  if (rd === 0) {
    // No link (returns, switch tables): the lookup and charge inline, anything unusual out of line.
    const t = JUMP_INDIRECT, at = p;
    buf.set(t.bytes, at);
    i32(buf, at + t.imm32[0], jumps.codeStart);
    i32(buf, at + t.imm32[1], jumps.codeBytes);
    patchRel32(buf, at + t.rel32[2], jumps.unpaidIndirect);
    fixups.addLookup(at + t.rel32[0], at + t.rel32[1], pc);
    return at + t.bytes.length;
  }
  // Validate, write the link, charge, in the contract's order. The final
  // indirect jump is at the site so the CPU predicts each site separately.
  p = movImm32(buf, p, RDX, pc);
  p = callTo(buf, p, jumps.lookup);
  p = setGuest(buf, p, host, rd, link);
  p = callTo(buf, p, jumps.charge);
  return rr(buf, p, 0, 0xff, 4, RDX); // jmp rdx
}
