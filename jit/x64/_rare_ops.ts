/**
 * The lowering of the ops compiled code seldom uses (register shifts,
 * high multiplications, divisions, LR/SC and AMOs), through the assembler: they
 * need labels or many instruction forms, and their speed does not matter to
 * the translation loop, which hands its position over and takes it back.
 * @module
 */
import { Op } from "../../abi/isa.ts";
import { State } from "../state.ts";
import { loadGuest, putGuest, setGuest } from "./_guest_regs.ts";
import { ACCESS, state } from "./_regs.ts";
import { ALU, CC, RAX, RCX, RDX, type Reg, SHIFT, X64Assembler } from "./asm.ts";

/** Guest register values a raw encoder needs at most (a slot load or store with an imm32). */
const ROOM = 16;

const SHIFT_OF: Record<number, number> = {
  [Op.SLL]: SHIFT.SHL,
  [Op.SRL]: SHIFT.SHR,
  [Op.SRA]: SHIFT.SAR,
};
/** AMO*: the ALU op combining the old value and rs2, or the condition keeping the old value. */
const AMO_ALU: Record<number, number> = {
  [Op.AMOADD_W]: ALU.ADD,
  [Op.AMOXOR_W]: ALU.XOR,
  [Op.AMOAND_W]: ALU.AND,
  [Op.AMOOR_W]: ALU.OR,
};
const AMO_KEEP_OLD: Record<number, number> = {
  [Op.AMOMIN_W]: CC.L,
  [Op.AMOMAX_W]: CC.G,
  [Op.AMOMINU_W]: CC.B,
  [Op.AMOMAXU_W]: CC.A,
};

/** Rare ops for one program: its assembler and register map. */
export class RareOps {
  readonly #a: X64Assembler;
  readonly #host: readonly number[];

  constructor(a: X64Assembler, host: readonly number[]) {
    this.#a = a;
    this.#host = host;
  }

  /** Copies guest `r` into host register `into`. */
  #load(into: Reg, r: number): void {
    const a = this.#a, at = a.reserve(ROOM);
    a.seek(loadGuest(a.buffer, at, this.#host, into, r));
  }

  /** Writes host register `from` to guest `rd`. */
  #put(rd: number, from: Reg): void {
    const a = this.#a, at = a.reserve(ROOM);
    a.seek(putGuest(a.buffer, at, this.#host, rd, from));
  }

  /** Writes a constant to guest `rd`. */
  #constant(rd: number, value: number): void {
    const a = this.#a, at = a.reserve(ROOM);
    a.seek(setGuest(a.buffer, at, this.#host, rd, value));
  }

  /** A host register holding guest `r` (loading it into `scratch` if needed). */
  #src(r: number, scratch: Reg): Reg {
    const h = this.#host[r];
    if (h >= 0) return h;
    this.#load(scratch, r);
    return scratch;
  }

  /** SLL SRL SRA (`rd` is not x0): the count must be in CL. */
  shiftReg(op: number, rd: number, rs1: number, rs2: number): void {
    const a = this.#a;
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

  /** MULH MULHSU MULHU. */
  mulHigh(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    const a = this.#a;
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
    const a = this.#a;
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

  /** LR.W and SC.W, after the window check of the address in EAX. */
  reserved(op: number, rd: number, rs2: number): void {
    const a = this.#a;
    if (op === Op.LR_W) {
      a.store32(state(State.RESERVATION), RAX);
      if (rd === 0) return;
      const h = this.#host[rd];
      const d = h >= 0 ? h : RDX;
      a.load32(d, ACCESS);
      return this.#put(rd, d);
    }
    const fail = a.label();
    const done = a.label();
    a.alu32RM(ALU.CMP, RAX, state(State.RESERVATION));
    a.jcc(CC.NE, fail);
    a.store32(ACCESS, this.#src(rs2, RDX));
    this.#constant(rd, 0);
    a.jmp(done);
    a.bind(fail);
    this.#constant(rd, 1);
    a.bind(done);
    a.storeImm32(state(State.RESERVATION), -1);
  }

  /** The AMOs, after the window check of the address in EAX. */
  amo(op: number, rd: number, rs2: number): void {
    const a = this.#a;
    // The new value is formed in RCX (its guest value saved), the old in EDX.
    a.store64(state(State.TEMP), RCX);
    this.#load(RCX, rs2);
    a.load32(RDX, ACCESS);
    const alu = AMO_ALU[op], keepOld = AMO_KEEP_OLD[op];
    if (alu !== undefined) a.alu32(alu, RCX, RDX);
    else if (keepOld !== undefined) {
      a.alu32(ALU.CMP, RDX, RCX);
      a.cmov32(keepOld, RCX, RDX);
    } // AMOSWAP: RCX already holds the new value
    a.store32(ACCESS, RCX);
    a.load64(RCX, state(State.TEMP));
    this.#put(rd, RDX);
  }
}
