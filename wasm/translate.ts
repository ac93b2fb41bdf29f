/**
 * The wasm tier's translator: one pass over the decoded program, emitting
 * one WebAssembly function for the whole program. Its control flow is a
 * dispatch loop over the basic blocks: a `loop` around one `block` per
 * block leader, entered through a `br_table` on the dispatch index; a block
 * falls through into the next, and a jump sets the index and branches back
 * to the loop. Indirect jumps look their target up in a table in memory
 * (wasm/_layout.ts).
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import { FALLS_THROUGH, lower } from "../jit/_lower.ts";
import { assembleModule, ByteWriter, I32, I64 } from "./_binary.ts";
import { findLoops } from "./_control.ts";
import { I32_LOCALS, LOADED_FIELDS, Local, WasmLowering } from "./_emit.ts";
import { Field, guestOffset, MID_BLOCK, STATE_BYTES, WASM_PAGE, WasmExit } from "./_layout.ts";

/**
 * Most blocks one function may have: V8 accepts a `br_table` of at most
 * 65520 targets. Larger programs need several functions (not done yet).
 */
export const MAX_BLOCKS = 65519;

/** The function body's buffer, reused (a new one per translation cost more than emitting it). */
const bodyWriter = new ByteWriter(1 << 16);

/** A program the wasm tier cannot translate or compile (too large for one function). */
export class WasmLimitError extends RangeError {
  override name = "RangeError";
}

/** A translated program, shared by its instances. */
export interface WasmProgram {
  /** The compiled module: imports `env.memory` and `env.accessible`, exports `run`. */
  readonly module: WebAssembly.Module;
  /** Dispatch index of each instruction that starts a block, -1 elsewhere. */
  readonly dispatchOf: Int32Array;
  /** Where the guest span starts in memory. */
  readonly guestOffset: number;
  /** Bytes of the module (for measurements). */
  readonly size: number;
}

/** Memory pages an instance of `program` needs for a guest span of `span` bytes. */
export function memoryPages(program: WasmProgram, span: number): number {
  return Math.ceil((program.guestOffset + span) / WASM_PAGE);
}

/**
 * Translates `code` to a module.
 * @throws {WasmLimitError} when the program is too large for one function.
 */
export function translateWasm(code: DecodedCode): WasmProgram {
  const { count, leader, segmentEnd, pc } = code;
  const op = code.op;
  const entryCost = code.entryCost;
  const codeBytes = code.end - code.start;
  const dispatchOf = new Int32Array(count);
  let blocks = 0;
  for (let i = 0; i < count; i++) dispatchOf[i] = leader[i] ? blocks++ : -1;
  if (blocks > MAX_BLOCKS) {
    throw new WasmLimitError(`${blocks} blocks, over the wasm tier's ${MAX_BLOCKS}`);
  }
  const table = jumpTable(code, dispatchOf);
  const w = bodyWriter;
  w.length = 0;
  const b = new WasmLowering(w, dispatchOf, blocks, findLoops(code, dispatchOf, blocks));
  b.codeStart = code.start;
  b.codeBytes = codeBytes;
  w.u8(2); // local declarations: the i32 ones, then gas
  w.uleb(I32_LOCALS);
  w.u8(I32);
  w.u8x2(1, I64);
  prologue(b);
  b.begin();
  for (let i = 0; i < count; i++) {
    if (leader[i]) {
      b.enter(dispatchOf[i]);
      b.charge(entryCost[i], pc[i]);
    }
    b.next = i + 1 < count ? i + 1 : -1;
    lower(code, i, b);
    if (segmentEnd[i] && FALLS_THROUGH[op[i]]) {
      b.exit(WasmExit.INVALID_JUMP, pc[i], (pc[i] + code.size[i]) >>> 0);
    }
  }
  b.finish();
  b.close(); // $exit
  epilogue(b);
  w.u8(0x0b);
  const bytes = assembleModule({
    types: [{ params: [I32], results: [I32] }, { params: [I32, I32, I32], results: [I32] }],
    imports: [{ name: "accessible", type: 1 }],
    memoryPages: 1,
    func: { type: 0, name: "run", body: w.view() },
    data: { offset: STATE_BYTES, bytes: new Uint8Array(table.buffer) },
  });
  let module;
  try {
    module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    // The engine's limits (function size, nesting) are not known here: a valid module it refuses.
    throw new WasmLimitError(
      `the wasm tier cannot compile this program: ${(error as Error).message}`,
    );
  }
  return {
    module,
    dispatchOf,
    guestOffset: guestOffset(table.byteLength),
    size: bytes.length,
  };
}

/**
 * The indirect-jump table, two-level like the code's slot index (abi/code.ts)
 * so that its size follows the code, not the span between code segments:
 * per chunk of code address space, the memory address of its row of slots
 * (0: no code there); per 2-byte slot of a row, the dispatch index + 1 of
 * the block starting there, {@linkcode MID_BLOCK} for another instruction
 * start, 0 for none.
 */
function jumpTable(code: DecodedCode, dispatchOf: Int32Array): Int32Array {
  const { chunks, slots } = code;
  const table = new Int32Array(chunks.length + slots.length);
  const rows = STATE_BYTES + 4 * chunks.length;
  for (let c = 0; c < chunks.length; c++) table[c] = chunks[c] < 0 ? 0 : rows + 4 * chunks[c];
  for (let s = 0; s < slots.length; s++) {
    const i = slots[s];
    table[chunks.length + s] = i < 0 ? 0 : dispatchOf[i] >= 0 ? dispatchOf[i] + 1 : MID_BLOCK;
  }
  return table;
}

/** Loads the registers, gas and the fields the code reads from the state block. */
function prologue(b: WasmLowering): void {
  const w = b.w;
  for (let r = 1; r < 32; r++) {
    w.u8x2(0x41, 0); // i32.const 0
    w.u8x2(0x28, 2); // i32.load align 4
    w.uleb(Field.REGS + 4 * r);
    b.set(r);
  }
  w.u8x2(0x41, 0);
  w.u8x2(0x29, 3); // i64.load align 8
  w.uleb(Field.GAS);
  b.set(Local.GAS);
  for (const [local, field] of LOADED_FIELDS) {
    w.u8x2(0x41, 0);
    w.u8x2(0x28, 2);
    w.uleb(field);
    b.set(local);
  }
}

/** Stores the registers, gas, reservation and exit details; returns the reason. */
function epilogue(b: WasmLowering): void {
  const w = b.w;
  const store = (local: number, field: number) => {
    w.u8x2(0x41, 0);
    b.get(local);
    w.u8x2(0x36, 2); // i32.store align 4
    w.uleb(field);
  };
  for (let r = 1; r < 32; r++) store(r, Field.REGS + 4 * r);
  store(Local.EXIT_PC, Field.EXIT_PC);
  store(Local.AUX, Field.EXIT_AUX);
  store(Local.RESERVATION, Field.RESERVATION);
  store(Local.WRITE, Field.EXIT_WRITE);
  w.u8x2(0x41, 0);
  b.get(Local.GAS);
  w.u8x2(0x37, 3); // i64.store align 8
  w.uleb(Field.GAS);
  b.get(Local.REASON);
}
