/**
 * The wasm tier's jumps, exits and gas, over the control flow of
 * wasm/_control.ts: the part of the instruction emitter that leaves a
 * block.
 *
 * A call (a `JAL` or `JALR` that links) to another region calls that
 * region's function, one level deeper: the registers the caller wrote go to
 * the state block before, those it uses come back after, and the callee's
 * result is where to go on. When that is the instruction after the call
 * (the callee returned: its return, an indirect jump out of its region,
 * returned the target's dispatch index), the caller simply goes on;
 * anything else (an exit, a `longjmp`) it dispatches. A call within the
 * region is a jump (recursion stays in one function). A jump to another
 * region's first block (a tail call) is a call whose result the caller
 * dispatches. Past
 * {@linkcode MAX_CALL_DEPTH} a function returns its own dispatch index at
 * once, which its caller dispatches: deep recursion runs unwound instead of
 * overflowing the engine's stack.
 * @module
 */
import { CHUNK_SHIFT } from "../abi/code.ts";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import { ControlFlow, Local, reg, TRAP_LABEL } from "./_control.ts";
import { Field, MID_BLOCK, STATE_BYTES, WasmExit } from "./_layout.ts";
import { REGION_SHIFT } from "./_regions.ts";

// Opcodes.
const IF = 0x04, CALL = 0x10, CALL_INDIRECT = 0x11, DROP = 0x1a;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_LOAD = 0x28, I64_LOAD = 0x29, I32_STORE = 0x36, I64_STORE = 0x37;
const I32_CONST = 0x41, I64_CONST = 0x42;
const EQZ = 0x45, EQ = 0x46, NE = 0x47, GT_U = 0x4b, GE_U = 0x4f, I64_LT_S = 0x53;
const ADD = 0x6a, SUB = 0x6b, AND = 0x71, SHL = 0x74, SHR_U = 0x76, I64_ADD = 0x7c, I64_SUB = 0x7d;
const RETURN = 0x0f, VOID = 0x40;

/** Calls nested deeper than this return at once (their callers dispatch instead). */
export const MAX_CALL_DEPTH = 200;

/** Emits the jumps, exits and gas charges of one region's function. */
export class Jumps extends ControlFlow {
  /** The registers the region's code writes, and those it reads or writes (masks). */
  written = 0;
  used = 0;
  /**
   * The state block's fields from READ_START to BIAS the region's accesses
   * read (bit k: the field at READ_START + 4k), loaded into locals.
   */
  fields = 0;
  /** Lowest code address, and the code's extent in bytes (for indirect jumps). */
  codeStart = 0;
  codeBytes = 0;
  /** Dispatch index of the instruction after the one being lowered, -1 for none. */
  following = -1;

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
    else this.w.u8x2(GET, reg(r));
  }
  /** Pops into guest register `r` (dropped for x0). */
  setReg(r: number): void {
    if (r === 0) this.w.u8(DROP);
    else this.w.u8x2(SET, reg(r));
  }
  /**
   * Pushes the state block's field at `offset`: from its local if it is one
   * the function loads (`fields`).
   */
  field(offset: number): void {
    const k = (offset - Field.READ_START) >> 2;
    if (k >= 0 && k < 9 && (this.fields & (1 << k)) !== 0) return this.get(Local.FIELDS + k);
    this.w.u8x2(I32_CONST, 0);
    this.w.u8x2(I32_LOAD, 2);
    this.w.uleb(offset);
  }
  if(type = VOID): void {
    this.open(IF, type);
  }

  /** Leaves with `reason` for `pc`; `aux` a constant, or a local with `auxLocal`. */
  exit(reason: number, pc: number, aux = 0, auxLocal = false): void {
    this.i32(-reason);
    this.set(Local.RESULT);
    this.i32(pc);
    this.set(Local.EXIT_PC);
    if (auxLocal) this.get(aux);
    else this.i32(aux);
    this.set(Local.AUX);
    this.br(TRAP_LABEL);
  }

  /** Charges `cost` gas for entering the block at `pc`, or exits with OutOfGas. */
  charge(cost: number, pc: number): void {
    const w = this.w;
    this.get(Local.GAS);
    w.u8(I64_CONST);
    w.slebSafe(cost);
    w.u8(I64_SUB);
    w.u8x2(TEE, Local.GAS);
    w.u8x2(I64_CONST, 0);
    w.u8(I64_LT_S); // gas is at most 2^53 - 1: below 0 only when it was short
    this.if();
    this.refund(cost);
    this.exit(WasmExit.OUT_OF_GAS, pc);
    this.close();
  }

  /** Gives `cost` gas back. */
  refund(cost: number): void {
    this.get(Local.GAS);
    this.w.u8(I64_CONST);
    this.w.slebSafe(cost);
    this.w.u8(I64_ADD);
    this.set(Local.GAS);
  }

  /** Loads the registers in `mask` and gas from the state block. */
  loadState(mask: number): void {
    const w = this.w;
    for (let r = 1; r < 32; r++) {
      if ((mask & (1 << r)) === 0) continue;
      w.u8x2(I32_CONST, 0);
      w.u8x2(I32_LOAD, 2);
      w.uleb(Field.REGS + 4 * r);
      w.u8x2(SET, reg(r));
    }
    w.u8x2(I32_CONST, 0);
    w.u8x2(I64_LOAD, 3);
    w.uleb(Field.GAS);
    this.set(Local.GAS);
  }

  /** Stores the registers in `mask` and gas to the state block. */
  storeState(mask: number): void {
    const w = this.w;
    for (let r = 1; r < 32; r++) {
      if ((mask & (1 << r)) === 0) continue;
      w.u8x2(I32_CONST, 0);
      w.u8x2(GET, reg(r));
      w.u8x2(I32_STORE, 2);
      w.uleb(Field.REGS + 4 * r);
    }
    w.u8x2(I32_CONST, 0);
    this.get(Local.GAS);
    w.u8x2(I64_STORE, 3);
    w.uleb(Field.GAS);
  }

  /**
   * The function's prologue: past the deepest call, returns its dispatch
   * index at once; loads its registers and gas; takes the block's index.
   */
  prologue(): void {
    const w = this.w;
    this.get(Local.DEPTH);
    this.i32(MAX_CALL_DEPTH);
    w.u8(GT_U);
    this.if();
    this.get(Local.DISPATCH);
    w.u8(RETURN);
    this.close();
    this.loadState(this.used);
    for (let k = 0; k < 9; k++) {
      if ((this.fields & (1 << k)) === 0) continue;
      w.u8x2(I32_CONST, 0);
      w.u8x2(I32_LOAD, 2);
      w.uleb(Field.READ_START + 4 * k);
      this.set(Local.FIELDS + k);
    }
    this.get(Local.DISPATCH);
    this.i32((1 << REGION_SHIFT) - 1);
    w.u8(AND);
    this.set(Local.DISPATCH);
  }

  /**
   * Calls the block of the dispatch index in `local`, or of `index` (when
   * `local` < 0), one level deeper; leaves the result in RESULT.
   */
  #call(index: number, local = -1): void {
    const w = this.w;
    this.storeState(this.written);
    if (local < 0) this.i32(index);
    else this.get(local);
    this.get(Local.DEPTH);
    this.i32(1);
    w.u8(ADD);
    if (local < 0) {
      w.u8(CALL);
      w.uleb(index >>> REGION_SHIFT);
    } else {
      this.get(local);
      this.i32(REGION_SHIFT);
      w.u8(SHR_U);
      w.u8x2(CALL_INDIRECT, 0);
      w.u8(0); // table 0
    }
    this.set(Local.RESULT);
    this.loadState(this.used);
  }

  /**
   * Calls, and goes on after the call if the callee returned there, else
   * where it says.
   */
  #callAndReturn(index: number, local = -1): void {
    this.#call(index, local);
    this.get(Local.RESULT);
    if (this.following < 0) return this.dispatchPopped();
    this.i32(this.following);
    this.w.u8(NE);
    this.if();
    this.get(Local.RESULT);
    this.dispatchPopped();
    this.close();
    this.goto(this.nextInstruction);
  }

  /** Continues at block `to` of another region: a call if it is the region's first, else leaves. */
  override jumpOut(to: number): void {
    const index = this.dispatchIndex(to);
    if ((index & ((1 << REGION_SHIFT) - 1)) !== 0) return this.leave(index);
    this.#call(index);
    this.get(Local.RESULT);
    this.dispatchPopped();
  }

  jump(rd: number, target: number, link: number): void {
    this.constant(rd, link);
    const to = this.blockOf[target];
    if (rd === 0 || (to >= this.first && to < this.last)) return this.goto(target);
    this.#callAndReturn(this.dispatchIndex(to));
  }

  /** Sets register `rd` to `value`. */
  constant(rd: number, value: number): void {
    if (rd === 0) return; // no effect (NOPs and HINTs)
    this.i32(value);
    this.setReg(rd);
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
    this.if();
    this.constant(rd, link);
    this.exit(WasmExit.RETURN, pc);
    this.close();
    // Outside the code's address range: no instruction starts there.
    this.get(Local.T0);
    this.i32(this.codeStart);
    this.w.u8(SUB);
    this.w.u8x2(TEE, Local.T1);
    this.i32(this.codeBytes);
    this.w.u8(GE_U);
    this.#invalid(pc);
    // The chunk's row of slots (0: no code in the chunk), then the slot's entry.
    this.get(Local.T1);
    this.i32(CHUNK_SHIFT);
    this.w.u8(SHR_U);
    this.i32(2);
    this.w.u8(SHL);
    this.w.u8x2(I32_LOAD, 2);
    this.w.uleb(STATE_BYTES);
    this.w.u8x2(TEE, Local.T2);
    this.w.u8(EQZ);
    this.#invalid(pc);
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
    this.#invalid(pc);
    this.constant(rd, link);
    this.get(Local.T1);
    this.i32(MID_BLOCK);
    this.w.u8(EQ);
    this.if();
    this.exit(WasmExit.ENTER_MID, pc, Local.T0, true);
    this.close();
    this.get(Local.T1);
    this.i32(1);
    this.w.u8(SUB);
    if (rd === 0) return this.dispatchPopped();
    // A call: within the region, a jump; else a call.
    this.w.u8x2(TEE, Local.T1);
    this.i32(this.region << REGION_SHIFT);
    this.w.u8(SUB);
    this.i32(this.last - this.first);
    this.w.u8(GE_U);
    this.if();
    this.#callAndReturn(0, Local.T1);
    this.close();
    this.get(Local.T1);
    this.dispatchPopped();
  }

  /** Exits with an InvalidJump to T0 if the value on the stack is true. */
  #invalid(pc: number): void {
    this.if();
    this.exit(WasmExit.INVALID_JUMP, pc, Local.T0, true);
    this.close();
  }
}
