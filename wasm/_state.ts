/**
 * What a region's function holds and how it moves it: its fields (which
 * registers it writes and uses, the state fields it loads, the program), the
 * locals it keeps them in, and the loads and stores between those locals and
 * the state block (at its entry, around calls and host calls, at exits). The
 * base of the jumps' emitter (wasm/_jumps.ts).
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import { ControlFlow, Local, reg } from "./_control.ts";
import { Field } from "./_layout.ts";
import { REGION_SHIFT } from "./_regions.ts";

const GET = 0x20, SET = 0x21, DROP = 0x1a, IF = 0x04, RETURN = 0x0f;
const I32_LOAD = 0x28, I64_LOAD = 0x29, I32_STORE = 0x36, I64_STORE = 0x37;
const I32_CONST = 0x41, GT_U = 0x4b, AND = 0x71, VOID = 0x40;

/** Calls nested deeper than this return at once (their callers dispatch instead). */
export const MAX_CALL_DEPTH = 200;

/** A region's function: what it holds, in which locals, and its moves to and from the state block. */
export class FunctionState extends ControlFlow {
  /** The registers the region's code writes, and those it reads or writes (masks). */
  written = 0;
  used = 0;
  /**
   * The state block's fields from READ_START to BIAS the region's accesses
   * read (bit k: the field at READ_START + 4k), loaded into locals.
   */
  fields = 0;
  /** Dispatch index of the instruction after the one being lowered, -1 for none. */
  following = -1;
  /** Lowest code address, and the code's extent in bytes (for indirect jumps). */
  codeStart = 0;
  codeBytes = 0;
  /** Whether the jump table has one level (wasm/translate.ts). */
  flatTable = false;
  /** The program being translated. */
  code!: DecodedCode;
  /**
   * The region's first instruction, and the registers dirty at each of its host calls
   * from there (wasm/_dirty.ts).
   */
  firstInstruction = 0;
  dirty: Int32Array = new Int32Array(0);
  /**
   * The instructions after the region's calls of its own first block (recursion, a jump
   * within the function): a return checks these links before looking its target up.
   */
  selfReturns: number[] = [];
  /**
   * Whether the region's returns elsewhere than expected share one lookup, which leaves the
   * function (wasm/_jumps.ts `jumpIndirect`): when it calls none of its own blocks.
   */
  sharedReturns = false;

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

  /** Loads the registers in `mask` and gas from the state block. */
  loadState(mask: number): void {
    this.#moveState(mask, true);
  }

  /** Loads the registers in `mask` from the state block. */
  loadRegisters(mask: number): void {
    this.#moveState(mask, true, false);
  }

  /** Stores the registers in `mask` to the state block. */
  storeRegisters(mask: number): void {
    this.#moveState(mask, false, false);
  }

  /** Stores the registers in `mask` and gas to the state block. */
  storeState(mask: number): void {
    this.#moveState(mask, false);
  }

  #moveState(mask: number, load: boolean, gas = true): void {
    const w = this.w;
    for (let r = 1; r < (gas ? 33 : 32); r++) {
      if (r < 32 && (mask & (1 << r)) === 0) continue;
      const local = r < 32 ? reg(r) : Local.GAS;
      w.u8x2(I32_CONST, 0);
      if (!load) w.u8x2(GET, local);
      w.u8x2(
        r < 32 ? (load ? I32_LOAD : I32_STORE) : (load ? I64_LOAD : I64_STORE),
        r < 32 ? 2 : 3,
      );
      w.uleb(r < 32 ? Field.REGS + 4 * r : Field.GAS);
      if (load) w.u8x2(SET, local);
    }
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
}
