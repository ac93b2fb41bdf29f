/**
 * The wasm tier's memory layout and exit reasons, shared by the translator
 * and the engine. One WebAssembly memory per instance holds, from address
 * 0: the state block (registers, gas, exit details, the fast windows), the
 * program's indirect-jump table, then the guest's accessible span.
 * @module
 */
import { PAGE_SIZE } from "../abi/constants.ts";
import { Exit } from "../jit/state.ts";

/** Byte offsets of the state block's fields (u32 unless said otherwise). */
export const Field = Object.freeze({
  /** x0..x31 (x0 stays 0). */
  REGS: 0,
  /** Remaining gas, i64. */
  GAS: 128,
  /** Guest pc the exit refers to. */
  EXIT_PC: 136,
  /** Import number, fault address or jump target. */
  EXIT_AUX: 140,
  /** LR/SC reservation address, -1 for none. */
  RESERVATION: 144,
  /** 1 when a MemoryFault was a write. */
  EXIT_WRITE: 148,
  /**
   * Fast read window: its lowest address, then for 1-, 2- and 4-byte
   * accesses how many start addresses from there pass (0 for none).
   */
  READ_START: 152,
  READ_SPAN1: 156,
  READ_SPAN2: 160,
  READ_SPAN4: 164,
  /** Fast write window, likewise. */
  WRITE_START: 168,
  WRITE_SPAN1: 172,
  WRITE_SPAN2: 176,
  WRITE_SPAN4: 180,
  /** Added to a guest address to give its memory index (guest offset minus the plan's base). */
  BIAS: 184,
  /** The stack's window, likewise (it may lie apart from the others). */
  STACK_START: 188,
  STACK_SPAN1: 192,
  STACK_SPAN2: 196,
  STACK_SPAN4: 200,
});

/** Bytes of the state block; the jump table follows. */
export const STATE_BYTES = 256;

/**
 * Why the generated function returned: the native tier's reasons, and one of its own.
 * `HOSTCALL` means a host call already made (through the {@linkcode HOST_IMPORT}) that the
 * generated code cannot go on from: the engine holds its outcome.
 */
export const WasmExit = Object.freeze({
  ...Exit,
  /**
   * An indirect jump (or the host) entered in the middle of a block, at
   * `EXIT_AUX`, which no dispatch label marks: the engine runs that block's
   * rest on the interpreter. The jump's link is written already.
   */
  ENTER_MID: 9,
});

/**
 * Function index of the module's one imported function, `env.host(site, i)`: makes host
 * call `site` for the ECALL that is instruction `i`, with the registers and gas in the
 * state block, and returns what the code does next ({@linkcode HostCalled}). The regions'
 * functions follow it, then the driver.
 */
export const HOST_IMPORT = 0;
/**
 * What a host call made from the generated code changed, and so what the code does next. A
 * host function changes registers other than a0 and a1 only through `ctx.setRegister`,
 * and gas only through `ctx.gas`, which the engine notices.
 */
export const HostCalled = Object.freeze({
  /** It went on: at most a0 and a1 changed, which the code loads again. */
  RESULT: 0,
  /** It went on, registers or gas set: the code loads them all again. */
  STATE: 1,
  /** It ended the call or moved the break: the code exits with `HOSTCALL`. */
  LEAVE: 2,
});
/** Function index of region 0's function. */
export const FIRST_REGION = HOST_IMPORT + 1;

/** Jump-table entry of an instruction start that is not a block leader. */
export const MID_BLOCK = -1;

/** Where the guest span starts in memory, after a jump table of `tableBytes` (page-aligned). */
export function guestOffset(tableBytes: number): number {
  const end = STATE_BYTES + tableBytes;
  return Math.ceil(end / PAGE_SIZE) * PAGE_SIZE;
}

/** WebAssembly page size. */
export const WASM_PAGE = 65536;
