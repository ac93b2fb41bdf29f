/**
 * The x86-64 backend: emits machine code for each guest instruction. Guest
 * registers live in host registers or the state block (./_regs.ts); guest
 * address `a` is host address `BASE + a` (a zero-extended 32-bit offset into
 * the reserved 4 GiB), always after an explicit window check.
 * @module
 */
import type { DecodedCode } from "../../abi/code.ts";
import { Op } from "../../abi/isa.ts";
import { IntList } from "../_int_list.ts";
import { lower, type Lowering } from "../_lower.ts";
import { Exit, State } from "../state.ts";
import type { Backend } from "../translate.ts";
import { ACCESS, BASE, GAS, hostRegisters, slot, state } from "./_regs.ts";
import { Runtime } from "./_runtime.ts";
import { FULL_LOOKUP, JUMP_INDIRECT } from "./_templates.ts";
import { UNPAID_INDIRECT, WINDOW_CHECK, WINDOW_END, WINDOW_SECOND } from "./_templates.ts";
import { ALU, CC, type Cond, MOVE, type Move, RAX, RCX, RDX, type Reg } from "./asm.ts";
import { SHIFT, X64Assembler } from "./asm.ts";

const BRANCH_CC: Record<number, Cond> = {
  [Op.BEQ]: CC.E,
  [Op.BNE]: CC.NE,
  [Op.BLT]: CC.L,
  [Op.BGE]: CC.GE,
  [Op.BLTU]: CC.B,
  [Op.BGEU]: CC.AE,
};
/** The condition with its operands swapped (a < b  ⇔  b > a). */
const MIRROR: Record<number, Cond> = {
  [CC.E]: CC.E,
  [CC.NE]: CC.NE,
  [CC.L]: CC.G,
  [CC.GE]: CC.LE,
  [CC.B]: CC.A,
  [CC.AE]: CC.BE,
};
/** Loads and stores: bytes accessed, and the host move. */
const WIDTH: Record<number, number> = {
  [Op.LW]: 4,
  [Op.LH]: 2,
  [Op.LHU]: 2,
  [Op.LB]: 1,
  [Op.LBU]: 1,
  [Op.SW]: 4,
  [Op.SH]: 2,
  [Op.SB]: 1,
};
const MOVE_OF: Record<number, Move> = {
  [Op.LW]: MOVE.LOAD32,
  [Op.LH]: MOVE.LOADS16,
  [Op.LHU]: MOVE.LOADU16,
  [Op.LB]: MOVE.LOADS8,
  [Op.LBU]: MOVE.LOADU8,
  [Op.SW]: MOVE.STORE32,
  [Op.SH]: MOVE.STORE16,
  [Op.SB]: MOVE.STORE8,
};
const ALU_OF: Record<number, number> = {
  [Op.ADD]: ALU.ADD,
  [Op.SUB]: ALU.SUB,
  [Op.XOR]: ALU.XOR,
  [Op.OR]: ALU.OR,
  [Op.AND]: ALU.AND,
  [Op.ADDI]: ALU.ADD,
  [Op.XORI]: ALU.XOR,
  [Op.ORI]: ALU.OR,
  [Op.ANDI]: ALU.AND,
};
const SHIFT_OF: Record<number, number> = {
  [Op.SLL]: SHIFT.SHL,
  [Op.SRL]: SHIFT.SHR,
  [Op.SRA]: SHIFT.SAR,
  [Op.SLLI]: SHIFT.SHL,
  [Op.SRLI]: SHIFT.SHR,
  [Op.SRAI]: SHIFT.SAR,
};

/** One code buffer reused by consecutive translations (see X64Assembler's constructor). */
let scratch: Uint8Array | undefined = new Uint8Array(1 << 16);
/** The fix-up lists, reused like `scratch` (taken by a backend until its `finish`). */
let spareLists: IntList[] | undefined;
const SCRATCH_LIMIT = 4 << 20;
/** Code offsets stay below this: a memory cold path's entry packs `8 * offset` into 32 bits. */
const MAX_CODE = 1 << 29;

/** Emits x86-64 for one program. */
export class X64Backend implements Backend, Lowering {
  readonly a: X64Assembler;
  readonly #code: DecodedCode;
  readonly #host: readonly number[];
  /** The driver's table of instruction start offsets (see `Backend.begin`). */
  #starts: Uint32Array = new Uint32Array(0);
  /** The instruction being lowered. */
  #current = 0;
  /** Pairs of (rel32 field, instruction index) for forward jumps, set in `finish`. */
  readonly #forward: IntList;
  /**
   * Deferred out-of-line paths, by kind, placed after the last instruction
   * in `finish`; the rel32 fields that reach them are patched directly (no
   * labels, no fix-ups). One flat array per kind keeps each loop there tight.
   * Unpaid block entries: the charge's `js` field (its body starts right
   * after it).
   */
  readonly #unpaidStubs: IntList;
  /**
   * Memory accesses: `8 * field + slot` (the window check's first rel32
   * field and its kind): all the cold path needs, since the check's layout
   * gives the resume address and the slow check finds the pc from it.
   */
  readonly #memoryStubs: IntList;
  /** Full lookups of indirect jumps: (first field, second field, pc). */
  readonly #lookupStubs: IntList;
  /** Branches to non-instructions: (field, pc, target pc). */
  readonly #jumpStubs: IntList;
  readonly #rt: Runtime;

  constructor(code: DecodedCode) {
    this.#code = code;
    this.#host = hostRegisters(code);
    const reuse = scratch !== undefined && scratch.length >= 64;
    this.a = new X64Assembler(code.count * 24 + 4096, reuse ? scratch : undefined);
    scratch = undefined; // taken until finish() gives it back
    const lists = spareLists ?? Array.from({ length: 5 }, () => new IntList());
    spareLists = undefined;
    for (const list of lists) list.clear();
    [this.#forward, this.#unpaidStubs, this.#memoryStubs, this.#lookupStubs, this.#jumpStubs] =
      lists;
    this.#rt = new Runtime(this.a, this.#host);
  }

  get offset(): number {
    return this.a.offset;
  }

  /** Offsets of the shared routines, known once `begin` has placed them. */
  #unpaid = 0;
  #outOfGas = 0;
  #lookupAndCharge = 0;
  /** The one out-of-gas exit every link-less indirect jump shares (it needs no site pc). */
  #unpaidIndirect = 0;
  readonly #checks: number[] = [];

  begin(starts: Uint32Array): void {
    this.#starts = starts;
    const a = this.a;
    this.#rt.emit();
    this.#unpaid = a.offsetOf(this.#rt.unpaid);
    this.#outOfGas = a.offsetOf(this.#rt.outOfGas);
    this.#lookupAndCharge = a.offsetOf(this.#rt.lookupAndCharge);
    for (let k = 0; k < 6; k++) {
      this.#checks.push(
        a.offsetOf(this.#rt.slowCheck(k === 0 || k === 1 ? 1 : k < 4 ? 2 : 4, (k & 1) === 1)),
      );
    }
    this.#unpaidIndirect = a.copy(UNPAID_INDIRECT);
    a.patchRel32(this.#unpaidIndirect + UNPAID_INDIRECT.rel32[0], this.#outOfGas);
  }

  /** A jump (`cc` -1) or conditional branch to instruction `target`'s first byte. */
  #jumpTo(cc: Cond | -1, target: number): void {
    const a = this.a;
    if (target <= this.#current) {
      if (cc < 0) a.jmpBack(this.#starts[target]);
      else a.jccBack(cc, this.#starts[target]);
    } else {
      this.#forward.push2(cc < 0 ? a.jmpField() : a.jccField(cc), target);
    }
  }

  blockStart(i: number): void {
    const a = this.a;
    const cost = this.#code.entryCost[i];
    if (cost === 0) return;
    // `sub r14, cost; js unpaid`, whose js field is last: the body follows it.
    this.#unpaidStubs.push(a.subJs(GAS, cost));
  }

  fallOff(i: number): void {
    const pc = this.#code.pc[i];
    this.exit(Exit.INVALID_JUMP, pc, (pc + this.#code.size[i]) >>> 0);
  }

  finish(): Uint8Array {
    const a = this.a;
    const forward = this.#forward, starts = this.#starts;
    for (let k = 0; k < forward.length; k += 2) {
      a.patchRel32(forward.get(k), starts[forward.get(k + 1)]);
    }
    const unpaid = this.#unpaidStubs;
    for (let k = 0; k < unpaid.length; k++) {
      const field = unpaid.get(k);
      a.patchRel32(field, a.offset);
      a.callThenJmp(this.#unpaid, field + 4); // the jmp never runs: it names the block
    }
    const memory = this.#memoryStubs, checks = this.#checks;
    for (let k = 0; k < memory.length; k++) {
      const entry = memory.get(k), field = entry >>> 3;
      a.patchRel32(field, a.offset);
      a.patchRel32(field + WINDOW_SECOND, a.offset);
      a.callThenJmp(checks[entry & 7], field + WINDOW_END);
    }
    const lookups = this.#lookupStubs;
    for (let k = 0; k < lookups.length; k += 3) {
      // Outside code, not an instruction start, or the host return: the full lookup.
      a.patchRel32(lookups.get(k), a.offset);
      a.patchRel32(lookups.get(k + 1), a.offset);
      const at = a.copy(FULL_LOOKUP);
      a.patch32(at + FULL_LOOKUP.imm32[0], lookups.get(k + 2));
      a.patchRel32(at + FULL_LOOKUP.rel32[0], this.#lookupAndCharge);
    }
    const jumps = this.#jumpStubs;
    for (let k = 0; k < jumps.length; k += 3) {
      a.patchRel32(jumps.get(k), a.offset);
      this.exit(Exit.INVALID_JUMP, jumps.get(k + 1), jumps.get(k + 2));
    }
    const bytes = a.finish();
    // Kept for the next program unless a huge one grew it (no lasting multi-MiB buffer).
    scratch = a.buffer.length <= SCRATCH_LIMIT ? a.buffer : new Uint8Array(1 << 16);
    spareLists = [
      this.#forward,
      this.#unpaidStubs,
      this.#memoryStubs,
      this.#lookupStubs,
      this.#jumpStubs,
    ];
    return bytes;
  }

  /** Leaves native code with `reason` for the instruction at `pc`. */
  exit(reason: number, pc: number, aux?: number): void {
    const a = this.a;
    a.storeImm32(state(State.EXIT_PC), pc);
    if (aux !== undefined) a.storeImm32(state(State.EXIT_AUX), aux | 0);
    a.storeImm32(state(State.EXIT_REASON), reason);
    a.jmp(this.#rt.exit);
  }

  // ---- operands ----

  /** A host register holding guest `r` (loading it into `scratch` if needed). */
  #src(r: number, scratch: Reg): Reg {
    const h = this.#host[r];
    if (h >= 0) return h;
    if (r === 0) this.a.movImm32(scratch, 0);
    else this.a.load32(scratch, slot(r));
    return scratch;
  }

  /** Copies guest `r` into host register `into`. */
  #load(into: Reg, r: number): void {
    const h = this.#host[r];
    if (h === into) return;
    if (h >= 0) this.a.mov32(into, h);
    else if (r === 0) this.a.movImm32(into, 0);
    else this.a.load32(into, slot(r));
  }

  /** Writes host register `from` to guest `rd`. */
  #put(rd: number, from: Reg): void {
    if (rd === 0) return;
    const h = this.#host[rd];
    if (h === from) return;
    if (h >= 0) this.a.mov32(h, from);
    else this.a.store32(slot(rd), from);
  }

  /** Writes a constant to guest `rd`. */
  constant(rd: number, value: number): void {
    if (rd === 0) return;
    const h = this.#host[rd];
    if (h >= 0) this.a.movImm32(h, value | 0);
    else this.a.storeImm32(slot(rd), value | 0);
  }

  /** Where to compute a result for `rd` without clobbering `keep` early. */
  #target(rd: number, keep: number): Reg {
    const h = this.#host[rd];
    return h >= 0 && rd !== keep ? h : RAX;
  }

  /** Applies `op` with guest `r` as the second operand. */
  #alu(op: number, dst: Reg, r: number): void {
    const h = this.#host[r];
    if (h >= 0) this.a.alu32(op, dst, h);
    else if (r === 0) this.a.alu32Imm(op, dst, 0);
    else this.a.alu32RM(op, dst, slot(r));
  }

  // ---- instructions ----

  instruction(i: number): void {
    this.#current = i;
    lower(this.#code, i, this);
  }

  shiftImm(op: number, rd: number, rs1: number, imm: number): void {
    if (rd === 0) return;
    const t = this.#target(rd, -1);
    this.#load(t, rs1);
    if (imm !== 0) this.a.shift32Imm(SHIFT_OF[op], t, imm);
    this.#put(rd, t);
  }

  aluReg(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    if (op === Op.SLL || op === Op.SRL || op === Op.SRA) return this.#shiftReg(op, rd, rs1, rs2);
    if (op === Op.MUL) {
      this.#load(RAX, rs1);
      this.a.imul32(RAX, this.#src(rs2, RDX));
      return this.#put(rd, RAX);
    }
    if (rs1 === 0 && (op === Op.ADD || op === Op.OR || op === Op.XOR)) {
      return this.#put(rd, this.#src(rs2, RAX)); // a move (c.mv)
    }
    const host = this.#host, d = host[rd], h1 = host[rs1], h2 = host[rs2];
    if (d >= 0 && d === h1 && h2 >= 0) return this.a.alu32(ALU_OF[op], d, h2); // the common form
    const t = this.#target(rd, rs2 === rs1 ? -1 : rs2);
    this.#load(t, rs1);
    if (rs2 !== 0 || op === Op.AND) this.#alu(ALU_OF[op], t, rs2);
    this.#put(rd, t);
  }

  aluImm(op: number, rd: number, rs1: number, imm: number): void {
    if (rd === 0) return;
    if (rs1 === 0) return this.constant(rd, op === Op.ANDI ? 0 : imm); // li
    const a = this.a;
    const d = this.#host[rd], h1 = this.#host[rs1];
    if (d >= 0 && h1 >= 0) {
      if (d === h1) return imm !== 0 || op === Op.ANDI ? a.alu32Imm(ALU_OF[op], d, imm) : undefined;
      if (op === Op.ADDI) return a.leaDisp32(d, h1, imm);
    }
    const t = this.#target(rd, -1);
    this.#load(t, rs1);
    if (imm !== 0 || op === Op.ANDI) a.alu32Imm(ALU_OF[op], t, imm);
    this.#put(rd, t);
  }

  setLess(op: number, rd: number, rs1: number, rs2: number, imm: number): void {
    if (rd === 0) return;
    const a = this.a;
    const unsigned = op === Op.SLTU || op === Op.SLTIU;
    const left = this.#src(rs1, RDX);
    a.movImm32(RAX, 0);
    if (op === Op.SLTI || op === Op.SLTIU) a.alu32Imm(ALU.CMP, left, imm);
    else this.#alu(ALU.CMP, left, rs2);
    a.setcc(unsigned ? CC.B : CC.L, RAX);
    this.#put(rd, RAX);
  }

  #shiftReg(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    const a = this.a;
    this.#load(RAX, rs1);
    if (this.#host[rs2] === RCX) a.shift32(SHIFT_OF[op], RAX);
    else {
      a.mov32(RDX, RCX); // RCX holds a guest register: keep it
      this.#load(RCX, rs2);
      a.shift32(SHIFT_OF[op], RAX);
      a.mov32(RCX, RDX);
    }
    this.#put(rd, RAX);
  }

  mulHigh(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    const a = this.a;
    this.#load(RAX, rs1);
    if (op !== Op.MULHU) a.movsxd(RAX, RAX);
    this.#load(RDX, rs2);
    if (op === Op.MULH) a.movsxd(RDX, RDX);
    a.imul64(RAX, RDX); // the exact product fits in 64 bits for every sign combination
    a.shift64Imm(SHIFT.SHR, RAX, 32);
    this.#put(rd, RAX);
  }

  /** Division with the RISC-V results for x/0 and INT_MIN/-1 (x86 would fault). */
  divide(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    const a = this.a;
    this.#load(RAX, rs1);
    let divisor = this.#host[rs2];
    const borrowed = divisor < 0;
    if (borrowed) {
      // The divisor lives in memory: lend it RCX (edx:eax are the dividend).
      a.store64(state(State.TEMP), RCX);
      this.#load(RCX, rs2);
      divisor = RCX;
    }
    const done = a.label();
    const special = a.label();
    const signed = op === Op.DIV || op === Op.REM;
    const remainder = op === Op.REM || op === Op.REMU;
    a.test32(divisor, divisor);
    if (remainder) a.jcc(CC.E, done); // x % 0 = x
    else a.jcc(CC.E, special); // x / 0 = -1
    if (signed) {
      const minusOne = a.label();
      a.alu32Imm(ALU.CMP, divisor, -1);
      a.jcc(CC.E, minusOne);
      a.cdq();
      a.idiv32(divisor);
      if (remainder) a.mov32(RAX, RDX);
      a.jmp(done);
      a.bind(minusOne); // x / -1 = -x (INT_MIN stays), x % -1 = 0
      if (remainder) a.movImm32(RAX, 0);
      else a.neg32(RAX);
      a.jmp(done);
    } else {
      a.movImm32(RDX, 0);
      a.div32(divisor);
      if (remainder) a.mov32(RAX, RDX);
      a.jmp(done);
    }
    a.bind(special);
    if (!remainder) a.movImm32(RAX, -1);
    a.bind(done);
    if (borrowed) a.load64(RCX, state(State.TEMP));
    this.#put(rd, RAX);
  }

  branch(op: number, rs1: number, rs2: number, pc: number, t: number, targetPc: number): void {
    const a = this.a;
    let cc = BRANCH_CC[op];
    if (rs1 === 0 && rs2 === 0) {
      // 0 ? 0: BEQ, BGE and BGEU always jump; the others never do.
      if (cc !== CC.E && cc !== CC.GE && cc !== CC.AE) return;
      if (t >= 0) return this.#jumpTo(-1, t);
      return this.exit(Exit.INVALID_JUMP, pc, targetPc);
    }
    if (rs2 === 0 || rs1 === 0) {
      // Compare with zero: TEST clears CF and OF, so every condition still holds.
      if (rs1 === 0) cc = MIRROR[cc];
      const r = this.#src(rs1 === 0 ? rs2 : rs1, RAX);
      a.test32(r, r);
    } else this.#alu(ALU.CMP, this.#src(rs1, RAX), rs2);
    if (t >= 0) return this.#jumpTo(cc, t);
    const jumps = this.#jumpStubs; // to a cold InvalidJump exit
    jumps.push2(a.jccField(cc), pc);
    jumps.push(targetPc);
  }

  jump(rd: number, target: number, link: number): void {
    this.constant(rd, link);
    this.#jumpTo(-1, target);
  }

  jumpIndirect(rd: number, rs1: number, imm: number, pc: number, link: number): void {
    const a = this.a;
    const h = this.#host[rs1];
    if (h >= 0) a.leaDisp32(RAX, h, imm);
    else {
      this.#load(RAX, rs1);
      if (imm !== 0) a.alu32Imm(ALU.ADD, RAX, imm);
    }
    a.alu32Imm(ALU.AND, RAX, -2);
    if (rd === 0) return this.#jumpIndirect(pc);
    a.movImm32(RDX, pc);
    // Validate, write the link, charge, in the contract's order. The final
    // indirect jump is at the site so the CPU predicts each site separately.
    if (rd === 0) a.call(this.#rt.lookupAndCharge);
    else {
      a.call(this.#rt.lookup);
      this.constant(rd, link);
      a.call(this.#rt.charge);
    }
    a.jmpReg(RDX);
  }

  /**
   * An indirect jump that writes no link (returns, switch tables) to the
   * target in EAX, with the jump-table lookup and charge inline; anything
   * unusual takes the shared lookup out of line.
   */
  #jumpIndirect(pc: number): void {
    const a = this.a;
    const code = this.#code;
    const t = JUMP_INDIRECT;
    const at = a.copy(t);
    a.patch32(at + t.imm32[0], code.start);
    a.patch32(at + t.imm32[1], code.end - code.start);
    const lookups = this.#lookupStubs;
    lookups.push2(at + t.rel32[0], at + t.rel32[1]);
    lookups.push(pc);
    a.patchRel32(at + t.rel32[2], this.#unpaidIndirect);
  }

  /** Leaves the guest address `imm(rs1)` in EAX and checks `width` bytes there. */
  #address(rs1: number, imm: number, width: number, write: boolean): void {
    const a = this.a;
    const h = this.#host[rs1];
    if (h >= 0 && imm !== 0) a.leaDisp32(RAX, h, imm);
    else {
      this.#load(RAX, rs1);
      if (imm !== 0) a.alu32Imm(ALU.ADD, RAX, imm);
    }
    const slot = (width >> 1) * 2 + (write ? 1 : 0);
    const check = WINDOW_CHECK[slot];
    const at = a.copy(check);
    if (at >= MAX_CODE) throw new RangeError("the program's native code would exceed 512 MiB");
    this.#memoryStubs.push((at + check.rel32[0]) * 8 + slot);
  }

  load(op: number, rd: number, rs1: number, imm: number): void {
    this.#address(rs1, imm, WIDTH[op], false);
    if (rd === 0) return; // checked, nothing to write
    const h = this.#host[rd];
    const d = h >= 0 ? h : RDX;
    this.a.moveIndexed(MOVE_OF[op], d, BASE, RAX);
    this.#put(rd, d);
  }

  store(op: number, rs1: number, rs2: number, imm: number): void {
    const width = WIDTH[op];
    this.#address(rs1, imm, width, true);
    const a = this.a;
    if (width === 4 && rs2 === 0) return a.storeImm32(ACCESS, 0);
    a.moveIndexed(MOVE_OF[op], this.#src(rs2, RDX), BASE, RAX);
  }

  reserved(op: number, rd: number, rs1: number, rs2: number): void {
    const a = this.a;
    const m = ACCESS;
    if (op === Op.LR_W) {
      this.#address(rs1, 0, 4, false);
      a.store32(state(State.RESERVATION), RAX);
      if (rd === 0) return;
      const h = this.#host[rd];
      const d = h >= 0 ? h : RDX;
      a.load32(d, m);
      return this.#put(rd, d);
    }
    this.#address(rs1, 0, 4, true);
    const fail = a.label();
    const done = a.label();
    a.alu32RM(ALU.CMP, RAX, state(State.RESERVATION));
    a.jcc(CC.NE, fail);
    a.store32(m, this.#src(rs2, RDX));
    this.constant(rd, 0);
    a.jmp(done);
    a.bind(fail);
    this.constant(rd, 1);
    a.bind(done);
    a.storeImm32(state(State.RESERVATION), -1);
  }

  amo(op: number, rd: number, rs1: number, rs2: number): void {
    const a = this.a;
    this.#address(rs1, 0, 4, true);
    const m = ACCESS;
    // The new value is formed in RCX (its guest value saved), the old in EDX.
    a.store64(state(State.TEMP), RCX);
    this.#load(RCX, rs2);
    a.load32(RDX, m);
    switch (op) {
      case Op.AMOADD_W:
        a.alu32(ALU.ADD, RCX, RDX);
        break;
      case Op.AMOXOR_W:
        a.alu32(ALU.XOR, RCX, RDX);
        break;
      case Op.AMOAND_W:
        a.alu32(ALU.AND, RCX, RDX);
        break;
      case Op.AMOOR_W:
        a.alu32(ALU.OR, RCX, RDX);
        break;
      case Op.AMOSWAP_W:
        break;
      default: {
        const keepOld = op === Op.AMOMIN_W
          ? CC.L
          : op === Op.AMOMAX_W
          ? CC.G
          : op === Op.AMOMINU_W
          ? CC.B
          : CC.A;
        a.alu32(ALU.CMP, RDX, RCX);
        a.cmov32(keepOld, RCX, RDX);
      }
    }
    a.store32(m, RCX);
    a.load64(RCX, state(State.TEMP));
    this.#put(rd, RDX);
  }
}
