/**
 * The wasm tier's translator: one pass over the decoded program, emitting
 * one WebAssembly function per region (wasm/_regions.ts: a guest function,
 * or several small ones) and a driver, the exported `run(dispatch)`, which
 * calls the function of the dispatch index's region until one returns an
 * exit. Within a region, loops and forward branches are structured control
 * flow, and the rest dispatches on block indexes (wasm/_control.ts); a call
 * to another region is a call of its function (wasm/_jumps.ts). Indirect
 * jumps look their target up in a table in memory (wasm/_layout.ts).
 *
 * Measured on the benchmark workloads (CPU time, medians) against the one
 * function with a dispatch loop over every block that came before: 1.7-1.9x
 * faster at steady speed, 2.3x after the benchmark's one warm-up run (V8
 * took seconds to optimize the one large function). Structured control flow
 * in that one function was only 1.06x faster than its dispatch loop (loops
 * stopped going through the dispatch, but returns into loops dispatched
 * twice: cpu6502 1.6x and fib 1.4x slower); in the functions of regions it
 * is 1.47x faster than dispatching every jump (cpu6502 alone 1.17x slower).
 * Small functions did the rest: V8 allocates their registers far better and
 * compiles them far faster (its compilers take time superlinear in a
 * function's size).
 * @module
 */
import { CHUNK_SLOTS, type DecodedCode } from "../abi/code.ts";
import { Op } from "../abi/isa.ts";
import { FALLS_THROUGH, lower } from "../jit/_lower.ts";
import { assembleModule, ByteWriter, I32 } from "./_binary.ts";
import { Local } from "./_control.ts";
import { dirtyAtHostCalls } from "./_dirty.ts";
import { FIELDS_OF, WasmLowering } from "./_emit.ts";
import {
  FIRST_REGION,
  guestOffset,
  MID_BLOCK,
  STATE_BYTES,
  WASM_PAGE,
  WasmExit,
} from "./_layout.ts";
import { BodyWriter } from "./_locals.ts";
import { findRegions, MAX_REGIONS, REGION_SHIFT } from "./_regions.ts";

const END = 0x0b, UNREACHABLE = 0x00;

/** The function body's buffer, reused (a new one per translation cost more than emitting it). */
const bodyWriter = new BodyWriter(3, Local.GAS + 1, Local.GAS, 1 << 16);

/** A program the wasm tier cannot translate or compile (the engine refused the module). */
export class WasmLimitError extends RangeError {
  override name = "RangeError";
}

/** A program translated to a module's bytes, not compiled yet. */
export interface WasmTranslation {
  /** The module: imports `env.memory` and `env.host`, exports `run` (reused: copy to keep). */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Dispatch index of each instruction that starts a block, -1 elsewhere. */
  readonly dispatchOf: Int32Array;
  /** Where the guest span starts in memory. */
  readonly guestOffset: number;
}

/** A translated program, shared by its instances. */
export interface WasmProgram extends Omit<WasmTranslation, "bytes"> {
  /** The compiled module. */
  readonly module: WebAssembly.Module;
  /** Bytes of the module (for measurements). */
  readonly size: number;
}

/** Memory pages an instance of `program` needs for a guest span of `span` bytes. */
export function memoryPages(program: WasmProgram, span: number): number {
  return Math.ceil((program.guestOffset + span) / WASM_PAGE);
}

/**
 * Translates `code` to a module's bytes.
 * @throws {WasmLimitError} when the program is too large for the wasm tier.
 */
export function emitWasm(code: DecodedCode): WasmTranslation {
  const { count, leader, segmentEnd, pc } = code;
  const { op, rd, rs1, rs2, hostcall } = code;
  const entryCost = code.entryCost;
  const blockOf = new Int32Array(count);
  let blocks = 0;
  for (let i = 0; i < count; i++) blockOf[i] = leader[i] ? blocks++ : -1;
  const regions = findRegions(code, blockOf, blocks);
  const { starts, dispatchable } = regions;
  const functions = starts.length - 1;
  if (functions > MAX_REGIONS) {
    throw new WasmLimitError(`${functions} regions, over the wasm tier's ${MAX_REGIONS}`);
  }
  const dispatchOf = new Int32Array(count);
  const firstOf = new Int32Array(functions + 1); // first instruction of each region
  firstOf[functions] = count;
  for (let i = 0, r = -1; i < count; i++) {
    const block = blockOf[i];
    if (block < 0) dispatchOf[i] = -1;
    else {
      if (block === starts[r + 1]) firstOf[++r] = i;
      // A block inside a closed loop runs on the interpreter when entered from outside.
      dispatchOf[i] = dispatchable[block] === 0 ? -1 : (r << REGION_SHIFT) + block - starts[r];
    }
  }
  const table = jumpTable(code, dispatchOf);
  const w = bodyWriter;
  w.length = 0;
  const b = new WasmLowering(w, blockOf, regions);
  b.code = code;
  b.codeStart = code.start;
  b.codeBytes = code.end - code.start;
  b.flatTable = table.length === (b.codeBytes + 1) >>> 1;
  const ends = new Int32Array(functions + 1); // the regions', then the driver's
  for (let r = 0; r < functions; r++) {
    const to = firstOf[r + 1];
    let used = 0, written = 0, fields = 0; // masks of registers and state fields
    for (let i = firstOf[r]; i < to; i++) {
      written |= 1 << rd[i];
      used |= 1 << rs1[i] | 1 << rs2[i];
      fields |= FIELDS_OF[op[i]];
    }
    b.firstInstruction = firstOf[r];
    b.selfReturns = selfReturns(code, blockOf, starts[r], firstOf[r], to);
    b.sharedReturns = !callsItself(code, blockOf, starts[r], starts[r + 1], firstOf[r], to);
    b.dirty = dirtyAtHostCalls(code, firstOf[r], to, (i) => b.callsImportStub(i));
    b.fields = fields;
    b.written = written;
    b.used = used | written;
    const start = w.length; // the locals' declarations go here, once the body is written
    b.prologue();
    b.begin(r);
    for (let i = firstOf[r]; i < to; i++) {
      if (leader[i]) {
        b.enter(blockOf[i]);
        b.charge(entryCost[i], pc[i]);
      }
      b.instruction = i;
      b.next = i + 1 < to ? i + 1 : -1;
      b.nextInstruction = i + 1 < count ? i + 1 : -1;
      b.following = i + 1 < count && !segmentEnd[i] ? dispatchOf[i + 1] : -1;
      b.cost = entryCost[i];
      lower(code, i, b);
      // A host call made from the code goes on after its ECALL (wasm/_jumps.ts), but never
      // at a segment's end: the engine ends the call there (InvalidJump).
      const hostCall = hostcall[i] >= 0;
      if (segmentEnd[i] && hostCall) w.u8(UNREACHABLE);
      else if (segmentEnd[i] && FALLS_THROUGH[op[i]]) {
        b.exit(WasmExit.INVALID_JUMP, pc[i], (pc[i] + code.size[i]) >>> 0);
      } else if (i + 1 === to && (FALLS_THROUGH[op[i]] || hostCall)) b.goto(i + 1);
    }
    b.epilogue();
    w.u8(END);
    w.declareLocals(start);
    ends[r] = w.length;
  }
  driver(w);
  ends[functions] = w.length;

  const bytes = assembleModule({
    types: [
      { params: [I32, I32, I32], results: [I32] },
      { params: [I32], results: [I32] },
      { params: [I32, I32], results: [I32] },
      { params: [], results: [I32, I32] }, // I32_PAIR_TYPE, for blocks
    ],
    imports: [{ name: "host", type: 2 }], // HOST_IMPORT
    memoryPages: 1,
    funcTypes: Uint8Array.from({ length: functions + 1 }, (_, k) => k === functions ? 1 : 0),
    bodies: w.view(),
    ends,
    exports: [{ name: "run", func: FIRST_REGION + functions }],
    table: Int32Array.from({ length: functions }, (_, k) => FIRST_REGION + k),
    data: { offset: STATE_BYTES, bytes: new Uint8Array(table.buffer) },
  });
  return {
    bytes: bytes as Uint8Array<ArrayBuffer>,
    dispatchOf,
    guestOffset: guestOffset(table.byteLength),
  };
}

/** Most recursive call sites of one region whose returns are checked before the lookup. */
const MAX_SELF_RETURNS = 4;

/**
 * The instructions after the calls (`JAL`s that link) of the region's first block `first`
 * among its instructions [`from`, `to`), at most {@linkcode MAX_SELF_RETURNS}.
 */
function selfReturns(
  code: DecodedCode,
  blockOf: Int32Array,
  first: number,
  from: number,
  to: number,
): number[] {
  const { op, rd, target, segmentEnd } = code;
  const links: number[] = [];
  for (let i = from; i + 1 < to && links.length < MAX_SELF_RETURNS; i++) {
    if (op[i] !== Op.JAL || rd[i] === 0 || target[i] < 0 || segmentEnd[i] !== 0) continue;
    if (blockOf[target[i]] === first) links.push(i + 1);
  }
  return links;
}

/**
 * Whether the region (blocks [`first`, `last`), instructions [`from`, `to`)) calls one of
 * its own blocks (a `JAL` that links): then its returns may go on in it.
 */
function callsItself(
  code: DecodedCode,
  blockOf: Int32Array,
  first: number,
  last: number,
  from: number,
  to: number,
): boolean {
  const { op, rd, target } = code;
  for (let i = from; i < to; i++) {
    if (op[i] !== Op.JAL || rd[i] === 0 || target[i] < 0) continue;
    const b = blockOf[target[i]];
    if (b >= first && b < last) return true;
  }
  return false;
}

/**
 * The exported `run(dispatch)`: calls the function of the dispatch index's
 * region until one returns an exit (minus its reason), and returns the reason.
 */
function driver(w: ByteWriter): void {
  w.u8(0); // no locals
  w.u8x2(0x03, 0x40); // loop
  w.u8x2(0x20, 0);
  w.u8x2(0x41, 0); // depth 0
  w.u8x2(0x41, 0x7f); // no return address expected
  w.u8x2(0x20, 0);
  w.u8x2(0x41, REGION_SHIFT);
  w.u8(0x76); // i32.shr_u
  w.u8x2(0x11, 0); // call_indirect type 0
  w.u8(0); // table 0
  w.u8x2(0x22, 0); // local.tee
  w.u8x2(0x41, 0);
  w.u8(0x4e); // i32.ge_s
  w.u8x2(0x0d, 0); // br_if the loop
  w.u8(END);
  w.u8x2(0x41, 0);
  w.u8x2(0x20, 0);
  w.u8(0x6b); // i32.sub
  w.u8(END);
}

/**
 * The indirect-jump table: per 2-byte slot of the code, the dispatch index
 * + 1 of the block starting there, {@linkcode MID_BLOCK} for another
 * instruction start, 0 for none. One level (a row of slots from the first
 * code address) unless gaps between code segments would make it more than
 * twice the size of two levels like the code's slot index (abi/code.ts),
 * whose size follows the code: per chunk of code address space, the memory
 * address of its row of slots (0: no code there), then the rows.
 */
function jumpTable(code: DecodedCode, dispatchOf: Int32Array): Int32Array {
  const { chunks, slots } = code;
  const entry = (i: number) => i < 0 ? 0 : dispatchOf[i] >= 0 ? dispatchOf[i] + 1 : MID_BLOCK;
  const span = (code.end - code.start + 1) >>> 1;
  if (span <= 2 * slots.length) {
    const table = new Int32Array(span);
    for (let c = 0; c < chunks.length; c++) {
      if (chunks[c] < 0) continue;
      const first = c * CHUNK_SLOTS;
      const row = slots.subarray(chunks[c], chunks[c] + Math.min(CHUNK_SLOTS, span - first));
      for (let k = 0; k < row.length; k++) table[first + k] = entry(row[k]);
    }
    return table;
  }
  const table = new Int32Array(chunks.length + slots.length);
  const rows = STATE_BYTES + 4 * chunks.length;
  for (let c = 0; c < chunks.length; c++) table[c] = chunks[c] < 0 ? 0 : rows + 4 * chunks[c];
  for (let k = 0; k < slots.length; k++) table[chunks.length + k] = entry(slots[k]);
  return table;
}
