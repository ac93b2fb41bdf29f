/**
 * The state block: the page just below guest address 0 in an instance's
 * address space, shared by generated code and TypeScript. Generated code
 * keeps one base register pointing at guest address 0, so it reaches guest
 * memory at non-negative offsets and this block at negative ones. Every
 * backend uses this layout; only the register assignment is per backend.
 * @module
 */

/** Bytes reserved for the state block below guest address 0. */
export const STATE_SIZE = 4096;

/** Field offsets from guest address 0 (all negative). */
export const State = Object.freeze({
  /**
   * When `EXIT_PC` is {@linkcode SITE_PC}: the native address (u64) the exit
   * came from, which the engine maps back to the guest instruction through
   * the jump table (so that checks need no per-site code naming their pc).
   */
  EXIT_SITE: -264,
  /** x0..x31 as u32 (x0 stays 0); pinned registers are written back on every exit. */
  REGS: -256,
  /** Fast read window: lowest address. */
  READ_LO: -128,
  /** Fast read window: last valid start address of a 1-, 2- and 4-byte read. */
  READ_LAST1: -124,
  READ_LAST2: -120,
  READ_LAST4: -116,
  /** Fast write window, likewise. */
  WRITE_LO: -112,
  WRITE_LAST1: -108,
  WRITE_LAST2: -104,
  WRITE_LAST4: -100,
  /** LR/SC reservation address, 0xFFFFFFFF for none. */
  RESERVATION: -96,
  /** Why native code returned ({@linkcode Exit}). */
  EXIT_REASON: -92,
  /** Guest pc the exit refers to. */
  EXIT_PC: -88,
  /** Import number, fault address or jump target. */
  EXIT_AUX: -84,
  /** 1 when a MemoryFault was a write. */
  EXIT_WRITE: -80,
  /** First page of the slow-path page table, and how many pages it covers. */
  SPAN_BASE: -76,
  SPAN_PAGES: -72,
  /** Lowest code address and code bytes (for indirect-jump lookups). */
  CODE_START: -68,
  CODE_BYTES: -64,
  /** The instance's initial stack pointer, which every call from the host starts with. */
  STACK_TOP: -60,
  /** Remaining gas, i64: the instance's gas lives here (TypeScript reads and writes it here too). */
  GAS: -56,
  /** The host stack pointer at entry (exits restore it), u64. */
  SAVED_SP: -48,
  /**
   * The guest pc the entry routine starts at: it looks it up and charges
   * its entry like an indirect jump, or exits with InvalidJump or OutOfGas
   * there.
   */
  ENTRY_PC: -40,
  /**
   * Nonzero when the entry starts a new call from the host (§4): the entry
   * routine then zeroes every register but a0-a5 (which the host has
   * written), sets sp to `STACK_TOP` and ra to the host return address,
   * clears the reservation, and clears this flag.
   */
  NEW_CALL: -36,
  /**
   * The jump table: per 2-byte code slot, 16 bytes: the native address (u64,
   * 0 = no instruction starts there) and the entry charge (u64).
   */
  JUMP_TABLE: -32,
  /**
   * The heap, `[HEAP_START, HEAP_START + HEAP_BYTES)`, for the exact memory
   * check: the page table holds the static regions, whose bounds are pages,
   * while the heap ends at any byte (its break).
   */
  HEAP_START: -24,
  HEAP_BYTES: -20,
  /** One byte per page of the span: bit 0 readable, bit 1 writable. */
  PAGE_TABLE: -16,
  /** Scratch for generated code (saving a register), u64. */
  TEMP: -8,
});

/** `EXIT_PC` when the exit names its instruction by native address (`EXIT_SITE`); odd, so never a pc. */
export const SITE_PC = 0xffffffff;

/**
 * `EXIT_PC` of an InvalidJump exit from the entry routine (its target, at
 * `ENTRY_PC`, is in `EXIT_AUX`); odd, so never a pc. Jump-table entries are
 * filled on first use (jit/_native_code.ts): such an exit, or one from a
 * JALR, may only mean that the target's entry is not there yet.
 */
export const ENTRY_EXIT_PC = 0xfffffffd;

/** Why generated code returned to TypeScript. */
export const Exit = Object.freeze({
  /** A jump to HOST_RETURN_ADDRESS: the call is complete. */
  RETURN: 1,
  /** An ECALL: run import `EXIT_AUX`, then re-enter after it. */
  HOSTCALL: 2,
  INVALID_INSTRUCTION: 3,
  /** `EXIT_AUX` is the address, `EXIT_WRITE` the access. */
  MEMORY_FAULT: 4,
  /** `EXIT_AUX` is the target. */
  INVALID_JUMP: 5,
  /** `EXIT_PC` is the instruction whose entry could not be paid. */
  OUT_OF_GAS: 6,
  BREAKPOINT: 7,
  /** A block entry at `EXIT_PC` could not be paid; its cost was subtracted and is given back. */
  UNPAID: 8,
});

/** Page-table bits. */
export const PAGE_READ = 1;
/** Page-table bit for writable pages. */
export const PAGE_WRITE = 2;

/** Guest register numbers the entry routine sets on a new call. */
export const RA = 1, SP = 2;
/**
 * The register pairs (x2k, x2k+1) a new call zeroes as 8-byte words: all
 * but x10-x15 (a0-a5, the arguments). sp and ra are written after.
 */
export const NEW_CALL_ZERO_PAIRS: readonly number[] = [0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15];
