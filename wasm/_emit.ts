/**
 * Emits the WebAssembly code of each RISC-V instruction: the wasm tier's
 * backend for the shared visitor (jit/_lower.ts). Guest registers are
 * locals 1-31 (x0 reads as 0, writes to it are dropped); every exit sets
 * the reason, pc and aux locals and branches to the function's epilogue,
 * which writes the state back to memory (wasm/translate.ts).
 * @module
 */
import { Op, OP_COUNT } from "../abi/isa.ts";
import { GROUP, type Lowering } from "../jit/_lower.ts";
import { Local } from "./_control.ts";
import { Jumps } from "./_jumps.ts";
import { Field, WasmExit } from "./_layout.ts";

// Opcodes.
const ELSE = 0x05, SELECT = 0x1b, TEE = 0x22;
const I32_LOAD = 0x28, I32_STORE = 0x36, I64_CONST = 0x42;
const EQZ = 0x45, EQ = 0x46, GE_U = 0x4f;
const ADD = 0x6a, SUB = 0x6b, AND = 0x71, OR = 0x72, SHL = 0x74;
const I64_MUL = 0x7e, I64_SHR_U = 0x88, WRAP = 0xa7;
const EXTEND_S = 0xac, EXTEND_U = 0xad;
const RESULT_I32 = 0x7f;

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

/** The ops where `0 op x = x op 0 = x`, and those where only `x op 0 = x`. */
const ZERO_IDENTITY = opcodeSet([ADD, 0x72, 0x73]);
const RIGHT_ZERO_IDENTITY = opcodeSet([ADD, 0x72, 0x73, SUB, SHL, 0x75, 0x76]);

/** 1 at each of `opcodes` (a table: this is the translator's hottest path). */
function opcodeSet(opcodes: number[]): Uint8Array {
  const table = new Uint8Array(256);
  for (const opcode of opcodes) table[opcode] = 1;
  return table;
}

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
/** The size of a load's or store's access. */
const accessSize = (op: number): number => (LOADS[op] ?? STORES[op])[1];
/** `GROUP` (jit/_lower.ts) of the loads, of the stores, and of what may come between a run's. */
const LOAD_GROUP = 5, STORE_GROUP = 6;
const BETWEEN_RUN = new Set([0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
/** Fewest accesses checked at once (two take two checks either way), and their widest extent. */
const MIN_RUN = 3;
const MAX_RUN_EXTENT = 2048;
/**
 * Most instructions a run spans: the scan for one stays short in long blocks. 16 cut
 * contract's run of spills across its loop's body, a check more there, and made it 1.3x
 * slower on rv32em (V8's code for the loop got worse).
 */
const MAX_RUN_SCAN = 64;

/** Compare that picks the old value for AMOMIN/MAX(U): `old cmp rs2 ? old : rs2`. */
const AMO_PICK: Record<number, number> = {
  [Op.AMOMIN_W]: 0x48,
  [Op.AMOMAX_W]: 0x4a,
  [Op.AMOMINU_W]: 0x49,
  [Op.AMOMAXU_W]: 0x4b,
};
/** The window span field of an access size, from the window's start field. */
const SPAN_OF: Record<number, number> = { 1: 4, 2: 8, 4: 12 };

/** The instruction emitter of one translation. */
export class WasmLowering extends Jumps implements Lowering {
  /** Gas from the instruction being lowered to the end of its block. */
  cost = 0;

  /** Pops a value, then an address 0, into the state block's field at `offset`. */
  #setField(offset: number): void {
    this.w.u8x2(I32_STORE, 2);
    this.w.uleb(offset);
  }

  /**
   * `rd = rs1 op rs2`, or `rs1 op imm` when `immediate`; an operand that is 0 (x0, or
   * the immediate) folds away where it changes nothing (`li`, `mv`, ...): smaller code.
   */
  #alu(op: number, rd: number, rs1: number, rs2: number, imm: number, immediate: boolean): void {
    if (rd === 0) return; // no effect (NOPs and HINTs)
    const opcode = ALU[op];
    const rightZero = immediate ? imm === 0 : rs2 === 0;
    if (rs1 === 0 && ZERO_IDENTITY[opcode] === 1) this.#right(rs2, imm, immediate);
    else if (rightZero && RIGHT_ZERO_IDENTITY[opcode] === 1) this.reg(rs1);
    else {
      this.reg(rs1);
      this.#right(rs2, imm, immediate);
      this.w.u8(opcode);
    }
    this.setReg(rd);
  }

  /** Pushes the right operand of `#alu`. */
  #right(rs2: number, imm: number, immediate: boolean): void {
    if (immediate) this.i32(imm);
    else this.reg(rs2);
  }

  aluImm(op: number, rd: number, rs1: number, imm: number): void {
    this.#alu(op, rd, rs1, 0, imm, true);
  }

  shiftImm(op: number, rd: number, rs1: number, imm: number): void {
    this.#alu(op, rd, rs1, 0, imm, true);
  }

  setLess(op: number, rd: number, rs1: number, rs2: number, imm: number): void {
    this.#alu(op, rd, rs1, rs2, imm, op === Op.SLTI || op === Op.SLTIU);
  }

  aluReg(op: number, rd: number, rs1: number, rs2: number): void {
    this.#alu(op, rd, rs1, rs2, 0, false);
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
    this.if(RESULT_I32);
    if (quotient) this.i32(-1);
    else this.reg(rs1);
    this.w.u8(ELSE);
    if (op === Op.DIV) {
      this.reg(rs2);
      this.i32(-1);
      this.w.u8(EQ);
      this.if(RESULT_I32);
      this.i32(0);
      this.reg(rs1);
      this.w.u8(SUB);
      this.w.u8(ELSE);
    }
    this.reg(rs1);
    this.reg(rs2);
    this.w.u8(quotient ? (signed ? 0x6d : 0x6e) : (signed ? 0x6f : 0x70));
    if (op === Op.DIV) this.close();
    this.close();
    this.setReg(rd);
  }

  /**
   * Computes `imm(rs1)` into T0 and checks `size` bytes there against the
   * fast window, then the stack's (one unsigned compare each); outside both,
   * leaves for the interpreter to run the rest of the block from this
   * instruction (it checks the access against the regions exactly), giving
   * back the gas it charges again. The first access of a run (`#run`) checks
   * the run's whole extent; the others push their address, unchecked.
   */
  #checked(rs1: number, imm: number, size: number, write: boolean, pc: number): void {
    const i = this.instruction;
    const covered = i < this.#checkedTo && rs1 === this.#base && write === this.#write;
    this.#covers = covered;
    const run = covered || GROUP[this.code.op[i]] > STORE_GROUP ? 0 : this.#run(i, write);
    this.reg(rs1);
    const offset = run > 0 ? this.#low : imm;
    if (offset !== 0) {
      this.i32(offset);
      this.w.u8(ADD);
    }
    if (covered) return; // the address stays on the stack
    this.w.u8x2(TEE, Local.T0);
    const window = write ? Field.WRITE_START : Field.READ_START;
    const extent = run > 0 ? this.#high - this.#low : size;
    this.#outside(window, extent);
    this.if();
    this.interpretRestIf(pc, this.cost, () => this.#outside(Field.STACK_START, extent));
    this.close();
    if (run === 0) return;
    this.#checkedTo = run;
    this.#base = rs1;
    this.#write = write;
    if (imm === this.#low) return;
    this.reg(rs1);
    if (imm !== 0) {
      this.i32(imm);
      this.w.u8(ADD);
    }
    this.set(Local.T0);
  }

  /**
   * Pushes whether the `extent` bytes at the address in T0 (its first on the stack
   * unless `extent` is an access size) pass the window whose start is at `field`; for
   * a longer extent, both its first and its last byte must (no window reaches within
   * {@linkcode MAX_RUN_EXTENT} of 2^32, so the bytes between do too).
   */
  #outside(field: number, extent: number): void {
    if (field === Field.STACK_START) this.get(Local.T0);
    const span = SPAN_OF[extent];
    this.field(field);
    this.w.u8(SUB);
    this.field(field + (span ?? 4));
    this.w.u8(GE_U);
    if (span !== undefined) return;
    this.get(Local.T0);
    this.i32(extent - 1);
    this.w.u8(ADD);
    this.field(field);
    this.w.u8(SUB);
    this.field(field + 4);
    this.w.u8(GE_U);
    this.w.u8(OR);
  }

  /**
   * One past the last access of the run of accesses checked at once, while one is
   * lowered, and what they are: their base register, and whether they are stores.
   */
  #checkedTo = -1;
  #base = 0;
  #write = false;
  /** Whether the run's check covers the access being lowered. */
  #covers = false;
  /** The run's extent from its base register: [low, high). */
  #low = 0;
  #high = 0;

  /**
   * When the access at instruction `i` starts a run of at least {@linkcode MIN_RUN}
   * loads (or stores, `write`) through the same base register in its block, with only
   * register arithmetic between them and the base unchanged, sets their extent and
   * returns one past the last: one check of the whole extent covers them all, and when
   * it fails, the interpreter runs the block's rest from the first (exact traps: the
   * accesses before a faulting one happen, later ones don't). Else returns 0.
   */
  #run(i: number, write: boolean): number {
    const { op, rd, rs1, imm, leader, segmentEnd, count } = this.code;
    const base = rs1[i];
    const kind = write ? STORE_GROUP : LOAD_GROUP;
    let low = imm[i], high = low, accesses = 0, end = i;
    const last = Math.min(count, i + MAX_RUN_SCAN);
    for (let j = i; j < last && (j === i || leader[j] === 0); j++) {
      const group = GROUP[op[j]];
      if (group === kind && rs1[j] === base) {
        const from = Math.min(low, imm[j]), to = Math.max(high, imm[j] + accessSize(op[j]));
        if (to - from > MAX_RUN_EXTENT) break;
        low = from;
        high = to;
        end = j + 1;
        accesses++;
      } else if (!BETWEEN_RUN.has(group) && group !== LOAD_GROUP && group !== STORE_GROUP) break;
      if (rd[j] === base || segmentEnd[j] !== 0) break;
    }
    if (accesses < MIN_RUN) return 0;
    this.#low = low;
    this.#high = high;
    return end;
  }

  /**
   * Pushes the memory index of the checked address: in T0, or on the stack for an access
   * its run's check covered.
   */
  #index(): void {
    if (!this.#covers) this.get(Local.T0);
    this.field(Field.BIAS);
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
      this.i32(0);
      this.get(Local.T0);
      this.#setField(Field.RESERVATION);
      return;
    }
    this.#checked(rs1, 0, 4, true, pc);
    this.field(Field.RESERVATION);
    this.get(Local.T0);
    this.w.u8(EQ);
    this.if(RESULT_I32);
    this.#index();
    this.reg(rs2);
    this.#memory(I32_STORE);
    this.i32(0);
    this.w.u8(ELSE);
    this.i32(1);
    this.close();
    this.setReg(rd);
    this.i32(0);
    this.i32(-1);
    this.#setField(Field.RESERVATION);
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
    this.if();
    if (target < 0) this.exit(WasmExit.INVALID_JUMP, _pc, targetPc);
    else this.goto(target);
    this.close();
  }
}

/** The ALU op of each read-modify-write AMO. */
const AMO_ALU: Record<number, number> = {
  [Op.AMOADD_W]: Op.ADD,
  [Op.AMOXOR_W]: Op.XOR,
  [Op.AMOAND_W]: Op.AND,
  [Op.AMOOR_W]: Op.OR,
};

/** Per op: the fields its access reads (`Jumps.fields`): window start, span of its size, bias. */
export const FIELDS_OF: Uint16Array = new Uint16Array(OP_COUNT);
{
  const set = (ops: readonly number[], write: boolean, size: (op: number) => number) => {
    for (const op of ops) {
      const start = write ? 4 : 0;
      // SPAN1 too: a run's extent (`#outside`).
      FIELDS_OF[op] = 1 << start | 1 << (start + 1) | 1 << (start + SPAN_OF[size(op)] / 4) | 1 << 8;
    }
  };
  set(Object.keys(LOADS).map(Number), false, (op) => LOADS[op][1]);
  set(Object.keys(STORES).map(Number), true, (op) => STORES[op][1]);
  set([Op.LR_W], false, () => 4);
  const amos = [...Object.keys(AMO_PICK), ...Object.keys(AMO_ALU)].map(Number);
  set([Op.SC_W, Op.AMOSWAP_W, ...amos], true, () => 4);
}
