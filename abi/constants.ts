/**
 * Numbers of the machine contract (see abi/README.md). Every tier imports
 * them from here.
 * @module
 */

/** Granule of memory permissions. */
export const PAGE_SIZE = 4096;

/** The return address a call from the host starts with; jumping there returns to the host. */
export const HOST_RETURN_ADDRESS = 0xffff0000;

/** No accessible memory may reach this address or above. */
export const ADDRESS_LIMIT = 0xffff0000;

/** Largest span of accessible guest memory one instance may have. */
export const MAX_MEMORY_SPAN = 1 << 30;

/** Default limit on the size of all executable segments, in bytes. */
export const DEFAULT_MAX_CODE_SIZE = 16 << 20;

/** Default limit on the size of a program file, in bytes (debug information included). */
export const DEFAULT_MAX_FILE_SIZE = 256 << 20;

/** Default limit on the address span of all loaded segments, in bytes. */
export const DEFAULT_MAX_IMAGE_SIZE = 64 << 20;

/** Default stack size, in bytes. */
export const DEFAULT_STACK_SIZE = 64 << 10;

/** Default heap limit, in bytes. */
export const DEFAULT_HEAP_SIZE = 16 << 20;

/** Default gas given to a new instance. */
export const DEFAULT_GAS = 10_000_000_000;

/** ELF header flag: the program uses the RV32E base (16 registers). */
export const EF_RISCV_RVE = 0x8;

/** Section listing import call sites. */
export const IMPORTS_SECTION = ".rvbox.imports";

/** Section listing exported functions. */
export const EXPORTS_SECTION = ".rvbox.exports";

/** Names of the built-in services, which every program may import. */
export const BUILTIN_EXIT = "rvbox_exit";
/** Grows or shrinks the heap. */
export const BUILTIN_SBRK = "rvbox_sbrk";
/** Writes bytes to the host's print sink. */
export const BUILTIN_PRINT = "rvbox_print";

/** Import and export names: an identifier with dots. */
export const SYMBOL_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.]{0,254}$/;

/** Default `tierUp`: gas a program spends on the interpreter before `tier: "auto"` translates it. */
export const DEFAULT_TIER_UP = 1_000_000;
