/**
 * The native engine: runs a translated program through FFI and turns its
 * exits (host calls, returns, traps) into the contract's outcomes, exactly
 * as the interpreter does (abi/README.md §4).
 * @module
 */
import { instructionAt } from "../abi/code.ts";
import { PAGE_SIZE } from "../abi/constants.ts";
import type { EngineInit, RunOutcome } from "../abi/engine.ts";
import { Op } from "../abi/isa.ts";
import type { MemoryPlan } from "../abi/memory.ts";
import { type CompiledProgram, instructionAtSite } from "./_compiled.ts";
import { ExitEngine } from "./_exit_engine.ts";
import { ffi } from "./_ffi.ts";
import type { GuestAddressSpace } from "./address_space.ts";
import { type EntryCall, entryCall } from "./entry.ts";
import type { NativeResources, PlannedSpace } from "./native_memory.ts";
import { ENTRY_EXIT_PC, Exit, PAGE_READ, PAGE_WRITE, SITE_PC, State, STATE_SIZE } from "./state.ts";

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
/** u32 index of a state field in the state block's word view. */
const word = (field: number) => (STATE_SIZE + field) >> 2;
// u32 indexes of the fields the call path uses, as constants (V8 folds them).
const ENTRY_PC = word(State.ENTRY_PC);
const NEW_CALL = word(State.NEW_CALL);
const EXIT_REASON = word(State.EXIT_REASON);
const EXIT_PC = word(State.EXIT_PC);
const EXIT_AUX = word(State.EXIT_AUX);
const GAS = word(State.GAS);
const RESERVATION = word(State.RESERVATION);

/** Page permissions of the static regions, and their address, per plan (shared by its instances). */
const pageTables = new WeakMap<MemoryPlan, { table: Uint8Array; address: number; }>();

/**
 * One byte per page of the plan's span: its static regions' rights (the
 * heap is checked as a byte range, see jit/x64/_runtime.ts). Off the V8
 * heap (an ArrayBuffer's own store), so native code can hold its address.
 */
function pageTable(plan: MemoryPlan): { table: Uint8Array; address: number; } {
  let known = pageTables.get(plan);
  if (known === undefined) {
    const table = new Uint8Array(new ArrayBuffer(plan.span / PAGE_SIZE + 1));
    for (const r of plan.regions) {
      const bits = PAGE_READ | (r.write ? PAGE_WRITE : 0);
      table.fill(bits, (r.start - plan.base) / PAGE_SIZE, pageUp(r.end - plan.base) / PAGE_SIZE);
    }
    known = { table, address: ffi().addressOf(table.buffer as ArrayBuffer) };
    pageTables.set(plan, known);
  }
  return known;
}

/** The state block of disposed engines (never read: their gas and registers are their own). */
const DISPOSED_WORDS = new Uint32Array(STATE_SIZE / 4);

/** One instance's native execution state. */
export class NativeEngine extends ExitEngine {
  /** x0..x31, in the state block (generated code reads and writes them there). */
  regs: Int32Array;
  #words: Uint32Array;
  readonly #space: GuestAddressSpace;
  readonly #program: CompiledProgram;
  readonly #entry: EntryCall;
  readonly #planned: PlannedSpace;
  /** Keeps the page table alive while native code may read it. */
  readonly #pageTable: Uint8Array;
  /** The gas once disposed (the state block is another instance's then). */
  #disposedGas: number | undefined = undefined;

  constructor(init: EngineInit, resources: NativeResources) {
    super(resources.memory, init);
    this.#space = resources.space;
    this.#program = resources.program;
    this.#entry = entryCall(resources.program.enter);
    const planned = this.#planned = resources.planned;
    const w = this.#words = planned.words;
    this.regs = planned.regs;
    const plan = planned.plan;
    const code = init.image.code;
    const pages = pageTable(plan);
    this.#pageTable = pages.table;
    w[word(State.SPAN_BASE)] = plan.base;
    w[word(State.SPAN_PAGES)] = pages.table.length;
    w[word(State.CODE_START)] = code.start;
    w[word(State.CODE_BYTES)] = code.end - code.start;
    this.#setPointer(State.JUMP_TABLE, this.#program.jumpTablePointer);
    this.#setPointer(State.PAGE_TABLE, pages.address);
    w[RESERVATION] = 0xffffffff;
    w[word(State.STACK_TOP)] = this.memory.stackTop;
    this.gas = init.gas;
    this.syncMemory();
  }

  /** Remaining gas: the state block's, where native code counts it (negative after UNPAID). */
  get gas(): number {
    if (this.#disposedGas !== undefined) return this.#disposedGas;
    const w = this.#words;
    return (w[GAS + 1] | 0) * 2 ** 32 + w[GAS];
  }

  set gas(value: number) {
    if (this.#disposedGas !== undefined) {
      this.#disposedGas = value;
      return;
    }
    const w = this.#words;
    w[GAS] = value % 2 ** 32;
    w[GAS + 1] = Math.floor(value / 2 ** 32);
  }

  /**
   * Sets up a new call (see `Engine.beginCall`): the entry routine does it
   * (`State.NEW_CALL`, with the stack top from the state block), faster
   * than TypeScript can; a0-a5 are the caller's to write.
   */
  beginCall(_stackTop: number): void {
    this.#words[NEW_CALL] = 1;
  }

  get reservation(): number {
    const r = this.#words[RESERVATION];
    return r === 0xffffffff ? -1 : r;
  }

  set reservation(value: number) {
    this.#words[RESERVATION] = value < 0 ? 0xffffffff : value;
  }

  #setPointer(field: number, address: number): void {
    this.#words[word(field)] = address % 2 ** 32;
    this.#words[word(field) + 1] = Math.floor(address / 2 ** 32);
  }

  /** Maps newly grown heap pages and publishes the fast windows to native code. */
  protected syncMemory(): void {
    const m = this.memory;
    if (m.brk === this.brk) return;
    this.brk = m.brk;
    const top = pageUp(m.brk);
    if (top > this.#planned.heapMapped) this.#planned.mapHeap(top);
    const w = this.#words;
    w[word(State.HEAP_START)] = m.heapStart;
    w[word(State.HEAP_BYTES)] = m.brk - m.heapStart;
    // Exact for every size: in a window of 1-3 bytes the last start of a
    // wider access lies below its first address, so no such access passes.
    // (Accessible memory starts above the first page, so `end - 4` never
    // wraps; only a window with no bytes needs the impossible bounds.)
    const window = (lo: number, start: number, end: number) => {
      const empty = end <= start;
      w[word(lo)] = empty ? 0xffffffff : start;
      w[word(lo) + 1] = empty ? 0 : end - 1;
      w[word(lo) + 2] = empty ? 0 : end - 2;
      w[word(lo) + 3] = empty ? 0 : end - 4;
    };
    window(State.READ_LO, m.readStart, m.readEnd);
    window(State.WRITE_LO, m.writeStart, m.writeEnd);
  }

  /**
   * Runs from `pc` (abi/README.md §4). The entry routine looks `pc` up and
   * charges its entry (or exits with InvalidJump or OutOfGas there); after a
   * host call, execution enters the instruction after the ECALL the same way.
   * Small, so that V8 inlines it into the instance's call path; every other
   * exit than a return continues in `#exited`.
   */
  run(pc: number): RunOutcome {
    // `trap` and `resumePc` are set with every "trap"; the instance clears `exitCode` after "exit".
    const reason = this.#enter(pc);
    return reason === Exit.RETURN ? "return" : this.#exited(reason);
  }

  /** Enters native code at `pc`; returns why it exited. */
  #enter(pc: number): number {
    const w = this.#words;
    const { bsearch, element, one, eight, routine } = this.#entry;
    w[ENTRY_PC] = pc;
    bsearch(this.#space.basePointer, element, one, eight, routine); // jit/entry.ts
    return w[EXIT_REASON];
  }

  /** Host calls (re-entering after each), exits and traps. */
  #exited(exit: number): RunOutcome {
    const w = this.#words;
    const code = this.#program.code;
    for (let reason = exit;;) {
      if (reason === Exit.RETURN) return "return";
      const exitPc = w[EXIT_PC];
      if (reason === Exit.INVALID_JUMP) {
        const target = this.#lateEntry(exitPc, w[EXIT_AUX]);
        if (target !== undefined) {
          reason = this.#enter(target);
          continue;
        }
      }
      if (reason !== Exit.HOSTCALL) return this.#trapExit(reason, exitPc);
      const next = this.hostCall(code, instructionAt(code, exitPc), w[EXIT_AUX]);
      if (typeof next === "string") return next;
      reason = this.#enter(next);
    }
  }

  /**
   * An InvalidJump exit that only found the target's jump-table entry not
   * filled yet (from the entry routine, or a JALR): fills it, does what the
   * JALR had left to do (write its link: it validates first), and returns
   * where to enter, charging the target as the jump would have. Undefined
   * for a jump that is invalid.
   */
  #lateEntry(exitPc: number, target: number): number | undefined {
    const program = this.#program;
    if (exitPc === ENTRY_EXIT_PC) return program.resolve(target) ? target : undefined;
    const code = program.code;
    const i = instructionAt(code, exitPc);
    if (i < 0) return undefined;
    const { op, rd } = code.operands(i, i + 1);
    if (op[i] !== Op.JALR || !program.resolve(target)) return undefined;
    if (rd[i] !== 0) this.regs[rd[i]] = (exitPc + code.size[i]) | 0;
    return target;
  }

  #trapExit(reason: number, exitPc: number): RunOutcome {
    const w = this.#words;
    const code = this.#program.code;
    let pc = exitPc === ENTRY_EXIT_PC ? w[EXIT_AUX] : exitPc;
    if (exitPc === SITE_PC) {
      const site = w[word(State.EXIT_SITE)] + w[word(State.EXIT_SITE) + 1] * 2 ** 32;
      pc = code.pc[instructionAtSite(this.#program, site, reason === Exit.UNPAID)];
    }
    if (reason === Exit.UNPAID) {
      // The block's cost was subtracted before the sign check: give it back.
      this.gas += code.entryCost[instructionAt(code, pc)];
      return this.raise("OutOfGas", pc, pc);
    }
    return this.trapExit(code, reason, pc, w[EXIT_AUX], w[word(State.EXIT_WRITE)] !== 0);
  }

  /**
   * Releases the address space (to the memory pool, or unmapped), the
   * instance's resource claim and its hold on the program's code. Every
   * view of it is dropped first
   * (the instance has detached the GuestMemory, which empties its own), so
   * no later read can reach unmapped memory.
   */
  dispose(): void {
    // The state block goes to the next instance: gas and registers stay readable, as copies.
    this.#disposedGas = this.gas;
    this.regs = this.regs.slice();
    this.#words = DISPOSED_WORDS;
    this.#space.dispose();
  }
}
