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
 *
 * A host call calls the module's import from inside the function
 * (wasm/README.md), and so does a call of an import stub (`ecall; ret`),
 * inlined at its `JAL`.
 * @module
 */
import { CHUNK_SHIFT } from "../abi/code.ts";
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import { Op } from "../abi/isa.ts";
import { LEAVE_LABEL, Local, RETURNED, STUB_LABEL, TRAP_LABEL, VALUED_STUBS } from "./_control.ts";
import {
  Field,
  FIRST_REGION,
  HOST_IMPORT,
  HostCalled,
  MID_BLOCK,
  STATE_BYTES,
  WasmExit,
} from "./_layout.ts";
import { REGION_SHIFT } from "./_regions.ts";
import { FunctionState } from "./_state.ts";

// Opcodes.
const ELSE = 0x05, CALL = 0x10, CALL_INDIRECT = 0x11;
const TEE = 0x22;
const I32_LOAD = 0x28, I32_STORE = 0x36;
const I32_CONST = 0x41, I64_CONST = 0x42;
const EQ = 0x46, NE = 0x47, LT_U = 0x49, GE_U = 0x4f;
const I64_LT_U = 0x54;
const ADD = 0x6a, SUB = 0x6b, AND = 0x71, SHL = 0x74, SHR_U = 0x76, I64_ADD = 0x7c, I64_SUB = 0x7d;
const UNREACHABLE = 0x00, DROP = 0x1a, I64_EXTEND_U = 0xad, I32 = 0x7f;

/** The shared exits' labels. */
const Stub = Object.freeze({
  INTERPRET: VALUED_STUBS[0],
  OUT_OF_GAS: VALUED_STUBS[1],
  INVALID_JUMP: STUB_LABEL + 2,
  ENTER_MID: STUB_LABEL + 3,
  NO_BLOCK: VALUED_STUBS[2],
  RETURN_ELSEWHERE: STUB_LABEL + 5,
});
/** The register `ra`. */
const RA = 1;
/** The registers a host function's result goes to, a0 and a1. */
const RESULT_REGISTERS = 3 << 10;

/** Emits the jumps, exits and gas charges of one region's function. */
export class Jumps extends FunctionState {
  /** Whether a return of the function branched to {@linkcode Stub.RETURN_ELSEWHERE}. */
  #returnsElsewhere = false;

  /**
   * Leaves with `reason` for `pc`; `aux` a constant, or a local with
   * `auxLocal` (AUX is 0 until an exit sets it, and a function exits once).
   */
  exit(reason: number, pc: number, aux = 0, auxLocal = false): void {
    if (reason === WasmExit.HOSTCALL) {
      return this.#hostCall(aux, this.instruction, pc, () => this.#resumeAfterEcall());
    }
    this.i32(-reason);
    this.set(Local.RESULT);
    this.i32(pc);
    this.set(Local.EXIT_PC);
    if (auxLocal) this.get(aux);
    else if (aux !== 0) this.i32(aux);
    if (auxLocal || aux !== 0) this.set(Local.AUX);
    this.br(TRAP_LABEL);
  }

  /**
   * Host call `site` for the ECALL at `pc` (instruction `i`), made without leaving the
   * function (wasm/README.md): gas and the registers its locals may hold dirty go to the
   * state block, where the host function sees them (wasm/_dirty.ts); what the call changed comes
   * back (`HostCalled`). When the call ended the guest's call or moved the break (the fast
   * windows in this function's locals, and its callers', would be stale), it exits to the
   * engine, which holds the outcome. When it set registers or gas, `resume` goes on from
   * the state block reloaded by a dispatch (a jump to a computed index), not by falling
   * through: that way only a0 and a1 change on the path that goes on, and V8 keeps every
   * other register where it was (merging them all there cost about 2 ns a call).
   */
  #hostCall(site: number, i: number, pc: number, resume: () => void): void {
    const w = this.w;
    // At the instruction being lowered: the ECALL, or the JAL calling its stub.
    this.storeState(this.written & this.dirty[this.instruction - this.firstInstruction]);
    this.i32(site);
    this.i32(i);
    w.u8(CALL);
    w.uleb(HOST_IMPORT);
    w.u8x2(TEE, Local.T0);
    this.if();
    this.loadState(this.used);
    this.get(Local.T0);
    this.i32(HostCalled.LEAVE);
    w.u8(EQ);
    this.if();
    this.i32(-WasmExit.HOSTCALL);
    this.set(Local.RESULT);
    this.i32(pc);
    this.set(Local.EXIT_PC);
    this.br(TRAP_LABEL);
    this.close();
    resume();
    w.u8(ELSE);
    this.loadRegisters(this.used & RESULT_REGISTERS);
    this.close();
  }

  /** Goes on at the instruction after the ECALL being lowered by a dispatch (see `#hostCall`). */
  #resumeAfterEcall(): void {
    // At a segment's end, the engine ends the call (InvalidJump): the code never goes on.
    if (this.following < 0) return this.w.u8(UNREACHABLE);
    this.i32(this.following);
    this.dispatchPopped();
  }

  /**
   * Charges `cost` gas for entering the block at `pc`, or exits with OutOfGas: a `br_if`
   * to the stub carrying the pc, not an `if` (V8's baseline compiler copies its state of
   * every local at each `if`).
   */
  charge(cost: number, pc: number): void {
    const w = this.w;
    this.i32(pc);
    this.get(Local.GAS);
    w.u8(I64_CONST);
    w.slebSafe(cost);
    w.u8(I64_LT_U);
    this.brIf(Stub.OUT_OF_GAS);
    w.u8(DROP);
    this.get(Local.GAS);
    w.u8(I64_CONST);
    w.slebSafe(cost);
    w.u8(I64_SUB);
    this.set(Local.GAS);
  }

  /**
   * Leaves for the interpreter to run the rest of the block from the instruction at `pc`,
   * giving back the `cost` gas it charges again, if `condition` pushes true: a `br_if`
   * carrying both to the stub.
   */
  interpretRestIf(pc: number, cost: number, condition: () => void): void {
    this.i32(pc);
    this.i32(cost);
    condition();
    this.brIf(Stub.INTERPRET);
    this.w.u8x2(DROP, DROP);
  }

  /**
   * Ends the function: the region's level, the shared exits, the exit
   * label (storing the exit's details), the outermost label (storing the
   * registers the region writes, and gas); returns the result.
   */
  epilogue(): void {
    const w = this.w;
    this.finish();
    w.u8(UNREACHABLE); // every block ends in a jump or an exit
    this.close();
    if (this.#returnsElsewhere) this.#returnElsewhere();
    else w.u8(UNREACHABLE);
    this.#returnsElsewhere = false;
    this.close(); // the pc of the jump on the stack, its target in T0 and its entry in T1
    this.#noBlock();
    // The shared exits: EXIT_PC is set, and the jump's target in T0, or the gas to give back in AUX.
    for (const reason of [WasmExit.ENTER_MID, WasmExit.INVALID_JUMP]) {
      this.close();
      this.get(Local.T0);
      this.set(Local.AUX);
      this.i32(-reason);
      this.set(Local.RESULT);
      this.br(TRAP_LABEL);
    }
    this.close(); // the pc of the block out of gas on the stack
    this.set(Local.EXIT_PC);
    this.i32(-WasmExit.OUT_OF_GAS);
    this.set(Local.RESULT);
    this.br(TRAP_LABEL);
    this.close(); // the pc and the gas to give back on the stack
    this.set(Local.AUX);
    this.set(Local.EXIT_PC);
    this.get(Local.GAS);
    this.get(Local.AUX);
    w.u8(I64_EXTEND_U);
    w.u8(I64_ADD);
    this.set(Local.GAS);
    this.get(Local.EXIT_PC);
    this.set(Local.AUX);
    this.i32(-WasmExit.ENTER_MID);
    this.set(Local.RESULT);
    this.close(); // the exit label
    const store = (local: number, field: number) => {
      w.u8x2(I32_CONST, 0);
      this.get(local);
      w.u8x2(I32_STORE, 2);
      w.uleb(field);
    };
    store(Local.EXIT_PC, Field.EXIT_PC);
    store(Local.AUX, Field.EXIT_AUX);
    store(Local.WRITE, Field.EXIT_WRITE);
    this.close(); // the outermost label
    this.storeState(this.written);
    this.get(Local.RESULT);
  }

  /**
   * Calls the block of the dispatch index in `local`, or of `index` (when
   * `local` < 0), one level deeper, expecting it to return to `returnTo`
   * (-1 for none, undefined for what this function's caller expects);
   * leaves the result in RESULT.
   */
  #call(index: number, local: number, returnTo: number | undefined): void {
    const w = this.w;
    this.storeState(this.written);
    if (local < 0) this.i32(index);
    else this.get(local);
    this.get(Local.DEPTH);
    this.i32(1);
    w.u8(ADD);
    if (returnTo === undefined) this.get(Local.RETURN_TO);
    else this.i32(returnTo);
    if (local < 0) {
      w.u8(CALL);
      w.uleb(FIRST_REGION + (index >>> REGION_SHIFT));
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
   * Calls (the return address is `link`), and goes on after the call if the
   * callee returned there, else where it says.
   */
  #callAndReturn(index: number, local: number, link: number): void {
    const w = this.w;
    // A return address with no block after the call is no return: dispatch whatever comes back.
    this.#call(index, local, this.following < 0 ? -1 : link);
    this.get(Local.RESULT);
    this.i32(RETURNED);
    w.u8(NE);
    if (this.following >= 0) {
      this.get(Local.RESULT);
      this.i32(this.following);
      w.u8(NE);
      w.u8(AND);
    }
    this.if();
    this.get(Local.RESULT);
    this.dispatchPopped();
    this.close();
    if (this.following >= 0) this.goto(this.nextInstruction);
  }

  /** Continues at block `to` of another region: a call if it is the region's first, else leaves. */
  override jumpOut(to: number): void {
    const index = this.dispatchIndex(to);
    if ((index & ((1 << REGION_SHIFT) - 1)) !== 0) return this.leave(index);
    this.#call(index, -1, undefined);
    this.get(Local.RESULT);
    this.dispatchPopped();
  }

  jump(rd: number, target: number, link: number): void {
    this.constant(rd, link);
    if (this.callsImportStub(this.instruction)) return this.#importStubCall(rd, target, link);
    const to = this.blockOf[target];
    if (rd === 0 || (to >= this.first && to < this.last)) return this.goto(target);
    this.#callAndReturn(this.dispatchIndex(to), -1, link);
  }

  /**
   * Whether instruction `i` is a JAL that calls an import stub (the SDK's `ecall; ret`,
   * abi/README.md §5): a listed ECALL that does not end its segment, then `jalr x0, 0(rd)`
   * with the JAL's link register `rd`; with an instruction after the JAL to return to.
   */
  callsImportStub(i: number): boolean {
    const { op, rd, rs1, imm, target, hostcall, segmentEnd, count } = this.code;
    const t = target[i];
    return op[i] === Op.JAL && rd[i] !== 0 && segmentEnd[i] === 0 && i + 1 < count && t >= 0
      && hostcall[t] >= 0 && segmentEnd[t] === 0 && op[t + 1] === Op.JALR && rd[t + 1] === 0
      && rs1[t + 1] === rd[i] && imm[t + 1] === 0;
  }

  /**
   * The call of the import stub at instruction `t`, inlined: entering the stub's block,
   * its host call, entering its return's block, then back to `link`, entering the block
   * there. When the host function redirected the return (set `rd`), it goes where the
   * stub's JALR would: an indirect jump (a `goto` could enter a loop the region analysis
   * found closed).
   */
  #importStubCall(rd: number, t: number, link: number): void {
    const { entryCost, pc, hostcall, size } = this.code;
    // The stub's return, from `rd`, as its JALR would.
    const ret = () => this.jumpIndirect(0, rd, 0, pc[t + 1], pc[t + 1] + size[t + 1]);
    this.charge(entryCost[t], pc[t]);
    this.#hostCall(hostcall[t], t, pc[t], () => {
      this.charge(entryCost[t + 1], pc[t + 1]);
      ret();
    });
    this.charge(entryCost[t + 1], pc[t + 1]);
    this.reg(rd);
    this.i32(-2);
    this.w.u8(AND);
    this.i32(link);
    this.w.u8(NE);
    this.if();
    ret();
    this.close();
    this.goto(this.nextInstruction);
  }

  /** Sets register `rd` to `value`. */
  constant(rd: number, value: number): void {
    if (rd === 0) return; // no effect (NOPs and HINTs)
    this.i32(value);
    this.setReg(rd);
  }

  /**
   * An indirect jump: a return to the caller leaves, a return after one of the region's own
   * recursive calls goes there. Any other return, in a region that calls none of its own
   * blocks (`sharedReturns`), goes to the function's one {@linkcode #returnElsewhere}, the pc
   * in EXIT_PC: one copy of the table's lookup per function made the contract's module 28%
   * smaller and halved V8's baseline compiler's time on it. Every other indirect jump looks
   * its target up itself and dispatches on it from the innermost loop's head. (A lookup
   * shared by every indirect jump, inside the dispatch loop and branching back to its head,
   * made the contract's RV32E build run 1.26× slower in V8's optimized code, and sharing the
   * returns of recursive regions made `fib` 1.15-1.2× slower.)
   */
  jumpIndirect(rd: number, rs1: number, imm: number, pc: number, link: number): void {
    const w = this.w;
    this.reg(rs1);
    if (imm !== 0) {
      this.i32(imm);
      w.u8(ADD);
    }
    this.i32(-2);
    w.u8(AND);
    if (rd === 0 && rs1 === RA && this.sharedReturns) {
      this.set(Local.T0);
      this.#returnTo();
      // Stored before the lookup: an exit after it stores every register written anyway.
      this.#storeDirtyAtJump();
      this.i32(pc);
      this.set(Local.EXIT_PC);
      this.#returnsElsewhere = true;
      return this.br(Stub.RETURN_ELSEWHERE);
    }
    w.u8x2(TEE, Local.T0);
    if (rd === 0 && rs1 === RA) this.#returnTo();
    this.#dispatchIndexOfTarget(pc, rd, link);
    this.constant(rd, link);
    if (rd === 0) {
      this.#storeDirtyAtJump();
      this.get(Local.T1);
      return this.dispatchPopped();
    }
    // A call: within the region, a jump; else a call.
    this.get(Local.T1);
    this.i32(this.region << REGION_SHIFT);
    w.u8(SUB);
    this.i32(this.last - this.first);
    w.u8(GE_U);
    this.if();
    this.#callAndReturn(0, Local.T1, link);
    this.close();
    this.#storeDirtyAtJump();
    this.get(Local.T1);
    this.dispatchPopped();
  }

  /** A return (its address in T0) where the caller expects it, or after a recursive call. */
  #returnTo(): void {
    this.get(Local.T0);
    this.get(Local.RETURN_TO);
    this.w.u8(EQ);
    this.if();
    this.i32(RETURNED);
    this.set(Local.RESULT);
    this.br(LEAVE_LABEL);
    this.close();
    this.#selfReturn();
  }

  /**
   * The region's returns elsewhere than expected, shared: leaves with the dispatch index of
   * the target in T0 for the caller to dispatch, or exits for the return at EXIT_PC.
   */
  /**
   * The stub of the indirect jumps without a link whose target starts no block (the jump's
   * pc on the stack, the target in T0, its table entry in T1): into a block's middle, to
   * the host's return address, or to no code. Shared: a `br_if` at each jump, not three `if`s.
   */
  #noBlock(): void {
    const w = this.w;
    this.set(Local.EXIT_PC);
    this.get(Local.T1);
    this.i32(MID_BLOCK - 1);
    w.u8(EQ);
    this.brIf(Stub.ENTER_MID);
    // No code lies at the host's return address (abi/README.md): checked only here.
    this.get(Local.T0);
    this.i32(HOST_RETURN_ADDRESS | 0);
    w.u8(EQ);
    this.if();
    this.i32(-WasmExit.RETURN);
    this.set(Local.RESULT);
    this.br(TRAP_LABEL);
    this.close();
    this.br(Stub.INVALID_JUMP);
  }

  #returnElsewhere(): void {
    this.get(Local.T0);
    this.#dispatchIndexOfTarget(undefined, 0, 0);
    this.get(Local.T1);
    this.set(Local.RESULT);
    this.br(LEAVE_LABEL);
  }

  /**
   * Pops the target address (also in T0) and leaves its dispatch index in T1, or exits
   * for the jump at `pc` (undefined: already in EXIT_PC), setting `rd` to `link` first:
   * into the middle of a block, to the host's return address, or to no code (without a
   * link, through {@linkcode #noBlock}).
   */
  #dispatchIndexOfTarget(pc: number | undefined, rd: number, link: number): void {
    const w = this.w;
    this.#lookup();
    // The entry is the dispatch index + 1, 0 for none, MID_BLOCK inside a block.
    this.i32(1);
    w.u8(SUB);
    if (rd === 0) {
      // No link to set: the shared stub, given the pc.
      this.set(Local.T1);
      if (pc === undefined) this.get(Local.EXIT_PC);
      else this.i32(pc);
      this.get(Local.T1);
      this.i32(MID_BLOCK - 1);
      w.u8(GE_U);
      this.brIf(Stub.NO_BLOCK);
      return w.u8(DROP);
    }
    w.u8x2(TEE, Local.T1);
    this.i32(MID_BLOCK - 1);
    w.u8(GE_U);
    this.if();
    if (pc !== undefined) {
      this.i32(pc);
      this.set(Local.EXIT_PC);
    }
    this.get(Local.T1);
    this.i32(MID_BLOCK - 1);
    w.u8(EQ);
    this.if();
    this.constant(rd, link);
    this.br(Stub.ENTER_MID);
    this.close();
    // No code lies at the host's return address (abi/README.md): checked only here.
    this.get(Local.T0);
    this.i32(HOST_RETURN_ADDRESS | 0);
    w.u8(EQ);
    this.if();
    this.constant(rd, link);
    this.i32(-WasmExit.RETURN);
    this.set(Local.RESULT);
    this.br(TRAP_LABEL);
    this.close();
    this.br(Stub.INVALID_JUMP);
    this.close();
  }

  /**
   * A return to after one of the region's recursive calls goes on there without the
   * table's lookup (the address in T0).
   */
  #selfReturn(): void {
    for (const i of this.selfReturns) {
      this.get(Local.T0);
      this.i32(this.code.pc[i]);
      this.w.u8(EQ);
      this.if();
      // Entered as from a dispatch: what the callee's code left dirty is stored first.
      this.#storeDirtyAtJump();
      this.goto(i);
      this.close();
    }
  }

  /**
   * Before an indirect jump's dispatch: stores what its target may not take dirty
   * (wasm/_dirty.ts), none after a host call. Not before a return to the caller, a call
   * of another region or an exit: those store every register written.
   */
  #storeDirtyAtJump(): void {
    if (this.code.op[this.instruction] !== Op.JALR) return;
    this.storeRegisters(this.written & this.dirty[this.instruction - this.firstInstruction]);
  }

  /**
   * Pops the address in T0 and pushes the jump table's entry for it (0 outside the
   * code): the slot's in one level, or per chunk of code, the row of slots
   * (0: no code in the chunk), then the slot's (wasm/translate.ts).
   */
  #lookup(): void {
    const w = this.w;
    this.i32(this.codeStart);
    w.u8(SUB);
    w.u8x2(TEE, Local.T1);
    this.i32(this.codeBytes);
    w.u8(LT_U);
    this.if(I32);
    if (this.flatTable) {
      this.get(Local.T1);
      this.i32(1);
      w.u8(SHL);
      w.u8x2(I32_LOAD, 2);
      w.uleb(STATE_BYTES);
    } else {
      this.get(Local.T1);
      this.i32(CHUNK_SHIFT);
      w.u8(SHR_U);
      this.i32(2);
      w.u8(SHL);
      w.u8x2(I32_LOAD, 2);
      w.uleb(STATE_BYTES);
      w.u8x2(TEE, Local.T2);
      this.if(I32);
      this.get(Local.T2);
      this.get(Local.T1);
      this.i32((1 << CHUNK_SHIFT) - 2);
      w.u8(AND);
      this.i32(1);
      w.u8(SHL);
      w.u8(ADD);
      w.u8x2(I32_LOAD, 2);
      w.u8(0);
      w.u8(ELSE);
      this.i32(0);
      this.close();
    }
    w.u8(ELSE);
    this.i32(0);
    this.close();
  }
}
