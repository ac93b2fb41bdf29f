/**
 * The AArch64 backend: emits machine code for each guest instruction, with
 * the same contract, state block and exits as the x86-64 backend. W-register
 * operations give RV32 semantics directly; the zero register stands for x0.
 * Guest address `a` is host address `BASE + a` (a zero-extended W register),
 * always after an explicit window check.
 * @module
 */
import type { DecodedCode } from "../../abi/code.ts";
import { Op } from "../../abi/isa.ts";
import { lower, type Lowering } from "../_lower.ts";
import { Exit, State } from "../state.ts";
import { type Backend, type Emitted, type InstructionVisitor, visitProgram } from "../translate.ts";
import { BASE, GAS, hostRegisters, T0, T1, T2 } from "./_regs.ts";
import { Runtime } from "./_runtime.ts";
import { A64Assembler, COND, type Cond, type Label, type Reg, ZR } from "./asm.ts";

const BRANCH_COND: Record<number, Cond> = {
  [Op.BEQ]: COND.EQ,
  [Op.BNE]: COND.NE,
  [Op.BLT]: COND.LT,
  [Op.BGE]: COND.GE,
  [Op.BLTU]: COND.LO,
  [Op.BGEU]: COND.HS,
};
/** Code below this many bytes keeps every conditional branch within B.cond's ±1 MiB. */
const NEAR_LIMIT = 1 << 20;
let forceFar = false;

/**
 * @internal For tests: translate every program as if it were too big for
 * B.cond, so the long branch forms run in small programs too.
 */
export function forceFarBranches(on: boolean): void {
  forceFar = on;
}
/** An upper bound of native bytes per guest instruction, cold paths included. */
const MAX_BYTES_PER_INSTRUCTION = 160;

/** Deferred out-of-line paths, five numbers each: kind, pc, branch offset, value, extra. */
const COLD_UNPAID = 0, COLD_MEMORY = 1, COLD_JUMP = 2, COLD_LOOKUP = 3;

/** Emits AArch64 for one program. */
export class A64Backend implements Backend, InstructionVisitor, Lowering {
  readonly a: A64Assembler;
  readonly #code: DecodedCode;
  readonly #host: readonly number[];
  readonly #labels: (Label | undefined)[];
  readonly #cold: number[] = [];
  readonly #rt: Runtime;
  /** Conditional branches reach anywhere (B.cond over B) in programs too big for B.cond alone. */
  readonly #far: boolean;

  constructor(code: DecodedCode) {
    this.#code = code;
    this.#host = hostRegisters(code);
    this.a = new A64Assembler(code.count * 12 + 1024);
    this.#labels = new Array(code.count);
    this.#rt = new Runtime(this.a, this.#host);
    this.#far = forceFar || code.count * MAX_BYTES_PER_INSTRUCTION + 65536 >= NEAR_LIMIT;
  }

  get offset(): number {
    return this.a.offset;
  }

  emit(startOffset: Uint32Array, bodyOffset: Uint32Array): Emitted {
    return visitProgram(this.#code, this, startOffset, bodyOffset);
  }

  /** The one out-of-gas exit every link-less indirect jump shares (it needs no site pc). */
  #unpaidIndirect = 0;

  begin(): void {
    const a = this.a;
    this.#rt.emit();
    this.#unpaidIndirect = a.offset;
    a.add(true, GAS, GAS, T2);
    a.stur(false, T0, BASE, State.EXIT_PC);
    a.b(this.#rt.outOfGas);
  }

  #label(i: number): Label {
    return this.#labels[i] ??= this.a.label();
  }

  /** A conditional branch to `l` (or to a cold path when `l` is undefined; returns the offset to patch). */
  #bcond(cond: Cond, l: Label | undefined): number {
    const a = this.a;
    if (this.#far) {
      a.word(0x54000040 | (cond ^ 1)); // b.!cond +8
      const at = a.offset;
      if (l === undefined) a.word(0x14000000);
      else a.b(l);
      return at;
    }
    const at = a.offset;
    if (l === undefined) a.word(0x54000000 | cond);
    else a.bcond(cond, l);
    return at;
  }

  blockStart(i: number): void {
    const a = this.a;
    a.bind(this.#label(i));
    const cost = this.#code.entryCost[i];
    if (cost === 0) return;
    if (cost < 4096) a.subsImm(true, GAS, GAS, cost);
    else {
      a.movImm32(T0, cost);
      a.subs(true, GAS, GAS, T0);
    }
    this.#cold.push(COLD_UNPAID, this.#code.pc[i], this.#bcond(COND.MI, undefined), 0, 0);
  }

  fallOff(i: number): void {
    const pc = this.#code.pc[i];
    this.exit(Exit.INVALID_JUMP, pc, (pc + this.#code.size[i]) >>> 0);
  }

  finish(): Uint8Array {
    const a = this.a;
    const rt = this.#rt;
    const cold = this.#cold;
    for (let k = 0; k < cold.length; k += 5) {
      const kind = cold[k], pc = cold[k + 1], value = cold[k + 3], extra = cold[k + 4];
      a.patchBranch(cold[k + 2], a.offset);
      if (kind === COLD_UNPAID) {
        rt.setField(State.EXIT_PC, pc);
        a.b(rt.unpaid);
      } else if (kind === COLD_MEMORY) {
        a.patchBranch(value, a.offset); // the window's second branch
        a.movImm32(T1, pc);
        a.bl(rt.slowCheck(extra & 7, (extra & 8) !== 0));
        a.word(0x14000000); // b back: the instruction after the second branch
        a.patchBranch(a.offset - 4, value + 4);
      } else if (kind === COLD_LOOKUP) {
        a.patchBranch(value, a.offset); // the absent-entry branch comes here too
        a.movImm32(T1, pc);
        a.bl(rt.lookupAndCharge);
        a.br(T1);
      } else this.exit(Exit.INVALID_JUMP, pc, value);
    }
    return a.finish();
  }

  /** Leaves native code with `reason` for the instruction at `pc`. */
  exit(reason: number, pc: number, aux?: number): void {
    const rt = this.#rt;
    rt.setField(State.EXIT_PC, pc);
    if (aux !== undefined) rt.setField(State.EXIT_AUX, aux);
    rt.setField(State.EXIT_REASON, reason);
    this.a.b(rt.exit);
  }

  // ---- operands ----

  /** A register holding guest `r`: its host register, ZR for x0, or `scratch` loaded from memory. */
  #src(r: number, scratch: Reg): Reg {
    if (r === 0) return ZR;
    const h = this.#host[r];
    if (h >= 0) return h;
    this.a.ldur(false, scratch, BASE, State.REGS + 4 * r);
    return scratch;
  }

  /** Where to compute guest `rd`: its host register, or `scratch`. */
  #dst(rd: number, scratch: Reg): Reg {
    const h = this.#host[rd];
    return h >= 0 ? h : scratch;
  }

  /** Completes a write to guest `rd` computed in `from`. */
  #put(rd: number, from: Reg): void {
    if (rd === 0) return;
    const h = this.#host[rd];
    if (h === from) return;
    if (h >= 0) this.a.mov(false, h, from);
    else this.a.stur(false, from, BASE, State.REGS + 4 * rd);
  }

  constant(rd: number, value: number): void {
    if (rd === 0) return;
    const d = this.#dst(rd, T0);
    this.a.movImm32(d, value);
    this.#put(rd, d);
  }

  // ---- instructions ----

  instruction(i: number): void {
    lower(this.#code, i, this);
  }

  shiftImm(op: number, rd: number, rs1: number, imm: number): void {
    if (rd === 0) return;
    const a = this.a;
    const n = this.#src(rs1, T0), d = this.#dst(rd, T0);
    if (op === Op.SLLI) a.lslImm(false, d, n, imm);
    else if (op === Op.SRLI) a.lsrImm(false, d, n, imm);
    else a.asrImm(false, d, n, imm);
    this.#put(rd, d);
  }

  setLess(op: number, rd: number, rs1: number, rs2: number, imm: number): void {
    if (rd === 0) return;
    const a = this.a;
    const left = this.#src(rs1, T0);
    let right: Reg;
    if (op === Op.SLTI || op === Op.SLTIU) a.movImm32(right = T1, imm);
    else right = this.#src(rs2, T1);
    a.subs(false, ZR, left, right);
    const d = this.#dst(rd, T0);
    a.cset(false, d, op === Op.SLTU || op === Op.SLTIU ? COND.LO : COND.LT);
    this.#put(rd, d);
  }

  aluImm(op: number, rd: number, rs1: number, imm: number): void {
    if (rd === 0) return;
    const a = this.a;
    if (rs1 === 0) return this.constant(rd, op === Op.ANDI ? 0 : imm);
    const n = this.#src(rs1, T0);
    const d = this.#dst(rd, T0);
    if (op === Op.ADDI) {
      if (imm >= 0) a.addImm(false, d, n, imm);
      else a.subImm(false, d, n, -imm);
    } else {
      a.movImm32(T1, imm);
      if (op === Op.XORI) a.eor(false, d, n, T1);
      else if (op === Op.ORI) a.orr(false, d, n, T1);
      else a.and(false, d, n, T1);
    }
    this.#put(rd, d);
  }

  aluReg(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    const a = this.a;
    const n = this.#src(rs1, T0), m = this.#src(rs2, T1);
    const d = this.#dst(rd, T0);
    switch (op) {
      case Op.ADD:
        a.add(false, d, n, m);
        break;
      case Op.SUB:
        a.sub(false, d, n, m);
        break;
      case Op.XOR:
        a.eor(false, d, n, m);
        break;
      case Op.OR:
        a.orr(false, d, n, m);
        break;
      case Op.AND:
        a.and(false, d, n, m);
        break;
      case Op.SLL:
        a.lslv(false, d, n, m);
        break;
      case Op.SRL:
        a.lsrv(false, d, n, m);
        break;
      case Op.SRA:
        a.asrv(false, d, n, m);
        break;
      default:
        a.mul(false, d, n, m); // MUL
    } // dprint-ignore
    this.#put(rd, d);
  }

  mulHigh(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    const a = this.a;
    const n = this.#src(rs1, T0), m = this.#src(rs2, T1);
    if (op === Op.MULH) a.smull(T0, n, m);
    else if (op === Op.MULHU) a.umull(T0, n, m);
    else {
      // MULHSU: rs1 sign-extended times rs2 zero-extended; the product fits in 64 bits.
      a.mov(false, T1, m);
      a.sxtw(T0, n);
      a.mul(true, T0, T0, T1);
    }
    a.lsrImm(true, T0, T0, 32);
    this.#put(rd, T0);
  }

  /** SDIV/UDIV give x/0 = 0 and MIN/-1 = MIN without trapping; RISC-V wants x/0 = -1. */
  divide(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    const a = this.a;
    const n = this.#src(rs1, T0), m = this.#src(rs2, T1);
    const signed = op === Op.DIV || op === Op.REM;
    if (signed) a.sdiv(false, T2, n, m);
    else a.udiv(false, T2, n, m);
    if (op === Op.DIV || op === Op.DIVU) {
      a.subs(false, ZR, m, ZR);
      a.csinv(false, T2, T2, ZR, COND.NE);
    } else a.msub(false, T2, T2, m, n); // n - q * m: n when m = 0, 0 for MIN % -1
    this.#put(rd, T2);
  }

  branch(op: number, rs1: number, rs2: number, pc: number, t: number, targetPc: number): void {
    this.a.subs(false, ZR, this.#src(rs1, T0), this.#src(rs2, T1));
    if (t >= 0) this.#bcond(BRANCH_COND[op], this.#label(t));
    else this.#cold.push(COLD_JUMP, pc, this.#bcond(BRANCH_COND[op], undefined), targetPc, 0);
  }

  jump(rd: number, target: number, link: number): void {
    this.constant(rd, link);
    this.a.b(this.#label(target));
  }

  jumpIndirect(rd: number, rs1: number, imm: number, pc: number, link: number): void {
    const a = this.a;
    this.#addressInto(T0, rs1, imm);
    a.lsrImm(false, T0, T0, 1); // clear bit 0
    a.lslImm(false, T0, T0, 1);
    if (rd === 0) return this.#jumpIndirect(pc);
    a.movImm32(T1, pc);
    a.bl(this.#rt.lookup); // validate, write the link, charge: the contract's order
    this.constant(rd, link);
    a.bl(this.#rt.charge);
    a.br(T1);
  }

  /** A link-less indirect jump (returns) to W16 with the lookup and charge inline. */
  #jumpIndirect(pc: number): void {
    const a = this.a;
    const code = this.#code;
    a.movImm32(T1, code.start);
    a.sub(false, T1, T0, T1);
    a.movImm32(T2, code.end - code.start);
    a.subs(false, ZR, T1, T2);
    const outside = this.#bcond(COND.HS, undefined);
    a.ldur(true, T2, BASE, State.JUMP_TABLE);
    a.addUxtw(T2, T2, T1, 3); // offset * 8 = slot * 16: the entry
    a.ldrX(T1, T2, 0);
    let absent: number;
    if (this.#far) {
      a.word(0xb5000040 | T1); // cbnz x17, +8
      absent = a.offset;
      a.word(0x14000000);
    } else {
      absent = a.offset;
      a.word(0xb4000000 | T1); // cbz x17 (patched to the shared slow path)
    }
    this.#cold.push(COLD_LOOKUP, pc, outside, absent, 0);
    a.ldrX(T2, T2, 8);
    a.subs(true, GAS, GAS, T2);
    a.patchBranch(this.#bcond(COND.MI, undefined), this.#unpaidIndirect);
    a.br(T1);
  }

  /** `rd := rs1 + imm` as a 32-bit sum. */
  #addressInto(rd: Reg, rs1: number, imm: number): void {
    const a = this.a;
    if (rs1 === 0) return a.movImm32(rd, imm);
    const n = this.#src(rs1, rd);
    if (imm > 0) a.addImm(false, rd, n, imm);
    else if (imm < 0) a.subImm(false, rd, n, -imm);
    else if (n !== rd) a.mov(false, rd, n);
  }

  /** Leaves the guest address `imm(rs1)` in W16 and checks `width` bytes there. */
  #address(rs1: number, imm: number, width: number, write: boolean, pc: number): void {
    const a = this.a;
    this.#addressInto(T0, rs1, imm);
    const lo = write ? State.WRITE_LO : State.READ_LO;
    const last = lo + (width === 1 ? 4 : width === 2 ? 8 : 12);
    a.ldur(false, T1, BASE, lo);
    a.subs(false, ZR, T0, T1);
    const below = this.#bcond(COND.LO, undefined);
    a.ldur(false, T1, BASE, last);
    a.subs(false, ZR, T0, T1);
    const above = this.#bcond(COND.HI, undefined);
    this.#cold.push(COLD_MEMORY, pc, below, above, (write ? 8 : 0) | width);
  }

  load(op: number, rd: number, rs1: number, imm: number, pc: number): void {
    const width = op === Op.LW ? 4 : op === Op.LB || op === Op.LBU ? 1 : 2;
    this.#address(rs1, imm, width, false, pc);
    if (rd === 0) return; // checked, nothing to write
    const a = this.a;
    const d = this.#dst(rd, T1);
    if (op === Op.LW) a.ldrW(d, BASE, T0);
    else if (op === Op.LB) a.ldrSB(d, BASE, T0);
    else if (op === Op.LBU) a.ldrB(d, BASE, T0);
    else if (op === Op.LH) a.ldrSH(d, BASE, T0);
    else a.ldrH(d, BASE, T0);
    this.#put(rd, d);
  }

  store(op: number, rs1: number, rs2: number, imm: number, pc: number): void {
    const width = op === Op.SW ? 4 : op === Op.SB ? 1 : 2;
    this.#address(rs1, imm, width, true, pc);
    const v = this.#src(rs2, T1);
    if (width === 4) this.a.strW(v, BASE, T0);
    else if (width === 2) this.a.strH(v, BASE, T0);
    else this.a.strB(v, BASE, T0);
  }

  reserved(op: number, rd: number, rs1: number, rs2: number, pc: number): void {
    const a = this.a;
    if (op === Op.LR_W) {
      this.#address(rs1, 0, 4, false, pc);
      a.stur(false, T0, BASE, State.RESERVATION);
      if (rd === 0) return;
      const d = this.#dst(rd, T1);
      a.ldrW(d, BASE, T0);
      return this.#put(rd, d);
    }
    this.#address(rs1, 0, 4, true, pc);
    a.ldur(false, T1, BASE, State.RESERVATION);
    a.subs(false, ZR, T0, T1);
    a.cset(false, T2, COND.NE); // the result: 0 on success, 1 on failure
    const fail = a.label();
    a.bcond(COND.NE, fail);
    a.strW(this.#src(rs2, T1), BASE, T0);
    a.bind(fail);
    a.movn(false, T1, 0);
    a.stur(false, T1, BASE, State.RESERVATION);
    this.#put(rd, T2);
  }

  amo(op: number, rd: number, rs1: number, rs2: number, pc: number): void {
    const a = this.a;
    this.#address(rs1, 0, 4, true, pc);
    a.ldrW(T1, BASE, T0); // the old value
    const m = this.#src(rs2, T2);
    switch (op) {
      case Op.AMOADD_W:
        a.add(false, T2, T1, m);
        break;
      case Op.AMOXOR_W:
        a.eor(false, T2, T1, m);
        break;
      case Op.AMOAND_W:
        a.and(false, T2, T1, m);
        break;
      case Op.AMOOR_W:
        a.orr(false, T2, T1, m);
        break;
      case Op.AMOSWAP_W:
        a.mov(false, T2, m);
        break;
      default: {
        const keepOld = op === Op.AMOMIN_W
          ? COND.LT
          : op === Op.AMOMAX_W
          ? COND.GT
          : op === Op.AMOMINU_W
          ? COND.LO
          : COND.HI;
        a.subs(false, ZR, T1, m);
        a.csel(false, T2, T1, m, keepOld);
      }
    } // dprint-ignore
    a.strW(T2, BASE, T0);
    this.#put(rd, T1);
  }
}
