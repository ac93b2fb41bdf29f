/**
 * The AArch64 routines every translated program starts with: entry from the
 * host, exit to the host, the indirect-jump lookup and charge, and the exact
 * (page-table) memory check behind the fast windows. Same contract as
 * jit/x64/_runtime.ts; T0 (x16) takes x86's EAX role, T1 (x17) EDX's.
 * @module
 */
import { HOST_RETURN_ADDRESS } from "../../abi/constants.ts";
import { RoutineLabels } from "../_routines.ts";
import {
  ENTRY_EXIT_PC,
  Exit,
  NEW_CALL_ZERO_PAIRS,
  PAGE_READ,
  PAGE_WRITE,
  State,
} from "../state.ts";
import { RA as GUEST_RA, SP as GUEST_SP } from "../state.ts";
import { BASE, GAS, SAVED_PAIRS, T0, T1, T2 } from "./_regs.ts";
import { type A64Assembler, COND, type Label, type Reg, SP, ZR } from "./asm.ts";

/** The shared routines; `emit()` places them at the start of the code. */
export class Runtime extends RoutineLabels {
  readonly #a: A64Assembler;
  readonly #host: readonly number[];

  constructor(a: A64Assembler, host: readonly number[]) {
    super(() => a.label());
    this.#a = a;
    this.#host = host;
  }

  /** Emits every routine; the entry routine lands at offset 0. */
  emit(): void {
    this.#entry();
    this.#exit();
    this.#lookup();
    for (const width of [1, 2, 4]) {
      for (const write of [false, true]) this.#slowCheck(width, write);
    }
  }

  #pinned(): [number, Reg][] {
    const pairs: [number, Reg][] = [];
    this.#host.forEach((h, g) => h >= 0 && pairs.push([g, h]));
    return pairs;
  }

  /** Stores a 32-bit constant in a state field (through T1). */
  setField(field: number, value: number): void {
    this.#a.movImm32(T1, value);
    this.#a.stur(false, T1, BASE, field);
  }

  /**
   * `int entry(void* guestBase)`: AAPCS64; preserves x19-x30. Starts at
   * guest pc `State.ENTRY_PC`, looked up and charged like an indirect
   * jump's target (as on x86-64).
   */
  #entry(): void {
    const a = this.#a;
    for (const [r1, r2] of [...SAVED_PAIRS].reverse()) a.stpPre(r1, r2, SP, -16);
    a.mov(true, BASE, 0);
    a.movSp(T0, SP);
    a.stur(true, T0, BASE, State.SAVED_SP);
    const load = a.label();
    a.ldur(false, T0, BASE, State.NEW_CALL);
    a.cbz(false, T0, load);
    // A new call (§4): zero but sp, ra and a0-a5 (x10-x15, written by the host); no reservation.
    for (const pair of NEW_CALL_ZERO_PAIRS) a.stur(true, ZR, BASE, State.REGS + 8 * pair);
    a.ldur(false, T0, BASE, State.STACK_TOP);
    a.stur(false, T0, BASE, State.REGS + 4 * GUEST_SP);
    this.setField(State.REGS + 4 * GUEST_RA, HOST_RETURN_ADDRESS);
    this.setField(State.RESERVATION, 0xffffffff);
    a.stur(false, ZR, BASE, State.NEW_CALL);
    a.bind(load);
    for (const [g, h] of this.#pinned()) a.ldur(false, h, BASE, State.REGS + 4 * g);
    a.ldur(true, GAS, BASE, State.GAS);
    a.ldur(false, T0, BASE, State.ENTRY_PC);
    a.movImm32(T1, ENTRY_EXIT_PC | 0);
    a.bl(this.lookupAndCharge);
    a.br(T1);
  }

  #exit(): void {
    const a = this.#a;
    a.bind(this.unpaid);
    this.setField(State.EXIT_REASON, Exit.UNPAID);
    a.b(this.exit);
    a.bind(this.hostReturn);
    this.setField(State.EXIT_REASON, Exit.RETURN);
    a.b(this.exit);
    a.bind(this.outOfGas);
    this.setField(State.EXIT_REASON, Exit.OUT_OF_GAS);
    a.bind(this.exit);
    a.ldur(true, T0, BASE, State.SAVED_SP);
    a.movSp(SP, T0);
    for (const [g, h] of this.#pinned()) a.stur(false, h, BASE, State.REGS + 4 * g);
    a.stur(true, GAS, BASE, State.GAS);
    for (const [r1, r2] of SAVED_PAIRS) a.ldpPost(r1, r2, SP, 16);
    a.movz(false, 0, 0);
    a.ret();
  }

  #lookupRoutine(entry: Label, charging: boolean, invalid: Label, unpaid: Label): void {
    const a = this.#a;
    const hostReturn = a.label();
    a.bind(entry);
    a.stur(false, T1, BASE, State.EXIT_PC);
    a.stur(false, T0, BASE, State.EXIT_AUX);
    a.movImm32(T1, HOST_RETURN_ADDRESS);
    a.subs(false, ZR, T0, T1);
    a.bcond(COND.EQ, hostReturn);
    a.ldur(false, T1, BASE, State.CODE_START);
    a.sub(false, T1, T0, T1); // offset into the code
    a.ldur(false, T2, BASE, State.CODE_BYTES);
    a.subs(false, ZR, T1, T2);
    a.bcond(COND.HS, invalid);
    a.ldur(true, T2, BASE, State.JUMP_TABLE);
    a.addUxtw(T2, T2, T1, 3); // offset * 8 = slot * 16: the entry
    a.ldrX(T1, T2, 0);
    a.cbz(true, T1, invalid);
    if (charging) {
      a.ldrX(T0, T2, 8);
      a.subs(true, GAS, GAS, T0);
      a.bcond(COND.MI, unpaid);
    }
    a.ret();
    a.bind(hostReturn); // no charge: an entry whose cost is 0
    a.adr(T1, this.hostReturn);
    a.adr(T2, this.zeroCost);
    a.ret();
  }

  #lookup(): void {
    const a = this.#a;
    const invalid = a.label();
    const unpaid = a.label();
    this.#lookupRoutine(this.lookup, false, invalid, unpaid);
    this.#lookupRoutine(this.lookupAndCharge, true, invalid, unpaid);
    a.bind(invalid);
    this.setField(State.EXIT_REASON, Exit.INVALID_JUMP);
    a.b(this.exit);
    a.bind(this.charge);
    a.ldrX(T0, T2, 8);
    a.subs(true, GAS, GAS, T0);
    a.bcond(COND.MI, unpaid);
    a.ret();
    a.bind(unpaid); // OutOfGas at the target (EXIT_AUX), nothing charged
    a.ldrX(T0, T2, 8);
    a.add(true, GAS, GAS, T0);
    a.ldur(false, T0, BASE, State.EXIT_AUX);
    a.stur(false, T0, BASE, State.EXIT_PC);
    a.b(this.outOfGas);
    a.bind(this.zeroCost);
    for (let k = 0; k < 4; k++) a.word(0);
  }

  /** Checks the first and last byte against the page table, then the heap (as on x86-64). */
  #slowCheck(width: number, write: boolean): void {
    const a = this.#a;
    const fail = a.label();
    const bit = write ? PAGE_WRITE : PAGE_READ;
    a.bind(this.slowCheck(width, write));
    a.stur(false, T1, BASE, State.EXIT_PC);
    // Every byte: a 1-3-byte hole between the break and a stack right above the heap can lie
    // inside an access whose first and last bytes are both accessible.
    for (let offset = 0; offset < width; offset++) {
      const heap = a.label();
      const next = a.label();
      if (offset !== 0) {
        a.addsImm(false, T1, T0, offset);
        a.bcond(COND.HS, fail); // carry: wrapped past 0xFFFFFFFF
      } else a.mov(false, T1, T0);
      a.ldur(false, T2, BASE, State.SPAN_BASE);
      a.sub(false, T1, T1, T2);
      a.lsrImm(false, T1, T1, 12);
      a.ldur(false, T2, BASE, State.SPAN_PAGES);
      a.subs(false, ZR, T1, T2);
      a.bcond(COND.HS, heap);
      a.ldur(true, T2, BASE, State.PAGE_TABLE);
      a.ldrB(T1, T2, T1);
      a.movImm32(T2, bit);
      a.and(false, T1, T1, T2);
      a.cbnz(false, T1, next);
      a.bind(heap); // not in a static page: the heap (readable and writable) or nothing
      if (offset !== 0) a.addImm(false, T1, T0, offset);
      else a.mov(false, T1, T0);
      a.ldur(false, T2, BASE, State.HEAP_START);
      a.sub(false, T1, T1, T2);
      a.ldur(false, T2, BASE, State.HEAP_BYTES);
      a.subs(false, ZR, T1, T2);
      a.bcond(COND.HS, fail);
      a.bind(next);
    }
    a.ret();
    a.bind(fail);
    a.stur(false, T0, BASE, State.EXIT_AUX);
    this.setField(State.EXIT_WRITE, write ? 1 : 0);
    this.setField(State.EXIT_REASON, Exit.MEMORY_FAULT);
    a.b(this.exit);
  }
}
