/**
 * Emits the WebAssembly code of each RISC-V instruction: the wasm tier's
 * backend for the shared visitor (jit/_lower.ts). Guest registers are
 * locals 1-31 (x0 reads as 0, writes to it are dropped); every exit sets
 * the reason, pc and aux locals and branches to the function's epilogue,
 * which writes the state back to memory (wasm/translate.ts).
 * @module
 */
import { CHUNK_SHIFT } from "../abi/code.ts";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import { Op } from "../abi/isa.ts";
import type { Lowering } from "../jit/_lower.ts";
import { ControlFlow, DISPATCH, EXIT_LABEL, TARGET } from "./_control.ts";
import { Field, MID_BLOCK, STATE_BYTES, WasmExit } from "./_layout.ts";

/** Local indexes (0 is the parameter: the dispatch index). */
export const Local = Object.freeze({
  DISPATCH,
  T0: 32,
  T1: 33,
  T2: 34,
  REASON: 35,
  EXIT_PC: 36,
  AUX: 37,
  RESERVATION: 38,
  READ_START: 39,
  WRITE_START: 43,
  BIAS: 47,
  WRITE: 48,
  TARGET,
  /** The only i64 local. */
  GAS: 50,
});
/** i32 locals after the parameter. */
export const I32_LOCALS = Local.GAS - 1;

// Opcodes.
const IF = 0x04, ELSE = 0x05, CALL = 0x10, DROP = 0x1a, SELECT = 0x1b;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_LOAD = 0x28, I32_STORE = 0x36, I32_CONST = 0x41, I64_CONST = 0x42;
const EQZ = 0x45, EQ = 0x46, GE_U = 0x4f, I64_LT_U = 0x54;
const ADD = 0x6a, SUB = 0x6b, AND = 0x71, SHL = 0x74, SHR_U = 0x76;
const I64_MUL = 0x7e, I64_SUB = 0x7d, I64_SHR_U = 0x88, WRAP = 0xa7;
const EXTEND_S = 0xac, EXTEND_U = 0xad;
const VOID = 0x40, RESULT_I32 = 0x7f;

/** i32 opcode of each register/immediate ALU op. */
const ALU: Record<number, number> = {
  [Op.ADDI]: ADD,
  [Op.XORI]: 0x73,
  [Op.ORI]: 0x72,
  [Op.ANDI]: AND,
  [Op.SLLI]: SHL,
  [Op.SRLI]: 0x76,
  [Op.SRAI]: 0x75,
  [Op.ADD]: ADD,
  [Op.SUB]: SUB,
  [Op.XOR]: 0x73,
  [Op.OR]: 0x72,
  [Op.AND]: AND,
  [Op.SLL]: SHL,
  [Op.SRL]: 0x76,
  [Op.SRA]: 0x75,
  [Op.MUL]: 0x6c,
  [Op.SLTI]: 0x48,
  [Op.SLT]: 0x48,
  [Op.SLTIU]: 0x49,
  [Op.SLTU]: 0x49,
  [Op.BEQ]: EQ,
  [Op.BNE]: 0x47,
  [Op.BLT]: 0x48,
  [Op.BGE]: 0x4e,
  [Op.BLTU]: 0x49,
  [Op.BGEU]: GE_U,
};

/** Load opcode and size of each load op. */
const LOADS: Record<number, readonly [number, number]> = {
  [Op.LB]: [0x2c, 1],
  [Op.LH]: [0x2e, 2],
  [Op.LW]: [I32_LOAD, 4],
  [Op.LBU]: [0x2d, 1],
  [Op.LHU]: [0x2f, 2],
};
/** Store opcode and size of each store op. */
const STORES: Record<number, readonly [number, number]> = {
  [Op.SB]: [0x3a, 1],
  [Op.SH]: [0x3b, 2],
  [Op.SW]: [I32_STORE, 4],
};
/** Compare that picks the old value for AMOMIN/MAX(U): `old cmp rs2 ? old : rs2`. */
const AMO_PICK: Record<number, number> = {
  [Op.AMOMIN_W]: 0x48,
  [Op.AMOMAX_W]: 0x4a,
  [Op.AMOMINU_W]: 0x49,
  [Op.AMOMAXU_W]: 0x4b,
};
/** The window span local of an access size, from the window's start local. */
const SPAN_OF: Record<number, number> = { 1: 1, 2: 2, 4: 3 };

/** The instruction emitter of one translation. */
export class WasmLowering extends ControlFlow implements Lowering {
  /** Lowest code address, and the code's extent in bytes (for indirect jumps). */
  codeStart = 0;
  codeBytes = 0;

  get(local: number): void {
    this.w.u8x2(GET, local);
  }
  set(local: number): void {
    this.w.u8x2(SET, local);
  }
  i32(value: number): void {
    this.w.u8(I32_CONST);
    this.w.sleb32(value);
  }
  /** Pushes guest register `r`. */
  reg(r: number): void {
    if (r === 0) this.w.u8x2(I32_CONST, 0);
    else this.w.u8x2(GET, r);
  }
  /** Pops into guest register `r` (dropped for x0). */
  setReg(r: number): void {
    if (r === 0) this.w.u8(DROP);
    else this.w.u8x2(SET, r);
  }
  #if(type = VOID): void {
    this.open(IF, type);
  }
  #end(): void {
    this.close();
  }

  /** Leaves with `reason` for `pc`; `aux` a constant, or a local with `auxLocal`. */
  exit(reason: number, pc: number, aux = 0, auxLocal = false): void {
    this.i32(reason);
    this.set(Local.REASON);
    this.i32(pc);
    this.set(Local.EXIT_PC);
    if (auxLocal) this.get(aux);
    else this.i32(aux);
    this.set(Local.AUX);
    this.br(EXIT_LABEL);
  }

  /** Charges `cost` gas for entering the block at `pc`, or exits with OutOfGas. */
  charge(cost: number, pc: number): void {
    const w = this.w;
    this.get(Local.GAS);
    w.u8(I64_CONST);
    w.slebSafe(cost);
    w.u8(I64_LT_U);
    this.#if();
    this.exit(WasmExit.OUT_OF_GAS, pc);
    this.#end();
    this.get(Local.GAS);
    w.u8(I64_CONST);
    w.slebSafe(cost);
    w.u8(I64_SUB);
    this.set(Local.GAS);
  }

  aluImm(op: number, rd: number, rs1: number, imm: number): void {
    if (rd === 0) return; // no effect (NOPs and HINTs)
    this.reg(rs1);
    this.i32(imm);
    this.w.u8(ALU[op]);
    this.setReg(rd);
  }

  shiftImm(op: number, rd: number, rs1: number, imm: number): void {
    this.aluImm(op, rd, rs1, imm);
  }

  setLess(op: number, rd: number, rs1: number, rs2: number, imm: number): void {
    if (rd === 0) return; // no effect (NOPs and HINTs)
    this.reg(rs1);
    if (op === Op.SLTI || op === Op.SLTIU) this.i32(imm);
    else this.reg(rs2);
    this.w.u8(ALU[op]);
    this.setReg(rd);
  }

  aluReg(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return; // no effect (NOPs and HINTs)
    this.reg(rs1);
    this.reg(rs2);
    this.w.u8(ALU[op]);
    this.setReg(rd);
  }

  mulHigh(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return; // no effect (NOPs and HINTs)
    this.reg(rs1);
    this.w.u8(op === Op.MULHU ? EXTEND_U : EXTEND_S);
    this.reg(rs2);
    this.w.u8(op === Op.MULH ? EXTEND_S : EXTEND_U);
    this.w.u8(I64_MUL);
    this.w.u8(I64_CONST);
    this.w.u8(32);
    this.w.u8(I64_SHR_U);
    this.w.u8(WRAP);
    this.setReg(rd);
  }

  /**
   * DIV DIVU REM REMU with the spec's results where wasm would trap:
   * x/0 = -1, x%0 = x, INT_MIN/-1 = INT_MIN (wasm's rem_s gives 0 there).
   */
  divide(op: number, rd: number, rs1: number, rs2: number): void {
    if (rd === 0) return;
    const signed = op === Op.DIV || op === Op.REM;
    const quotient = op === Op.DIV || op === Op.DIVU;
    this.reg(rs2);
    this.w.u8(EQZ);
    this.#if(RESULT_I32);
    if (quotient) this.i32(-1);
    else this.reg(rs1);
    this.w.u8(ELSE);
    if (op === Op.DIV) {
      this.reg(rs2);
      this.i32(-1);
      this.w.u8(EQ);
      this.#if(RESULT_I32);
      this.i32(0);
      this.reg(rs1);
      this.w.u8(SUB);
      this.w.u8(ELSE);
    }
    this.reg(rs1);
    this.reg(rs2);
    this.w.u8(quotient ? (signed ? 0x6d : 0x6e) : (signed ? 0x6f : 0x70));
    if (op === Op.DIV) this.#end();
    this.#end();
    this.setReg(rd);
  }

  constant(rd: number, value: number): void {
    if (rd === 0) return; // no effect (NOPs and HINTs)
    this.i32(value);
    this.setReg(rd);
  }

  /**
   * Computes `imm(rs1)` into T0 and checks `size` bytes there against the
   * fast window (one unsigned compare), else against the regions exactly
   * (the imported `accessible`), exiting with a MemoryFault if not.
   */
  #checked(rs1: number, imm: number, size: number, write: boolean, pc: number): void {
    this.reg(rs1);
    if (imm !== 0) {
      this.i32(imm);
      this.w.u8(ADD);
    }
    this.w.u8x2(TEE, Local.T0);
    const window = write ? Local.WRITE_START : Local.READ_START;
    this.get(window);
    this.w.u8(SUB);
    this.get(window + SPAN_OF[size]);
    this.w.u8(GE_U);
    this.#if();
    this.get(Local.T0);
    this.i32(size);
    this.i32(write ? 1 : 0);
    this.w.u8x2(CALL, 0); // imported `accessible`
    this.w.u8(EQZ);
    this.#if();
    this.i32(write ? 1 : 0);
    this.set(Local.WRITE);
    this.exit(WasmExit.MEMORY_FAULT, pc, Local.T0, true);
    this.#end();
    this.#end();
  }

  /** Pushes the memory index of the checked address in T0. */
  #index(): void {
    this.get(Local.T0);
    this.get(Local.BIAS);
    this.w.u8(ADD);
  }

  #memory(opcode: number): void {
    this.w.u8(opcode);
    this.w.u8x2(0, 0); // alignment hint 1 (guest accesses may be misaligned), offset 0
  }

  load(op: number, rd: number, rs1: number, imm: number, pc: number): void {
    const [opcode, size] = LOADS[op];
    this.#checked(rs1, imm, size, false, pc);
    this.#index();
    this.#memory(opcode);
    this.setReg(rd);
  }

  store(op: number, rs1: number, rs2: number, imm: number, pc: number): void {
    const [opcode, size] = STORES[op];
    this.#checked(rs1, imm, size, true, pc);
    this.#index();
    this.reg(rs2);
    this.#memory(opcode);
  }

  reserved(op: number, rd: number, rs1: number, rs2: number, pc: number): void {
    if (op === Op.LR_W) {
      this.#checked(rs1, 0, 4, false, pc);
      this.#index();
      this.#memory(I32_LOAD);
      this.setReg(rd);
      this.get(Local.T0);
      this.set(Local.RESERVATION);
      return;
    }
    this.#checked(rs1, 0, 4, true, pc);
    this.get(Local.RESERVATION);
    this.get(Local.T0);
    this.w.u8(EQ);
    this.#if(RESULT_I32);
    this.#index();
    this.reg(rs2);
    this.#memory(I32_STORE);
    this.i32(0);
    this.w.u8(ELSE);
    this.i32(1);
    this.#end();
    this.setReg(rd);
    this.i32(-1);
    this.set(Local.RESERVATION);
  }

  amo(op: number, rd: number, rs1: number, rs2: number, pc: number): void {
    this.#checked(rs1, 0, 4, true, pc);
    this.#index();
    this.w.u8x2(TEE, Local.T1);
    this.#memory(I32_LOAD);
    this.set(Local.T2);
    this.get(Local.T1);
    const pick = AMO_PICK[op];
    if (pick !== undefined) {
      this.get(Local.T2);
      this.reg(rs2);
      this.get(Local.T2);
      this.reg(rs2);
      this.w.u8(pick);
      this.w.u8(SELECT);
    } else if (op === Op.AMOSWAP_W) this.reg(rs2);
    else {
      this.get(Local.T2);
      this.reg(rs2);
      this.w.u8(ALU[AMO_ALU[op]]);
    }
    this.#memory(I32_STORE);
    this.get(Local.T2);
    this.setReg(rd);
  }

  branch(
    op: number,
    rs1: number,
    rs2: number,
    _pc: number,
    target: number,
    targetPc: number,
  ): void {
    this.reg(rs1);
    this.reg(rs2);
    this.w.u8(ALU[op]);
    this.#if();
    if (target < 0) this.exit(WasmExit.INVALID_JUMP, _pc, targetPc);
    else this.goto(target);
    this.#end();
  }

  jump(rd: number, target: number, link: number): void {
    if (rd !== 0) this.constant(rd, link);
    this.goto(target);
  }

  jumpIndirect(rd: number, rs1: number, imm: number, pc: number, link: number): void {
    this.reg(rs1);
    if (imm !== 0) {
      this.i32(imm);
      this.w.u8(ADD);
    }
    this.i32(-2);
    this.w.u8(AND);
    this.w.u8x2(TEE, Local.T0);
    this.i32(HOST_RETURN_ADDRESS | 0);
    this.w.u8(EQ);
    this.#if();
    if (rd !== 0) this.constant(rd, link);
    this.exit(WasmExit.RETURN, pc);
    this.#end();
    // Outside the code's address range: no instruction starts there.
    this.get(Local.T0);
    this.i32(this.codeStart);
    this.w.u8(SUB);
    this.w.u8x2(TEE, Local.T1);
    this.i32(this.codeBytes);
    this.w.u8(GE_U);
    this.#if();
    this.exit(WasmExit.INVALID_JUMP, pc, Local.T0, true);
    this.#end();
    // The chunk's row of slots (0: no code in the chunk), then the slot's entry.
    this.get(Local.T1);
    this.i32(CHUNK_SHIFT);
    this.w.u8(SHR_U);
    this.i32(2);
    this.w.u8(SHL);
    this.w.u8(I32_LOAD);
    this.w.u8(2);
    this.w.uleb(STATE_BYTES);
    this.w.u8x2(TEE, Local.T2);
    this.w.u8(EQZ);
    this.#if();
    this.exit(WasmExit.INVALID_JUMP, pc, Local.T0, true);
    this.#end();
    this.get(Local.T2);
    this.get(Local.T1);
    this.i32((1 << CHUNK_SHIFT) - 2);
    this.w.u8(AND);
    this.i32(1);
    this.w.u8(SHL);
    this.w.u8(ADD);
    this.w.u8x2(I32_LOAD, 2);
    this.w.u8(0);
    this.w.u8x2(TEE, Local.T1);
    this.w.u8(EQZ);
    this.#if();
    this.exit(WasmExit.INVALID_JUMP, pc, Local.T0, true);
    this.#end();
    if (rd !== 0) this.constant(rd, link);
    this.get(Local.T1);
    this.i32(MID_BLOCK);
    this.w.u8(EQ);
    this.#if();
    this.exit(WasmExit.ENTER_MID, pc, Local.T0, true);
    this.#end();
    this.get(Local.T1);
    this.i32(1);
    this.w.u8(SUB);
    this.dispatchPopped();
  }
}

/** The ALU op of each read-modify-write AMO. */
const AMO_ALU: Record<number, number> = {
  [Op.AMOADD_W]: Op.ADD,
  [Op.AMOXOR_W]: Op.XOR,
  [Op.AMOAND_W]: Op.AND,
  [Op.AMOOR_W]: Op.OR,
};

/** State-block fields the prologue loads into locals, and the epilogue stores back. */
export const LOADED_FIELDS: readonly (readonly [number, number])[] = [
  [Local.RESERVATION, Field.RESERVATION],
  [Local.READ_START, Field.READ_START],
  [Local.READ_START + 1, Field.READ_SPAN1],
  [Local.READ_START + 2, Field.READ_SPAN2],
  [Local.READ_START + 3, Field.READ_SPAN4],
  [Local.WRITE_START, Field.WRITE_START],
  [Local.WRITE_START + 1, Field.WRITE_SPAN1],
  [Local.WRITE_START + 2, Field.WRITE_SPAN2],
  [Local.WRITE_START + 3, Field.WRITE_SPAN4],
  [Local.BIAS, Field.BIAS],
];
