/**
 * The steps loop's loads, stores and atomics (steps.ts has the loop). The
 * memory of the running instance, its fast windows (as in run.ts) and the
 * fault handler are variables of this module, set by `bindMemory` when a run
 * starts or resumes: Ignition reads a module's own variable as a context slot,
 * cheaper than a named load from an object.
 * @module
 */
import { Op } from "../abi/isa.ts";
import type { GuestMemory } from "../abi/memory.ts";
import { amo } from "./_arith.ts";
import type { Box, Step } from "./_step_alu.ts";

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Ends the run with a MemoryFault at entry `at` (steps.ts). */
export type FaultHandler = (at: number, address: number, access: "read" | "write") => void;

let mem: GuestMemory;
/** The running instance's LR/SC reservation, in its engine. */
let owner: { reservation: number; };
let onFault: FaultHandler;
let u8: Uint8Array = new Uint8Array(0);
let dv: DataView = new DataView(u8.buffer);
/**
 * The bytes as words, for aligned word accesses (an indexed load costs
 * Ignition less than a DataView call); `unaligned` is 1 where the words do
 * not line up with guest addresses or the host is big-endian, so that
 * `((offset | unaligned) & 3) === 0` picks them exactly when they apply.
 */
let words: Int32Array = new Int32Array(0);
let unaligned = 1;
let base = 0;
/** The read window's start and its length less 1, 2 and 4; the same for writes. */
let rs = 0;
let rl1 = 0;
let rl2 = 0;
let rl4 = 0;
let ws = 0;
let wl1 = 0;
let wl2 = 0;
let wl4 = 0;

/**
 * Reads the memory's backing and windows of `engine` (when a run starts or
 * resumes, and after host calls); `fault` ends its run with a MemoryFault.
 */
export function bindMemory(
  engine: { readonly memory: GuestMemory; reservation: number; },
  fault: FaultHandler,
): void {
  const memory = mem = engine.memory;
  owner = engine;
  onFault = fault;
  if (memory.bytes !== u8) {
    u8 = memory.bytes;
    dv = memory.view;
    const aligned = u8.byteOffset % 4 === 0 && memory.base % 4 === 0 && LITTLE_ENDIAN;
    words = new Int32Array(u8.buffer, u8.byteOffset, u8.length >>> 2);
    unaligned = aligned ? 0 : 1;
  }
  base = memory.base;
  rs = memory.readStart;
  rl1 = memory.readEnd - rs - 1;
  rl2 = rl1 - 1;
  rl4 = rl1 - 3;
  ws = memory.writeStart;
  wl1 = memory.writeEnd - ws - 1;
  wl2 = wl1 - 1;
  wl4 = wl1 - 3;
}

/**
 * The slow path of an access outside the fast window: false when `size`
 * bytes at `address` are accessible, else true after ending the run with a
 * MemoryFault at entry `at`.
 */
function inaccessible(at: number, address: number, size: number, write: boolean): boolean {
  if (mem.accessible(address, size, write)) return false;
  onFault(at, address, write ? "write" : "read");
  return true;
}

/**
 * A load or store of register `d` (the value for stores) at `a` + `imm`, as
 * in run.ts; k is the entry (for a fault). Word accesses go through `words`
 * when aligned.
 */
export function memoryStep(op: number, d: Box, a: Box, imm: number, k: number, then: Step): Step {
  switch (op) {
    case Op.LW:
      return () => {
        const x = (a.v + imm) >>> 0;
        if ((x - rs) >>> 0 > rl4 && inaccessible(k, x, 4, false)) return null;
        const o = x - base;
        d.v = ((o | unaligned) & 3) === 0 ? words[o >>> 2] : dv.getInt32(o, true);
        return then();
      };
    case Op.SW:
      return () => {
        const x = (a.v + imm) >>> 0;
        if ((x - ws) >>> 0 > wl4 && inaccessible(k, x, 4, true)) return null;
        const o = x - base;
        if (((o | unaligned) & 3) === 0) words[o >>> 2] = d.v;
        else dv.setInt32(o, d.v, true);
        return then();
      };
    case Op.LB:
      return () => {
        const x = (a.v + imm) >>> 0;
        if ((x - rs) >>> 0 > rl1 && inaccessible(k, x, 1, false)) return null;
        d.v = (u8[x - base] << 24) >> 24;
        return then();
      };
    case Op.LBU:
      return () => {
        const x = (a.v + imm) >>> 0;
        if ((x - rs) >>> 0 > rl1 && inaccessible(k, x, 1, false)) return null;
        d.v = u8[x - base];
        return then();
      };
    case Op.SB:
      return () => {
        const x = (a.v + imm) >>> 0;
        if ((x - ws) >>> 0 > wl1 && inaccessible(k, x, 1, true)) return null;
        u8[x - base] = d.v;
        return then();
      };
    case Op.LH:
      return () => {
        const x = (a.v + imm) >>> 0;
        if ((x - rs) >>> 0 > rl2 && inaccessible(k, x, 2, false)) return null;
        d.v = dv.getInt16(x - base, true);
        return then();
      };
    case Op.LHU:
      return () => {
        const x = (a.v + imm) >>> 0;
        if ((x - rs) >>> 0 > rl2 && inaccessible(k, x, 2, false)) return null;
        d.v = dv.getUint16(x - base, true);
        return then();
      };
    default: // SH
      return () => {
        const x = (a.v + imm) >>> 0;
        if ((x - ws) >>> 0 > wl2 && inaccessible(k, x, 2, true)) return null;
        dv.setInt16(x - base, d.v, true);
        return then();
      };
  }
}

/** LR.W and SC.W (with the running instance's reservation) and the AMOs: rd = `d`, address `a`, operand `b`. */
export function atomicStep(op: number, d: Box, a: Box, b: Box, k: number, then: Step): Step {
  if (op === Op.LR_W) {
    return () => {
      const x = a.v >>> 0;
      if ((x - rs) >>> 0 > rl4 && inaccessible(k, x, 4, false)) return null;
      d.v = dv.getInt32(x - base, true);
      owner.reservation = x;
      return then();
    };
  }
  if (op === Op.SC_W) {
    return () => {
      const x = a.v >>> 0;
      if ((x - ws) >>> 0 > wl4 && inaccessible(k, x, 4, true)) return null;
      if (owner.reservation === x) {
        dv.setInt32(x - base, b.v, true);
        d.v = 0;
      } else d.v = 1;
      owner.reservation = -1;
      return then();
    };
  }
  // The AMOs: read, combine with rs2 (`amo`), write.
  return () => {
    const x = a.v >>> 0;
    if ((x - ws) >>> 0 > wl4 && inaccessible(k, x, 4, true)) return null;
    const old = dv.getInt32(x - base, true);
    dv.setInt32(x - base, amo(op, old, b.v), true);
    d.v = old;
    return then();
  };
}

/**
 * Two word loads (or stores) through the same base register `a`, of
 * registers `r1` and `r2` at offsets `imm1` and `imm2` (congruent mod 4):
 * one check for both; `slow` performs them one at a time where it fails
 * (outside the fast window, unaligned).
 */
export function memoryPair(
  store: boolean,
  r1: Box,
  r2: Box,
  a: Box,
  imm1: number,
  imm2: number,
  then: Step,
  slow: Step,
): Step {
  const lo = Math.min(imm1, imm2), span = Math.abs(imm1 - imm2);
  const [j1, j2] = [(imm1 - lo) >> 2, (imm2 - lo) >> 2];
  if (store) {
    return () => {
      const x = (a.v + lo) >>> 0;
      const o = x - base;
      if ((x - ws) >>> 0 > wl4 - span || ((o | unaligned) & 3) !== 0) return slow();
      const i = o >>> 2;
      words[i + j1] = r1.v;
      words[i + j2] = r2.v;
      return then();
    };
  }
  return () => {
    const x = (a.v + lo) >>> 0;
    const o = x - base;
    if ((x - rs) >>> 0 > rl4 - span || ((o | unaligned) & 3) !== 0) return slow();
    const i = o >>> 2;
    r1.v = words[i + j1];
    r2.v = words[i + j2];
    return then();
  };
}
