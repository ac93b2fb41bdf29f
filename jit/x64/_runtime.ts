/**
 * The routines every translated program starts with: entry from the host,
 * exit to the host, the indirect-jump lookup and charge, and the exact
 * (page-table) memory check behind the fast windows.
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
  RA,
  SITE_PC,
  SP,
  State,
} from "../state.ts";
import { BASE, CALLEE_SAVED, GAS } from "./_regs.ts";
import { ALU, CC, type Label, type Mem, RAX, RCX, RDI, RDX, type Reg, RSP } from "./asm.ts";
import { SHIFT, X64Assembler } from "./asm.ts";

const field = (offset: number): Mem => ({ base: BASE, disp: offset });

/**
 * Routine code by register map. The routines depend on nothing else and
 * only branch among themselves, so programs with the same map copy them
 * instead of assembling them again. Bounded: cleared when full.
 */
const CACHE = new Map<string, { bytes: Uint8Array; offsets: number[]; }>();
const CACHE_LIMIT = 64;

/** The shared routines; `emit()` places them at the start of the code. */
export class Runtime extends RoutineLabels {
  readonly #a: X64Assembler;
  readonly #host: readonly number[];

  constructor(a: X64Assembler, host: readonly number[]) {
    super(() => a.label());
    this.#a = a;
    this.#host = host;
  }

  /** Emits every routine (copied from the cache when it can be); the entry routine comes first. */
  emit(): void {
    const key = this.#host.join();
    let cached = CACHE.get(key);
    if (cached === undefined) {
      const a = new X64Assembler(2048);
      const fresh = new Runtime(a, this.#host);
      fresh.#emitAll();
      cached = {
        bytes: a.finish().slice(),
        offsets: fresh.routineLabels().map((l) => a.offsetOf(l)),
      };
      if (CACHE.size >= CACHE_LIMIT) CACHE.clear();
      CACHE.set(key, cached);
    }
    const at = this.#a.template(cached.bytes);
    const offsets = cached.offsets;
    this.routineLabels().forEach((l, k) => this.#a.bindAt(l, at + offsets[k]));
  }

  #emitAll(): void {
    this.#entry();
    this.#exit();
    this.#lookup();
    for (const width of [1, 2, 4]) {
      for (const write of [false, true]) this.#slowCheck(width, write);
    }
  }

  /**
   * In a routine called from a cold path `call routine; jmp site`: reads
   * `site` from that `jmp` (its rel32 ends 5 bytes after the return address)
   * into `State.EXIT_SITE` and marks the exit as named by it (`SITE_PC`).
   * Clobbers `ret` and `rel`.
   */
  #nameSite(ret: Reg, rel: Reg): void {
    const a = this.#a;
    a.load64(ret, { base: RSP });
    a.load32(rel, { base: ret, disp: 1 });
    a.movsxd(rel, rel);
    a.lea64(ret, { base: ret, index: rel, scale: 1, disp: 5 });
    a.store64(field(State.EXIT_SITE), ret);
    a.storeImm32(field(State.EXIT_PC), SITE_PC | 0);
  }

  /** The guest registers held in host registers, as [guest, host] pairs. */
  #pinned(): [number, Reg][] {
    const pairs: [number, Reg][] = [];
    this.#host.forEach((h, g) => h >= 0 && pairs.push([g, h]));
    return pairs;
  }

  /**
   * `int entry(void* guestBase)`: System V; preserves callee-saved
   * registers. Starts at guest pc `State.ENTRY_PC`, looked up and charged
   * like an indirect jump's target (so a bad pc or too little gas exits as
   * InvalidJump or OutOfGas there, and the host does no lookup of its own).
   */
  #entry(): void {
    const a = this.#a;
    const load = a.label();
    for (const r of CALLEE_SAVED) a.push(r);
    a.mov64(BASE, RDI);
    a.store64(field(State.SAVED_SP), RSP);
    a.alu32MI(ALU.CMP, field(State.NEW_CALL), 0);
    a.jcc(CC.E, load);
    // A new call (§4): zero but sp, ra and a0-a5 (x10-x15, written by the host); no reservation.
    a.movImm32(RAX, 0);
    for (const pair of NEW_CALL_ZERO_PAIRS) a.store64(field(State.REGS + 8 * pair), RAX);
    a.load32(RAX, field(State.STACK_TOP));
    a.store32(field(State.REGS + 4 * SP), RAX);
    a.storeImm32(field(State.REGS + 4 * RA), HOST_RETURN_ADDRESS | 0);
    a.storeImm32(field(State.RESERVATION), -1);
    a.storeImm32(field(State.NEW_CALL), 0);
    a.bind(load);
    for (const [g, h] of this.#pinned()) a.load32(h, field(State.REGS + 4 * g));
    a.load64(GAS, field(State.GAS));
    a.load32(RAX, field(State.ENTRY_PC));
    a.movImm32(RDX, ENTRY_EXIT_PC | 0);
    a.call(this.lookupAndCharge);
    a.jmpReg(RDX);
  }

  #exit(): void {
    const a = this.#a;
    a.bind(this.outOfGas);
    a.storeImm32(field(State.EXIT_REASON), Exit.OUT_OF_GAS);
    a.bind(this.exit);
    a.load64(RSP, field(State.SAVED_SP));
    for (const [g, h] of this.#pinned()) a.store32(field(State.REGS + 4 * g), h);
    a.store64(field(State.GAS), GAS);
    for (const r of [...CALLEE_SAVED].reverse()) a.pop(r);
    a.movImm32(RAX, 0);
    a.ret();
    // Called from a block's cold path, `call unpaid; jmp body` (the jmp never
    // runs: it names the block, whose pc the engine finds from the address).
    a.bind(this.unpaid);
    this.#nameSite(RAX, RDX);
    a.storeImm32(field(State.EXIT_REASON), Exit.UNPAID);
    a.jmp(this.exit);
    a.bind(this.hostReturn);
    a.storeImm32(field(State.EXIT_REASON), Exit.RETURN);
    a.jmp(this.exit);
  }

  /** `lookup`, and with `charging` also `charge`, as one routine. */
  #lookupRoutine(entry: Label, charging: boolean, invalid: Label, unpaid: Label): void {
    const a = this.#a;
    const hostReturn = a.label();
    a.bind(entry);
    a.store32(field(State.EXIT_PC), RDX);
    a.store32(field(State.EXIT_AUX), RAX);
    a.alu32Imm(ALU.CMP, RAX, HOST_RETURN_ADDRESS | 0);
    a.jcc(CC.E, hostReturn);
    a.alu32RM(ALU.SUB, RAX, field(State.CODE_START));
    a.alu32RM(ALU.CMP, RAX, field(State.CODE_BYTES));
    a.jcc(CC.AE, invalid);
    // The target is even, so offset * 8 = slot * 16: the entry's offset.
    a.shift64Imm(SHIFT.SHL, RAX, 3);
    a.alu64RM(ALU.ADD, RAX, field(State.JUMP_TABLE));
    a.load64(RDX, { base: RAX });
    a.test64(RDX, RDX);
    a.jcc(CC.E, invalid);
    if (charging) {
      a.alu64RM(ALU.SUB, GAS, { base: RAX, disp: 8 });
      a.jcc(CC.S, unpaid);
    }
    a.ret();
    a.bind(hostReturn); // no charge: an entry whose cost is 0
    a.leaLabel(RDX, this.hostReturn);
    a.leaLabel(RAX, this.zeroCost);
    a.ret();
  }

  #lookup(): void {
    const a = this.#a;
    const invalid = a.label();
    const unpaid = a.label();
    this.#lookupRoutine(this.lookup, false, invalid, unpaid);
    this.#lookupRoutine(this.lookupAndCharge, true, invalid, unpaid);
    a.bind(invalid);
    a.storeImm32(field(State.EXIT_REASON), Exit.INVALID_JUMP);
    a.jmp(this.exit);

    // charge: RAX = entry; charges its cost, keeps RDX.
    a.bind(this.charge);
    a.alu64RM(ALU.SUB, GAS, { base: RAX, disp: 8 });
    a.jcc(CC.S, unpaid);
    a.ret();
    a.bind(unpaid); // OutOfGas at the target, nothing charged
    a.alu64RM(ALU.ADD, GAS, { base: RAX, disp: 8 });
    a.load32(RAX, field(State.EXIT_AUX));
    a.store32(field(State.EXIT_PC), RAX);
    a.jmp(this.outOfGas);
    a.align(8); // int3s: an odd run of zeros would desynchronize a disassembly
    a.bind(this.zeroCost);
    a.bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  /**
   * Checks the first and last byte: each must be in a page the page table
   * marks (static regions: segments and stack) or in the heap
   * `[HEAP_START, HEAP_START + HEAP_BYTES)`, byte-exact up to the break.
   * Called with the address in EAX from the access's cold path, `call
   * check; jmp resume`: on a fault it reads `resume` from that `jmp` and
   * names the instruction by it (`State.EXIT_SITE`), so cold paths carry no
   * pc of their own.
   */
  #slowCheck(width: number, write: boolean): void {
    const a = this.#a;
    const fail = a.label();
    const bit = write ? PAGE_WRITE : PAGE_READ;
    a.bind(this.slowCheck(width, write));
    a.store64(field(State.TEMP), RCX);
    a.load64(RDX, field(State.PAGE_TABLE));
    // Every byte: a 1-3-byte hole between the break and a stack right above the heap can lie
    // inside an access whose first and last bytes are both accessible.
    for (let offset = 0; offset < width; offset++) {
      const heap = a.label();
      const next = a.label();
      a.mov32(RCX, RAX);
      if (offset !== 0) {
        a.alu32Imm(ALU.ADD, RCX, offset);
        a.jcc(CC.B, fail); // wrapped past 0xFFFFFFFF
      }
      a.alu32RM(ALU.SUB, RCX, field(State.SPAN_BASE));
      a.shift32Imm(SHIFT.SHR, RCX, 12);
      a.alu32RM(ALU.CMP, RCX, field(State.SPAN_PAGES));
      a.jcc(CC.AE, heap);
      a.loadU8(RCX, { base: RDX, index: RCX, scale: 1 });
      a.test32Imm(RCX, bit);
      a.jcc(CC.NE, next);
      a.bind(heap); // not in a static page: the heap (readable and writable) or nothing
      a.mov32(RCX, RAX);
      if (offset !== 0) a.alu32Imm(ALU.ADD, RCX, offset);
      a.alu32RM(ALU.SUB, RCX, field(State.HEAP_START));
      a.alu32RM(ALU.CMP, RCX, field(State.HEAP_BYTES));
      a.jcc(CC.AE, fail);
      a.bind(next);
    }
    a.load64(RCX, field(State.TEMP));
    a.ret();
    a.bind(fail);
    this.#nameSite(RCX, RDX); // RCX is restored from TEMP below
    a.store32(field(State.EXIT_AUX), RAX);
    a.storeImm32(field(State.EXIT_WRITE), write ? 1 : 0);
    a.storeImm32(field(State.EXIT_REASON), Exit.MEMORY_FAULT);
    a.load64(RCX, field(State.TEMP));
    a.jmp(this.exit);
  }
}
