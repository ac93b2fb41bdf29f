/**
 * The typed errors of the public API, shaped like WebAssembly's
 * `CompileError`, `LinkError` and `RuntimeError`.
 * @module
 */

/**
 * The bytes are not a program rvbox can load (malformed, hostile or over a
 * limit). Thrown by {@linkcode Program.fromBytes}.
 *
 * @example
 * ```ts
 * import { Program, ProgramError } from "@rvbox/rvbox";
 * try {
 *   Program.fromBytes(new Uint8Array([0x7f, 0x45]));
 * } catch (e) {
 *   if (e instanceof ProgramError) console.log(e.message);
 * }
 * ```
 */
export class ProgramError extends Error {
  /** Creates a ProgramError. */
  constructor(message: string) {
    super(message);
    this.name = "ProgramError";
  }
}

/**
 * Instantiation failed because imports do not match the program: a required
 * host function is missing, or a supplied one is not a function.
 *
 * @example
 * ```ts
 * import { LinkError } from "@rvbox/rvbox";
 * const e = new LinkError(["host_log"]);
 * console.log(e.missing); // ["host_log"]
 * ```
 */
export class LinkError extends Error {
  /** Names of the imports the program needs and the host did not supply. */
  readonly missing: readonly string[];
  /** Creates a LinkError for the given missing import names. */
  constructor(missing: readonly string[], message?: string) {
    super(message ?? `missing host functions: ${missing.join(", ")}`);
    this.name = "LinkError";
    this.missing = missing;
  }
}

/** The kinds of {@linkcode Trap}; see abi/README.md §4. */
export type TrapKind =
  | "InvalidInstruction"
  | "MemoryFault"
  | "InvalidJump"
  | "OutOfGas"
  | "Breakpoint"
  | "HostError";

/** Details of a trap, as a tier reports it. */
export interface TrapInit {
  /** What went wrong. */
  kind: TrapKind;
  /** Guest pc of the instruction that trapped. */
  pc: number;
  /** The 32 registers before the trapping instruction (x0..x31, unsigned). */
  registers: Uint32Array;
  /** Faulting address (MemoryFault) or jump target (InvalidJump). */
  address?: number;
  /** Whether a MemoryFault was a read or a write. */
  access?: "read" | "write";
  /** What the host function threw (HostError). */
  cause?: unknown;
}

function hex(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

function describeTrap(init: TrapInit): string {
  const at = `at pc ${hex(init.pc)}`;
  switch (init.kind) {
    case "MemoryFault":
      return `memory fault: ${init.access} of ${hex(init.address ?? 0)} ${at}`;
    case "InvalidJump":
      return `invalid jump to ${hex(init.address ?? 0)} ${at}`;
    case "InvalidInstruction":
      return `invalid instruction ${at}`;
    case "OutOfGas":
      return `out of gas ${at}`;
    case "Breakpoint":
      return `breakpoint ${at}`;
    case "HostError": {
      const cause = init.cause instanceof Error ? init.cause.message : String(init.cause);
      return `host function failed ${at}: ${cause}`;
    }
  }
}

/**
 * The guest stopped abnormally. Carries the kind, the guest pc and a snapshot
 * of the registers. After `OutOfGas` and `Breakpoint` the call can be resumed
 * with {@linkcode Instance.resume}.
 *
 * @example
 * ```ts
 * import { Trap } from "@rvbox/rvbox";
 * const trap = new Trap({ kind: "OutOfGas", pc: 0x10000, registers: new Uint32Array(32) });
 * console.log(trap.kind, trap.resumable); // OutOfGas true
 * ```
 */
export class Trap extends Error {
  /** What went wrong. */
  readonly kind: TrapKind;
  /** Guest pc of the trapping instruction. */
  readonly pc: number;
  /** x0..x31 before the trapping instruction, as unsigned numbers. */
  readonly registers: Uint32Array;
  /** Faulting address (MemoryFault) or jump target (InvalidJump). */
  readonly address?: number;
  /** Read or write, for MemoryFault. */
  readonly access?: "read" | "write";

  /** Creates a Trap. */
  constructor(init: TrapInit) {
    super(describeTrap(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "Trap";
    this.kind = init.kind;
    this.pc = init.pc >>> 0;
    this.registers = init.registers;
    if (init.address !== undefined) this.address = init.address >>> 0;
    if (init.access !== undefined) this.access = init.access;
  }

  /** Whether {@linkcode Instance.resume} can continue the call. */
  get resumable(): boolean {
    return this.kind === "OutOfGas" || this.kind === "Breakpoint";
  }
}
