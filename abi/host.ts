/**
 * The host side of host calls (abi/README.md §5): what a host function sees,
 * the built-in services, import linking, and the one routine every tier calls
 * to perform a host call.
 * @module
 */
import { BUILTIN_EXIT, BUILTIN_PRINT, BUILTIN_SBRK } from "./constants.ts";
import { LinkError } from "./errors.ts";
import type { GuestMemory } from "./memory.ts";

/**
 * Bounds-checked access to one instance's guest memory. Every method throws a
 * `RangeError` when the range is not accessible (writes need writable memory).
 *
 * @example
 * ```ts
 * import type { Memory } from "@rvbox/rvbox";
 * function greet(memory: Memory, ptr: number, len: number): string {
 *   return memory.readString(ptr, len);
 * }
 * ```
 */
export interface Memory {
  /** Copies `length` bytes out of guest memory. */
  read(address: number, length: number): Uint8Array;
  /** Copies `data` into guest memory. */
  write(address: number, data: Uint8Array): void;
  /** Reads an unsigned byte. */
  readU8(address: number): number;
  /** Reads an unsigned little-endian 32-bit word. */
  readU32(address: number): number;
  /** Reads a signed little-endian 32-bit word. */
  readI32(address: number): number;
  /** Writes a byte. */
  writeU8(address: number, value: number): void;
  /** Writes a little-endian 32-bit word. */
  writeU32(address: number, value: number): void;
  /** Decodes UTF-8: `length` bytes, or up to a NUL when `length` is omitted. */
  readString(address: number, length?: number): string;
  /** Encodes UTF-8 text at `address` (no NUL added); returns the byte count. */
  writeString(address: number, text: string): number;
  /** Current end of the heap (`rvbox_sbrk` moves it). */
  readonly brk: number;
}

/**
 * What a host function receives as its first argument.
 *
 * @example
 * ```ts
 * import type { HostContext } from "@rvbox/rvbox";
 * function chargeAndEcho(ctx: HostContext, value: number): number {
 *   if (ctx.gas < 100) throw new Error("out of gas"); // ends the call with a HostError trap
 *   ctx.gas -= 100; // host work costs extra gas
 *   return value;
 * }
 * ```
 */
export interface HostContext {
  /** The calling instance's memory. */
  readonly memory: Memory;
  /**
   * Remaining gas; a host function may lower (or raise) it to a non-negative
   * safe integer. Anything else throws a `RangeError`, which ends the call
   * with a `HostError` trap.
   */
  gas: number;
  /** Reads register `index` (0-31) as an unsigned number. */
  getRegister(index: number): number;
  /** Writes register `index` (1-31; writes to x0 are ignored). */
  setRegister(index: number, value: number): void;
}

/**
 * A host function. Arguments are a0-a5 as unsigned 32-bit numbers. Return a
 * number (written to a0), a bigint (a1:a0) or nothing (registers unchanged).
 */
export type HostFunction = (
  ctx: HostContext,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  a5: number,
) => number | bigint | void;

/** Host functions by import name, supplied at instantiation. */
export type Imports = Record<string, HostFunction>;

/** Per-instance state the built-ins and the host-call routine work on. */
export interface HostState {
  /** x0..x31 plus the x0 write sink at index 32. */
  readonly regs: Int32Array;
  /** The instance's memory. */
  readonly memory: GuestMemory;
  /** Remaining gas, synchronized by the tier around host calls. */
  gas: number;
  /** Set by `rvbox_exit`. */
  exitCode: number | undefined;
  /** The context handed to host functions. */
  readonly context: HostContext;
  /** Sink for `rvbox_print`. */
  readonly print: (bytes: Uint8Array) => void;
}

/** Why a host call stopped the guest; `undefined` means continue. */
export type HostOutcome = undefined | "exit" | { error: unknown; };

type Builtin = (state: HostState) => void;

const A0 = 10;

/** The built-in services, by reserved import name. */
const BUILTINS: ReadonlyMap<string, Builtin> = new Map<string, Builtin>([
  [BUILTIN_EXIT, (s) => {
    s.exitCode = s.regs[A0];
  }],
  [BUILTIN_SBRK, (s) => {
    s.regs[A0] = s.memory.sbrk(s.regs[A0]);
  }],
  [BUILTIN_PRINT, (s) => {
    s.print(s.memory.read(s.regs[A0] >>> 0, s.regs[A0 + 1] >>> 0));
    s.regs[A0] = 0;
  }],
]);

/**
 * A resolved import: a built-in or a host function. One shape for both, so
 * that the host-call routine reads it without a type dispatch.
 */
export interface ResolvedImport {
  /** The built-in service, or undefined for a host function. */
  readonly builtin: Builtin | undefined;
  /** The host function, or undefined for a built-in. */
  readonly host: HostFunction | undefined;
}

/**
 * Resolves the program's imports against the host's. Fails with one
 * `LinkError` naming every missing import.
 */
export function linkImports(names: readonly string[], imports: Imports): ResolvedImport[] {
  const missing: string[] = [];
  const resolved: ResolvedImport[] = [];
  for (const name of names) {
    const builtin = BUILTINS.get(name);
    if (builtin) {
      if (Object.hasOwn(imports, name)) {
        throw new LinkError([], `${name} is a built-in service and cannot be supplied by the host`);
      }
      resolved.push({ builtin, host: undefined });
      continue;
    }
    const fn = Object.hasOwn(imports, name) ? imports[name] : undefined;
    if (typeof fn === "function") resolved.push({ builtin: undefined, host: fn });
    else if (fn === undefined) missing.push(name);
    else throw new LinkError([], `import ${name} must be a function, got ${typeof fn}`);
  }
  if (missing.length > 0) throw new LinkError(missing);
  return resolved;
}

/** Stores a host function's result other than a finite number (see `callImport`). */
function storeOther(regs: Int32Array, result: unknown): void {
  if (result === undefined) return;
  if (typeof result === "bigint") {
    regs[A0] = Number(BigInt.asIntN(32, result));
    regs[A0 + 1] = Number(BigInt.asIntN(32, result >> 32n));
  } else if (typeof result === "number") {
    throw new TypeError(`host function returned ${result}`);
  } else {
    throw new TypeError(`host function returned a ${typeof result}, not a number or bigint`);
  }
}

/**
 * Performs host call `imp` with the guest state in `state` (§5). Tiers call
 * this for every ECALL; gas must be synchronized into `state` before, and
 * `exitCode` be undefined.
 */
export function callImport(state: HostState, imp: ResolvedImport): HostOutcome {
  const regs = state.regs;
  const host = imp.host;
  try {
    if (host === undefined) imp.builtin!(state);
    else {
      const result = host(
        state.context,
        regs[A0] >>> 0,
        regs[A0 + 1] >>> 0,
        regs[A0 + 2] >>> 0,
        regs[A0 + 3] >>> 0,
        regs[A0 + 4] >>> 0,
        regs[A0 + 5] >>> 0,
      );
      // `v - v` is 0 exactly for finite numbers: the common result, stored inline.
      if (typeof result === "number" && result - result === 0) regs[A0] = result;
      else storeOther(regs, result);
    }
  } catch (error) {
    return { error };
  }
  return state.exitCode === undefined ? undefined : "exit";
}
