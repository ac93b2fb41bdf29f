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
let base = 0;
/** The windows when the views were made. */
let bound: readonly number[] = [];
/**
 * The fast read window as views of each access size, each with the guest
 * address of its element 0: a load indexes them with (address - start) /
 * size, which is not an element (the load gives undefined) exactly where the
 * fast path does not apply: outside the window, or unaligned. 16- and 32-bit
 * views only on little-endian hosts (else empty: every access takes the exact path).
 */
let r8 = new Int8Array(0);
let r8u = new Uint8Array(0);
let r8s = 0;
let r16 = new Int16Array(0);
let r16u = new Uint16Array(0);
let r16s = 0;
let r32 = new Int32Array(0);
let r32s = 0;
/** The same for the fast write window: a store first loads, to check. */
let w8 = new Uint8Array(0);
let w8s = 0;
let w16 = new Int16Array(0);
let w16s = 0;
let w32 = new Int32Array(0);
let w32s = 0;

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
  const { bytes, readStart, readEnd, writeStart, writeEnd } = memory;
  const windows = [readStart, readEnd, writeStart, writeEnd];
  if (bytes === u8 && windows.every((w, i) => w === bound[i])) return;
  [u8, dv, base, bound] = [bytes, memory.view, memory.base, windows];
  const wide = LITTLE_ENDIAN ? 1 : 0;
  [r8, r8s] = view(Int8Array, readStart, readEnd);
  [r8u] = view(Uint8Array, readStart, readEnd);
  [r16, r16s] = view(Int16Array, readStart, readStart + (readEnd - readStart) * wide);
  [r16u] = view(Uint16Array, readStart, readStart + (readEnd - readStart) * wide);
  [r32, r32s] = view(Int32Array, readStart, readStart + (readEnd - readStart) * wide);
  [w8, w8s] = view(Uint8Array, writeStart, writeEnd);
  [w16, w16s] = view(Int16Array, writeStart, writeStart + (writeEnd - writeStart) * wide);
  [w32, w32s] = view(Int32Array, writeStart, writeStart + (writeEnd - writeStart) * wide);
}

/**
 * A view of the bytes of guest addresses `[start, end)`, its first element
 * aligned in the buffer, and the guest address of that element.
 */
function view<T>(
  of: {
    new(buffer: ArrayBufferLike, offset: number, length: number): T;
    BYTES_PER_ELEMENT: number;
  },
  start: number,
  end: number,
): [T, number] {
  const size = of.BYTES_PER_ELEMENT;
  const offset = u8.byteOffset + Math.max(0, start - base);
  const first = Math.ceil(offset / size) * size;
  const length = Math.max(0, Math.floor((u8.byteOffset + end - base - first) / size));
  return [new of(u8.buffer, first, length), start + first - offset];
}

/** Each access: size, whether a write, and how it moves register `d` from or to offset `o`. */
const ACCESS: Record<number, [number, boolean, (o: number, d: Box) => void]> = {
  [Op.LB]: [1, false, (o, d) => d.v = dv.getInt8(o)],
  [Op.LBU]: [1, false, (o, d) => d.v = dv.getUint8(o)],
  [Op.LH]: [2, false, (o, d) => d.v = dv.getInt16(o, true)],
  [Op.LHU]: [2, false, (o, d) => d.v = dv.getUint16(o, true)],
  [Op.LW]: [4, false, (o, d) => d.v = dv.getInt32(o, true)],
  [Op.SB]: [1, true, (o, d) => dv.setInt8(o, d.v)],
  [Op.SH]: [2, true, (o, d) => dv.setInt16(o, d.v, true)],
  [Op.SW]: [4, true, (o, d) => dv.setInt32(o, d.v, true)],
};

/**
 * False when `size` bytes at `address` are accessible, else true after
 * ending the run with a MemoryFault at entry `at`.
 */
function inaccessible(at: number, address: number, size: number, write: boolean): boolean {
  if (mem.accessible(address, size, write)) return false;
  onFault(at, address, write ? "write" : "read");
  return true;
}

/**
 * A load or store of register `d` (the value for stores) at `a` + `imm`
 * with the exact check (abi/memory.ts), k the entry (for a fault): the
 * slow path of `memoryStep`.
 */
function exactStep(op: number, d: Box, a: Box, imm: number, k: number, then: Step): Step {
  const [size, write, access] = ACCESS[op];
  return () => {
    const x = (a.v + imm) >>> 0;
    if (inaccessible(k, x, size, write)) return null;
    access(x - base, d);
    return then();
  };
}

/**
 * A load or store of register `d` (the value for stores) at `a` + `imm`,
 * k the entry (for a fault): through the window's views, else exactly.
 */
export function memoryStep(op: number, d: Box, a: Box, imm: number, k: number, then: Step): Step {
  const slow = exactStep(op, d, a, imm, k, then);
  switch (op) {
    case Op.LW:
      return () => {
        const v = r32[(a.v + imm - r32s) / 4];
        return v === undefined ? slow() : (d.v = v, then());
      };
    case Op.LH:
      return () => {
        const v = r16[(a.v + imm - r16s) / 2];
        return v === undefined ? slow() : (d.v = v, then());
      };
    case Op.LHU:
      return () => {
        const v = r16u[(a.v + imm - r16s) / 2];
        return v === undefined ? slow() : (d.v = v, then());
      };
    case Op.LB:
      return () => {
        const v = r8[a.v + imm - r8s];
        return v === undefined ? slow() : (d.v = v, then());
      };
    case Op.LBU:
      return () => {
        const v = r8u[a.v + imm - r8s];
        return v === undefined ? slow() : (d.v = v, then());
      };
    case Op.SW:
      return () => {
        const i = (a.v + imm - w32s) / 4;
        return w32[i] === undefined ? slow() : (w32[i] = d.v, then());
      };
    case Op.SH:
      return () => {
        const i = (a.v + imm - w16s) / 2;
        return w16[i] === undefined ? slow() : (w16[i] = d.v, then());
      };
    default: // SB
      return () => {
        const i = a.v + imm - w8s;
        return w8[i] === undefined ? slow() : (w8[i] = d.v, then());
      };
  }
}

/** LR.W and SC.W (with the running instance's reservation) and the AMOs: rd = `d`, address `a`, operand `b`. */
export function atomicStep(op: number, d: Box, a: Box, b: Box, k: number, then: Step): Step {
  if (op === Op.LR_W) {
    return () => {
      const x = a.v >>> 0;
      if (inaccessible(k, x, 4, false)) return null;
      d.v = dv.getInt32(x - base, true);
      owner.reservation = x;
      return then();
    };
  }
  if (op === Op.SC_W) {
    return () => {
      const x = a.v >>> 0;
      if (inaccessible(k, x, 4, true)) return null;
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
    if (inaccessible(k, x, 4, true)) return null;
    const old = dv.getInt32(x - base, true);
    dv.setInt32(x - base, amo(op, old, b.v), true);
    d.v = old;
    return then();
  };
}

/**
 * Two to four word loads (or stores) through base register `a`, of
 * registers `regs` at offsets `imms` (congruent mod 4; no load but the last
 * writes `a`), in order, through the views after one check of the whole
 * range; `slow` performs them one at a time where it fails.
 */
export function memoryRun(
  store: boolean,
  regs: readonly Box[],
  a: Box,
  imms: readonly number[],
  then: Step,
  slow: Step,
): Step {
  const lo = Math.min(...imms), top = (Math.max(...imms) - lo) / 4;
  const [r1, r2, r3, r4] = regs;
  const [j1, j2, j3, j4] = imms.map((imm) => (imm - lo) / 4);
  if (store) {
    switch (regs.length) {
      case 2:
        return () => {
          const i = (a.v + lo - w32s) / 4;
          if (w32[i] === undefined || w32[i + top] === undefined) return slow();
          return (w32[i + j1] = r1.v), (w32[i + j2] = r2.v), then();
        };
      case 3:
        return () => {
          const i = (a.v + lo - w32s) / 4;
          if (w32[i] === undefined || w32[i + top] === undefined) return slow();
          return (w32[i + j1] = r1.v), (w32[i + j2] = r2.v), (w32[i + j3] = r3.v), then();
        };
      default:
        return () => {
          const i = (a.v + lo - w32s) / 4;
          if (w32[i] === undefined || w32[i + top] === undefined) return slow();
          w32[i + j1] = r1.v;
          w32[i + j2] = r2.v;
          return (w32[i + j3] = r3.v), (w32[i + j4] = r4.v), then();
        };
    }
  }
  switch (regs.length) {
    case 2:
      return () => {
        const i = (a.v + lo - r32s) / 4;
        if (r32[i] === undefined || r32[i + top] === undefined) return slow();
        return (r1.v = r32[i + j1]), (r2.v = r32[i + j2]), then();
      };
    case 3:
      return () => {
        const i = (a.v + lo - r32s) / 4;
        if (r32[i] === undefined || r32[i + top] === undefined) return slow();
        return (r1.v = r32[i + j1]), (r2.v = r32[i + j2]), (r3.v = r32[i + j3]), then();
      };
    default:
      return () => {
        const i = (a.v + lo - r32s) / 4;
        if (r32[i] === undefined || r32[i + top] === undefined) return slow();
        r1.v = r32[i + j1];
        r2.v = r32[i + j2];
        return (r3.v = r32[i + j3]), (r4.v = r32[i + j4]), then();
      };
  }
}

/** A linear op (see _step_fuse.ts): `[form, d, p, q, imm]` is `d = p + imm` (I) or `d = p + q` (R). */
type Linear = readonly [form: string, d: Box, p: Box, q: Box, imm: number];

/** The access of `memoryThen` and `thenMemory`: op, register, base and offset. */
type Access = readonly [op: number, d: Box, a: Box, imm: number];

/**
 * An LW, LBU, SW or SB (`access`) and then the linear op `l` (ADDI, MV or
 * ADD) in one step, through the views; `slow` performs them one at a time.
 */
export function memoryThen([op, d, a, imm]: Access, l: Linear, then: Step, slow: Step): Step {
  const [, e, p, q, j] = l;
  switch (op + l[0]) {
    case Op.LW + "I":
      return () => {
        const v = r32[(a.v + imm - r32s) / 4];
        return v === undefined ? slow() : ((d.v = v), (e.v = (p.v + j) | 0), then());
      };
    case Op.LW + "R":
      return () => {
        const v = r32[(a.v + imm - r32s) / 4];
        return v === undefined ? slow() : ((d.v = v), (e.v = (p.v + q.v) | 0), then());
      };
    case Op.LBU + "I":
      return () => {
        const v = r8u[a.v + imm - r8s];
        return v === undefined ? slow() : ((d.v = v), (e.v = (p.v + j) | 0), then());
      };
    case Op.LBU + "R":
      return () => {
        const v = r8u[a.v + imm - r8s];
        return v === undefined ? slow() : ((d.v = v), (e.v = (p.v + q.v) | 0), then());
      };
    case Op.SW + "I":
      return () => {
        const i = (a.v + imm - w32s) / 4;
        return w32[i] === undefined ? slow() : ((w32[i] = d.v), (e.v = (p.v + j) | 0), then());
      };
    case Op.SW + "R":
      return () => {
        const i = (a.v + imm - w32s) / 4;
        return w32[i] === undefined ? slow() : ((w32[i] = d.v), (e.v = (p.v + q.v) | 0), then());
      };
    case Op.SB + "I":
      return () => {
        const i = a.v + imm - w8s;
        return w8[i] === undefined ? slow() : ((w8[i] = d.v), (e.v = (p.v + j) | 0), then());
      };
    default: // SB, R
      return () => {
        const i = a.v + imm - w8s;
        return w8[i] === undefined ? slow() : ((w8[i] = d.v), (e.v = (p.v + q.v) | 0), then());
      };
  }
}

/**
 * The linear op `l` and then an LW, LBU, SW or SB (`access`) in one step,
 * through the views; where the access misses them, `rest` performs it.
 */
export function thenMemory(l: Linear, [op, d, a, imm]: Access, then: Step, rest: Step): Step {
  const [, e, p, q, j] = l;
  switch (op + l[0]) {
    case Op.LW + "I":
      return () => {
        e.v = (p.v + j) | 0;
        const v = r32[(a.v + imm - r32s) / 4];
        return v === undefined ? rest() : ((d.v = v), then());
      };
    case Op.LW + "R":
      return () => {
        e.v = (p.v + q.v) | 0;
        const v = r32[(a.v + imm - r32s) / 4];
        return v === undefined ? rest() : ((d.v = v), then());
      };
    case Op.LBU + "I":
      return () => {
        e.v = (p.v + j) | 0;
        const v = r8u[a.v + imm - r8s];
        return v === undefined ? rest() : ((d.v = v), then());
      };
    case Op.LBU + "R":
      return () => {
        e.v = (p.v + q.v) | 0;
        const v = r8u[a.v + imm - r8s];
        return v === undefined ? rest() : ((d.v = v), then());
      };
    case Op.SW + "I":
      return () => {
        e.v = (p.v + j) | 0;
        const i = (a.v + imm - w32s) / 4;
        return w32[i] === undefined ? rest() : ((w32[i] = d.v), then());
      };
    case Op.SW + "R":
      return () => {
        e.v = (p.v + q.v) | 0;
        const i = (a.v + imm - w32s) / 4;
        return w32[i] === undefined ? rest() : ((w32[i] = d.v), then());
      };
    case Op.SB + "I":
      return () => {
        e.v = (p.v + j) | 0;
        const i = a.v + imm - w8s;
        return w8[i] === undefined ? rest() : ((w8[i] = d.v), then());
      };
    default: // SB, R
      return () => {
        e.v = (p.v + q.v) | 0;
        const i = a.v + imm - w8s;
        return w8[i] === undefined ? rest() : ((w8[i] = d.v), then());
      };
  }
}
