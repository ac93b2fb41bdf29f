/**
 * The x86-64 backend: emits machine code for every guest instruction in one
 * loop. Guest registers live in host registers or the state block
 * (./_regs.ts); guest address `a` is host address `BASE + a` (a
 * zero-extended 32-bit offset into the reserved 4 GiB), always after an
 * explicit window check.
 *
 * Translation speed is part of the whole cycle, and a program's first
 * translation runs while V8 still interprets the translator: the loop keeps
 * the buffer and position in locals, dispatches once per instruction on the
 * op's group, encodes the common ops with the plain functions of
 * ./_encode.ts and ./_guest_regs.ts (a few calls and no allocation per
 * instruction), and records its deferred fix-ups in typed arrays. Rare ops
 * go through the assembler (./_rare_ops.ts).
 * @module
 */
import type { DecodedCode } from "../../abi/code.ts";
import { Op, OP_COUNT } from "../../abi/isa.ts";
import { directTarget, FALLS_THROUGH, GROUP } from "../_lower.ts";
import { Exit, State } from "../state.ts";
import type { Backend, Emitted } from "../translate.ts";
import { aluImm, branchBack, branchField, callThenJmp, callTo, i32, lea32 } from "./_encode.ts";
import { movImm32, opcode, patchRel32, rr, subJs } from "./_encode.ts";
import { aluGuest, loadGuest, putGuest, setGuest } from "./_guest_regs.ts";
import { RareOps } from "./_rare_ops.ts";
import { GAS, hostRegisters } from "./_regs.ts";
import { Runtime } from "./_runtime.ts";
import { JUMP_INDIRECT, UNPAID_INDIRECT, WINDOW_CHECK } from "./_templates.ts";
import { WINDOW_END, WINDOW_SECOND } from "./_templates.ts";
import { ALU, CC, MOVE, MOVE_OPCODE, RAX, RDX, SHIFT, X64Assembler } from "./asm.ts";

/** Per op: a table lookup, cheaper than an object keyed by op in the loop. */
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

/** More than any op emits for one instruction (the inline indirect jump is 64). */
const INSTRUCTION_ROOM = 128;
/** Instructions the loop makes room for at once (code bytes, and at most 3 values per fix-up list). */
const BATCH = 256;
/** Most bytes a deferred path takes (an InvalidJump exit: 3 stores and a jmp). */
const COLD_ROOM = 32;

/** One code buffer reused by consecutive translations (see X64Assembler's constructor). */
let scratch: Uint8Array | undefined = new Uint8Array(1 << 16);
const SCRATCH_LIMIT = 4 << 20;
/** The fix-up lists, reused like `scratch` (taken by a backend until it has emitted). */
let spareFixups: Int32Array[] | undefined;

/** `list` with room for `more` values after its first `length`. */
function withRoom(list: Int32Array, length: number, more: number): Int32Array {
  if (length + more <= list.length) return list;
  const bigger = new Int32Array(2 * list.length + more);
  bigger.set(list);
  return bigger;
}

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

/** Leaves native code with `reason` for the instruction at `pc` (`aux` when `withAux`). */
function exitTo(
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
 * `eax = guest rs1 + imm` then its window check for `slot`, whose two rel32
 * fields are left for the cold path; the first ends 10 bytes before the
 * returned position.
 */
function address(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
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

/** ADDI XORI ORI ANDI with `rd` and `rs1` not x0. */
function aluImmGuest(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  op: number,
  rd: number,
  rs1: number,
  imm: number,
): number {
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

/** ADD SUB XOR OR AND with `rd` not x0. */
function aluRegGuest(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
): number {
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

/** SLTI SLTIU SLT SLTU with `rd` not x0: setcc into EAX. */
function setLessGuest(
  buf: Uint8Array,
  p: number,
  host: readonly number[],
  op: number,
  rd: number,
  rs1: number,
  rs2: number,
  imm: number,
): number {
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

/** Emits x86-64 for one program. */
export class X64Backend implements Backend {
  /** The assembler: routines, rare ops and the final fix-ups go through it. */
  readonly a: X64Assembler;
  readonly #code: DecodedCode;
  readonly #host: readonly number[];
  readonly #rt: Runtime;
  readonly #rare: RareOps;

  constructor(code: DecodedCode) {
    this.#code = code;
    this.#host = hostRegisters(code);
    const reuse = scratch !== undefined && scratch.length >= 64;
    this.a = new X64Assembler(code.count * 24 + 4096, reuse ? scratch : undefined);
    scratch = undefined; // taken until emit() gives it back
    this.#rt = new Runtime(this.a, this.#host);
    this.#rare = new RareOps(this.a, this.#host);
  }

  emit(startOffset: Uint32Array, bodyOffset: Uint32Array): Emitted {
    const a = this.a, rt = this.#rt;
    rt.emit();
    const unpaidIndirect = a.template(UNPAID_INDIRECT.bytes);
    a.patchRel32(unpaidIndirect + UNPAID_INDIRECT.rel32[0], a.offsetOf(rt.outOfGas));
    const fixups = spareFixups ?? [1, 2, 1, 3, 3].map((n) => new Int32Array(n * 1024));
    spareFixups = undefined;
    const counts = this.#body(startOffset, bodyOffset, fixups, unpaidIndirect);
    const coldOffset = a.offset;
    this.#cold(startOffset, fixups, counts);
    const bytes = a.finish();
    // Kept for the next program unless a huge one grew them (no lasting multi-MiB buffer).
    scratch = a.buffer.length <= SCRATCH_LIMIT ? a.buffer : new Uint8Array(1 << 16);
    if (fixups.every((list) => list.length <= SCRATCH_LIMIT >> 2)) spareFixups = fixups;
    return { bytes, coldOffset };
  }

  /**
   * The loop over every instruction. `fixups` are the deferred fix-ups, by
   * kind: unpaid block charges (the `js` field; the body follows it),
   * forward jumps (field, instruction), memory accesses (first field of the
   * window check, slot), full lookups of indirect jumps (two fields, pc)
   * and branches to non-instructions (field, pc, target pc). Returns how
   * many values each list holds (lists that grew replace their entries).
   */
  #body(
    starts: Uint32Array,
    bodies: Uint32Array,
    fixups: Int32Array[],
    unpaidIndirect: number,
  ): number[] {
    const code = this.#code, host = this.#host, a = this.a, rt = this.#rt, rare = this.#rare;
    const { count, op: ops, rd: rds, rs1: rs1s, rs2: rs2s, imm: imms, pc: pcs } = code;
    const { leader, segmentEnd, entryCost, size, hostcall } = code;
    // Module tables as locals: an imported or module binding costs a load and a hole check per use.
    const group = GROUP, checkSlot = CHECK_SLOT, moveOf = MOVE_OF, shiftOf = SHIFT_OF;
    const branchCc = BRANCH_CC, mirror = MIRROR, fallsThrough = FALLS_THROUGH;
    const exit = a.offsetOf(rt.exit), lookup = a.offsetOf(rt.lookup);
    const charge = a.offsetOf(rt.charge);
    let [unpaid, forward, memory, lookups, jumps] = fixups;
    let nUnpaid = 0, nForward = 0, nMemory = 0, nLookups = 0, nJumps = 0;
    let p = a.offset, buf = a.buffer, roomUntil = 0;
    for (let i = 0; i < count; i++) {
      if (i === roomUntil) { // one check per instruction for the buffer and every list
        a.seek(p);
        a.reserve(BATCH * INSTRUCTION_ROOM);
        buf = a.buffer;
        unpaid = withRoom(unpaid, nUnpaid, BATCH);
        forward = withRoom(forward, nForward, 2 * BATCH);
        memory = withRoom(memory, nMemory, 2 * BATCH);
        lookups = withRoom(lookups, nLookups, 3 * BATCH);
        jumps = withRoom(jumps, nJumps, 3 * BATCH);
        roomUntil = i + BATCH;
      }
      starts[i] = p;
      if (leader[i] === 1) {
        const cost = entryCost[i];
        if (cost !== 0) {
          p = subJs(buf, p, GAS, cost) | 0; // the js field is last: the body follows it
          unpaid[nUnpaid++] = p - 4;
        }
      }
      bodies[i] = p;
      const op = ops[i];
      switch (group[op]) {
        case 0: { // ADDI XORI ORI ANDI
          const rd = rds[i], rs1 = rs1s[i];
          if (rd === 0) break;
          if (rs1 === 0) p = setGuest(buf, p, host, rd, op === Op.ANDI ? 0 : imms[i]) | 0; // li
          else p = aluImmGuest(buf, p, host, op, rd, rs1, imms[i]);
          break;
        }
        case 1: { // SLLI SRLI SRAI
          const rd = rds[i], imm = imms[i];
          if (rd === 0) break;
          const t = host[rd] >= 0 ? host[rd] : RAX;
          p = loadGuest(buf, p, host, t, rs1s[i]) | 0;
          if (imm !== 0) {
            p = rr(buf, p, 0, 0xc1, shiftOf[op], t) | 0;
            buf[p++] = imm;
          }
          p = putGuest(buf, p, host, rd, t) | 0;
          break;
        }
        case 2: // SLTI SLTIU SLT SLTU
          if (rds[i] !== 0) {
            p = setLessGuest(buf, p, host, op, rds[i], rs1s[i], rs2s[i], imms[i]) | 0;
          }
          break;
        case 3: // ADD SUB XOR OR AND
          if (rds[i] !== 0) p = aluRegGuest(buf, p, host, op, rds[i], rs1s[i], rs2s[i]) | 0;
          break;
        case 5: // loads
        case 6: { // stores
          const slot = checkSlot[op];
          p = address(buf, p, host, rs1s[i], imms[i], slot) | 0;
          memory[nMemory] = p - 14;
          memory[nMemory + 1] = slot;
          nMemory += 2;
          const kind = moveOf[op], rd = rds[i], rs2 = rs2s[i];
          if (slot & 1) { // a store
            if (kind === MOVE.STORE32 && rs2 === 0) {
              p = i32(buf, p, 0x0704c741) | 0; // mov dword [r15 + rax], 0
              p = i32(buf, p, 0) | 0;
            } else {
              let s = host[rs2];
              if (s < 0) {
                p = loadGuest(buf, p, host, RDX, rs2) | 0;
                s = RDX;
              }
              p = access(buf, p, kind, s) | 0;
            }
          } else if (rd !== 0) { // a load (to x0: checked, nothing written)
            const d = host[rd] >= 0 ? host[rd] : RDX;
            p = putGuest(buf, access(buf, p, kind, d), host, rd, d) | 0;
          }
          break;
        }
        case 7: // branches
        case 8: { // JAL
          const pc = pcs[i], targetPc = (pc + imms[i]) >>> 0;
          const t = directTarget(code, targetPc);
          let cc = -1; // jmp
          if (op === Op.JAL) {
            if (t >= 0) p = setGuest(buf, p, host, rds[i], pc + size[i]) | 0;
          } else {
            const rs1 = rs1s[i], rs2 = rs2s[i];
            cc = branchCc[op];
            if (rs1 === 0 && rs2 === 0) {
              // 0 ? 0: BEQ, BGE and BGEU always jump; the others never do.
              if (cc !== CC.E && cc !== CC.GE && cc !== CC.AE) break;
              cc = -1;
            } else {
              if (rs1 === 0) cc = mirror[cc];
              p = branchCompare(buf, p, host, rs1, rs2) | 0;
            }
          }
          if (t < 0 && cc < 0) { // always to a non-instruction: exit here
            p = exitTo(buf, p, exit, Exit.INVALID_JUMP, pc, true, targetPc) | 0;
          } else if (t >= 0 && t <= i) {
            const short = cc < 0 ? 0xeb : 0x70 | cc, near = cc < 0 ? 0xe9 : 0x0f80 | cc;
            p = branchBack(buf, p, short, near, starts[t]) | 0;
          } else if (t >= 0) {
            p = branchField(buf, p, cc < 0 ? 0xe9 : 0x0f80 | cc) | 0;
            forward[nForward] = p - 4;
            forward[nForward + 1] = t;
            nForward += 2;
          } else { // to a cold InvalidJump exit
            p = branchField(buf, p, 0x0f80 | cc) | 0;
            jumps[nJumps] = p - 4;
            jumps[nJumps + 1] = pc;
            jumps[nJumps + 2] = targetPc;
            nJumps += 3;
          }
          break;
        }
        case 9: { // JALR
          const rd = rds[i], rs1 = rs1s[i], imm = imms[i], pc = pcs[i];
          const h = host[rs1];
          if (h >= 0) p = lea32(buf, p, RAX, h, imm) | 0; // lea eax, [h + imm]
          else {
            p = loadGuest(buf, p, host, RAX, rs1) | 0;
            if (imm !== 0) p = aluImm(buf, p, 0, ALU.ADD, RAX, imm) | 0;
          }
          p = aluImm(buf, p, 0, ALU.AND, RAX, -2) | 0;
          if (rd === 0) {
            // No link: the lookup and charge inline, anything unusual out of line.
            const t = JUMP_INDIRECT, at = p;
            buf.set(t.bytes, at);
            p = (at + t.bytes.length) | 0;
            i32(buf, at + t.imm32[0], code.start);
            i32(buf, at + t.imm32[1], code.end - code.start);
            patchRel32(buf, at + t.rel32[2], unpaidIndirect);
            lookups[nLookups] = at + t.rel32[0];
            lookups[nLookups + 1] = at + t.rel32[1];
            lookups[nLookups + 2] = pc;
            nLookups += 3;
          } else {
            // Validate, write the link, charge, in the contract's order. The final
            // indirect jump is at the site so the CPU predicts each site separately.
            p = movImm32(buf, p, RDX, pc) | 0;
            p = callTo(buf, p, lookup) | 0;
            p = setGuest(buf, p, host, rd, pc + size[i]) | 0;
            p = callTo(buf, p, charge) | 0;
            p = rr(buf, p, 0, 0xff, 4, RDX) | 0; // jmp rdx
          }
          break;
        }
        case 10: // LUI
          p = setGuest(buf, p, host, rds[i], imms[i]) | 0;
          break;
        case 11: // AUIPC
          p = setGuest(buf, p, host, rds[i], pcs[i] + imms[i]) | 0;
          break;
        case 12: { // MUL: eax = rs1 * rs2
          const rd = rds[i], rs2 = rs2s[i];
          if (rd === 0) break;
          p = loadGuest(buf, p, host, RAX, rs1s[i]) | 0;
          let s = host[rs2];
          if (s < 0) {
            p = loadGuest(buf, p, host, RDX, rs2) | 0;
            s = RDX;
          }
          p = rr(buf, p, 0, 0x0faf, RAX, s) | 0; // imul eax, s
          p = putGuest(buf, p, host, rd, RAX) | 0;
          break;
        }
        case 4: // SLL SRL SRA
        case 13: // MULH MULHSU MULHU
        case 14: // DIV DIVU REM REMU
          a.seek(p);
          this.#arithmetic(rare, op, rds[i], rs1s[i], rs2s[i]);
          p = a.offset; // the assembler may have replaced the buffer, never shrunk it
          buf = a.buffer;
          break;
        case 15: // LR.W SC.W
        case 16: { // AMOs
          const slot = op === Op.LR_W ? 4 : 5;
          p = address(buf, p, host, rs1s[i], 0, slot) | 0;
          memory[nMemory] = p - 14;
          memory[nMemory + 1] = slot;
          nMemory += 2;
          a.seek(p);
          if (op === Op.LR_W || op === Op.SC_W) rare.reserved(op, rds[i], rs2s[i]);
          else rare.amo(op, rds[i], rs2s[i]);
          p = a.offset; // the assembler may have replaced the buffer, never shrunk it
          buf = a.buffer;
          break;
        }
        case 17: { // ECALL: a host call if the loader listed the site
          const site = hostcall[i];
          const reason = site < 0 ? Exit.INVALID_INSTRUCTION : Exit.HOSTCALL;
          p = exitTo(buf, p, exit, reason, pcs[i], site >= 0, site) | 0;
          break;
        }
        case 18: // EBREAK
          p = exitTo(buf, p, exit, Exit.BREAKPOINT, pcs[i], false, 0) | 0;
          break;
        case 19: // FENCE FENCE.I
          break;
        default: // INVALID
          p = exitTo(buf, p, exit, Exit.INVALID_INSTRUCTION, pcs[i], false, 0) | 0;
      }
      if (segmentEnd[i] === 1 && fallsThrough[op] === 1) {
        // Execution would run past the end of a code segment.
        const pc = pcs[i];
        p = exitTo(buf, p, exit, Exit.INVALID_JUMP, pc, true, pc + size[i]) | 0;
      }
    }
    a.seek(p);
    fixups[0] = unpaid;
    fixups[1] = forward;
    fixups[2] = memory;
    fixups[3] = lookups;
    fixups[4] = jumps;
    return [nUnpaid, nForward, nMemory, nLookups, nJumps];
  }

  /** Register shifts, high multiplications and divisions, through the assembler. */
  #arithmetic(rare: RareOps, op: number, rd: number, rs1: number, rs2: number): void {
    if (op === Op.SLL || op === Op.SRL || op === Op.SRA) {
      if (rd !== 0) rare.shiftReg(op, rd, rs1, rs2);
    } else if (op === Op.MULH || op === Op.MULHSU || op === Op.MULHU) {
      rare.mulHigh(op, rd, rs1, rs2);
    } else rare.divide(op, rd, rs1, rs2);
  }

  /** Resolves forward jumps and places the deferred paths after the code. */
  #cold(starts: Uint32Array, fixups: Int32Array[], counts: number[]): void {
    const a = this.a, rt = this.#rt;
    const [unpaid, forward, memory, lookups, jumps] = fixups;
    const [nUnpaid, nForward, nMemory, nLookups, nJumps] = counts;
    let p = a.reserve(COLD_ROOM * (nUnpaid + nMemory + nLookups + nJumps));
    const buf = a.buffer;
    for (let k = 0; k < nForward; k += 2) patchRel32(buf, forward[k], starts[forward[k + 1]]);
    const unpaidAt = a.offsetOf(rt.unpaid);
    for (let k = 0; k < nUnpaid; k++) {
      const field = unpaid[k];
      patchRel32(buf, field, p);
      p = callThenJmp(buf, p, unpaidAt, field + 4); // the jmp never runs: it names the block
    }
    const checks: number[] = [];
    for (let slot = 0; slot < 6; slot++) {
      checks.push(a.offsetOf(rt.slowCheck(slot < 2 ? 1 : slot < 4 ? 2 : 4, (slot & 1) === 1)));
    }
    for (let k = 0; k < nMemory; k += 2) {
      const field = memory[k];
      patchRel32(buf, field, p);
      patchRel32(buf, field + WINDOW_SECOND, p);
      p = callThenJmp(buf, p, checks[memory[k + 1]], field + WINDOW_END);
    }
    const lookupAndCharge = a.offsetOf(rt.lookupAndCharge);
    for (let k = 0; k < nLookups; k += 3) {
      // Outside code, not an instruction start, or the host return: the full lookup.
      patchRel32(buf, lookups[k], p);
      patchRel32(buf, lookups[k + 1], p);
      p = movImm32(buf, p, RDX, lookups[k + 2]);
      p = callTo(buf, p, lookupAndCharge);
      p = rr(buf, p, 0, 0xff, 4, RDX); // jmp rdx
    }
    const exit = a.offsetOf(rt.exit);
    for (let k = 0; k < nJumps; k += 3) {
      patchRel32(buf, jumps[k], p);
      p = exitTo(buf, p, exit, Exit.INVALID_JUMP, jumps[k + 1], true, jumps[k + 2]);
    }
    a.seek(p);
  }
}
