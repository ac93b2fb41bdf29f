/**
 * The native engine: runs a translated program through FFI and turns its
 * exits (host calls, returns, traps) into the contract's outcomes, exactly
 * as the interpreter does (abi/README.md §4).
 * @module
 */
import { instructionAt } from "../abi/code.ts";
import { PAGE_SIZE } from "../abi/constants.ts";
import type { Engine, EngineInit, RunOutcome } from "../abi/engine.ts";
import type { TrapInit, TrapKind } from "../abi/errors.ts";
import { callImport, type HostContext, type ResolvedImport } from "../abi/host.ts";
import type { GuestMemory } from "../abi/memory.ts";
import { type CompiledProgram, instructionAtSite } from "./_compiled.ts";
import type { GuestAddressSpace } from "./address_space.ts";
import type { NativeResources } from "./native_memory.ts";
import type { ResourceClaim } from "./resources.ts";
import { Exit, PAGE_READ, PAGE_WRITE, SITE_PC, State, STATE_SIZE } from "./state.ts";

const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
const TRAP_OF: Record<number, TrapKind> = {
  [Exit.INVALID_INSTRUCTION]: "InvalidInstruction",
  [Exit.MEMORY_FAULT]: "MemoryFault",
  [Exit.INVALID_JUMP]: "InvalidJump",
  [Exit.OUT_OF_GAS]: "OutOfGas",
  [Exit.BREAKPOINT]: "Breakpoint",
};
/** u32 index of a state field in the state block's word view. */
const word = (field: number) => (STATE_SIZE + field) >> 2;

/** One instance's native execution state. */
export class NativeEngine implements Engine {
  /** x0..x31, in the state block (generated code reads and writes them there). */
  regs: Int32Array;
  /** Remaining gas (synchronized with the state block around native runs). */
  gas: number;
  exitCode: number | undefined = undefined;
  trap: TrapInit | undefined = undefined;
  resumePc = -1;
  readonly memory: GuestMemory;
  readonly context: HostContext;
  readonly print: (bytes: Uint8Array) => void;
  readonly imports: readonly ResolvedImport[];
  #words: Uint32Array;
  readonly #space: GuestAddressSpace;
  readonly #program: CompiledProgram;
  readonly #claim: ResourceClaim;
  readonly #pageTable: Uint8Array;
  #heapMapped: number;
  #brk = -1;

  constructor(init: EngineInit, resources: NativeResources) {
    this.gas = init.gas;
    this.memory = resources.memory;
    this.context = init.host.context;
    this.print = init.host.print;
    this.imports = init.imports;
    this.#space = resources.space;
    this.#program = resources.program;
    this.#claim = resources.claim;
    const stateBuffer = this.#space.state();
    this.#words = new Uint32Array(stateBuffer);
    this.regs = new Int32Array(stateBuffer, STATE_SIZE + State.REGS, 32);
    const memory = this.memory;
    const code = init.image.code;
    const w = this.#words;
    // The page table covers the span; static regions are in it, the heap is
    // checked as a byte range (see jit/x64/_runtime.ts).
    const spanBase = memory.base;
    const spanPages = memory.bytes.length / PAGE_SIZE + 1;
    this.#pageTable = new Uint8Array(spanPages);
    for (const r of memory.regions) {
      const bits = PAGE_READ | (r.write ? PAGE_WRITE : 0);
      this.#pageTable.fill(
        bits,
        (r.start - spanBase) / PAGE_SIZE,
        pageUp(r.end - spanBase) / PAGE_SIZE,
      );
    }
    w[word(State.SPAN_BASE)] = spanBase;
    w[word(State.SPAN_PAGES)] = spanPages;
    w[word(State.CODE_START)] = code.start;
    w[word(State.CODE_BYTES)] = code.end - code.start;
    this.#setPointer(State.JUMP_TABLE, this.#program.jumpTablePointer);
    this.#setPointer(
      State.PAGE_TABLE,
      Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#pageTable)),
    );
    w[word(State.RESERVATION)] = 0xffffffff;
    this.#heapMapped = memory.heapStart;
    this.#syncMemory();
  }

  get reservation(): number {
    const r = this.#words[word(State.RESERVATION)];
    return r === 0xffffffff ? -1 : r;
  }

  set reservation(value: number) {
    this.#words[word(State.RESERVATION)] = value < 0 ? 0xffffffff : value;
  }

  #setPointer(field: number, value: bigint | number): void {
    const v = BigInt(value);
    this.#words[word(field)] = Number(v & 0xffffffffn);
    this.#words[word(field) + 1] = Number(v >> 32n);
  }

  /** Maps newly grown heap pages and publishes the fast windows to native code. */
  #syncMemory(): void {
    const m = this.memory;
    if (m.brk === this.#brk) return;
    this.#brk = m.brk;
    const top = pageUp(m.brk);
    if (top > this.#heapMapped) {
      this.#space.map(this.#heapMapped, top, true);
      this.#claim.commit(top - this.#heapMapped);
      this.#heapMapped = top;
    }
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

  /** Runs from `pc` (abi/README.md §4). */
  run(pc: number): RunOutcome {
    this.trap = undefined;
    this.resumePc = -1;
    this.exitCode = undefined;
    const program = this.#program;
    const code = program.code;
    const w = this.#words;
    const table = program.jumpWords;
    let at = pc;
    for (;;) {
      const slot = (at - code.start) / 2;
      const valid = slot >= 0 && at < code.end && slot === (slot | 0);
      const low = valid ? table[4 * slot] : 0;
      const high = valid ? table[4 * slot + 1] : 0;
      if (low === 0 && high === 0) {
        this.trap = { kind: "InvalidJump", pc: at, address: at, registers: this.#snapshot() };
        return "trap";
      }
      const charge = table[4 * slot + 2];
      if (this.gas < charge) return this.#raise("OutOfGas", at, at);
      const gas = this.gas - charge;
      w[word(State.GAS)] = gas % 2 ** 32;
      w[word(State.GAS) + 1] = Math.floor(gas / 2 ** 32);
      w[word(State.ENTRY)] = low;
      w[word(State.ENTRY) + 1] = high;
      program.enter(this.#space.basePointer);
      this.gas = (w[word(State.GAS) + 1] | 0) * 2 ** 32 + w[word(State.GAS)]; // negative after UNPAID
      const reason = w[word(State.EXIT_REASON)];
      const exitPc = w[word(State.EXIT_PC)];
      if (reason === Exit.RETURN) return "return";
      if (reason !== Exit.HOSTCALL) return this.#trapExit(reason, exitPc);
      const outcome = callImport(this, this.imports[w[word(State.EXIT_AUX)]]);
      if (outcome === "exit") return "exit";
      if (outcome !== undefined) return this.#raise("HostError", exitPc, -1, outcome.error);
      this.#syncMemory();
      const i = instructionAt(code, exitPc);
      at = (exitPc + code.size[i]) >>> 0;
      if (code.segmentEnd[i]) {
        this.trap = { kind: "InvalidJump", pc: exitPc, address: at, registers: this.#snapshot() };
        return "trap";
      }
    }
  }

  #trapExit(reason: number, exitPc: number): RunOutcome {
    const w = this.#words;
    const code = this.#program.code;
    let pc = exitPc;
    if (exitPc === SITE_PC) {
      const site = w[word(State.EXIT_SITE)] + w[word(State.EXIT_SITE) + 1] * 2 ** 32;
      pc = code.pc[instructionAtSite(this.#program, site, reason === Exit.UNPAID)];
    }
    if (reason === Exit.UNPAID) {
      // The block's cost was subtracted before the sign check: give it back.
      this.gas += code.entryCost[instructionAt(code, pc)];
      return this.#raise("OutOfGas", pc, pc);
    }
    const kind = TRAP_OF[reason];
    if (kind === undefined) throw new Error(`native code exited with unknown reason ${reason}`);
    const aux = w[word(State.EXIT_AUX)];
    switch (kind) {
      case "MemoryFault":
        this.#raise(kind, pc, -1);
        this.trap!.address = aux;
        this.trap!.access = w[word(State.EXIT_WRITE)] ? "write" : "read";
        return "trap";
      case "InvalidJump":
        this.#raise(kind, pc, -1);
        this.trap!.address = aux;
        return "trap";
      case "OutOfGas":
        return this.#raise(kind, pc, pc);
      case "Breakpoint": {
        const i = instructionAt(this.#program.code, pc);
        return this.#raise(kind, pc, (pc + this.#program.code.size[i]) >>> 0);
      }
      default:
        return this.#raise(kind, pc, -1);
    }
  }

  #raise(kind: TrapKind, pc: number, resumePc: number, cause?: unknown): RunOutcome {
    const trap: TrapInit = { kind, pc, registers: this.#snapshot() };
    if (kind === "HostError") trap.cause = cause;
    this.trap = trap;
    this.resumePc = resumePc;
    return "trap";
  }

  #snapshot(): Uint32Array {
    const registers = new Uint32Array(32);
    registers.set(new Uint32Array(this.regs.buffer, this.regs.byteOffset, 32));
    return registers;
  }

  /**
   * Unmaps the address space, which releases the instance's resource claim
   * and its hold on the program's code. Every view of it is dropped first
   * (the instance has detached the GuestMemory, which empties its own), so
   * no later read can reach unmapped memory.
   */
  dispose(): void {
    this.regs = new Int32Array(32);
    this.#words = new Uint32Array(STATE_SIZE / 4);
    this.#space.dispose();
  }
}
