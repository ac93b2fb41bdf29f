/**
 * The code section of a blob (abi/README.md §7), read into the same
 * {@linkcode DecodedCode} that `decodeCode` and `computeBlocks`
 * (abi/code.ts) make from RISC-V bytes, while the code segments' bytes are
 * written from it.
 *
 * Two passes. The first walks the form bytes in instruction order and only
 * looks things up in a table: op, size, pc, slot index, dictionary
 * instructions whole, leaders after terminators. The second decodes the
 * operands form by form (the blob stores them grouped that way), so the
 * layout switch of each group takes the same branch throughout; mixed in
 * instruction order, its mispredicted jumps cost several times more. Only
 * raw records go through the RISC-V decoder.
 * @module
 */
import { allocateCode, finishBlocks, FLOW } from "./_blob_arrays.ts";
import { fail } from "./_blob_bytes.ts";
import {
  decodeGroup,
  decodeOne,
  DICTIONARY_FORM,
  FORM_LAYOUT,
  FORM_OP,
  FORM_RAW16,
  FORM_RAW32,
  FORM_SIZE,
  FORM_TAIL,
  type GroupOutput,
  MAX_DICTIONARY,
} from "./_blob_forms.ts";
import { CHUNK_SHIFT, type CodeSegment, type DecodedCode } from "./code.ts";
import { decodeInstruction, newDecodedInstruction } from "./decode.ts";

/** Zero bytes after the copied code section: no read runs past them. */
const SECTION_PADDING = 8;

/**
 * What the first pass knows of each form byte, STRIDE entries per byte: op,
 * size (0: a tail, or not a form), rd, rs1, rs2, imm, bits (complete for
 * dictionary entries; canonical forms get their fields in the second pass)
 * and FLOW. Forms below DICTIONARY_FORM are the same in every blob.
 */
const STRIDE = 8;
const T_OP = 0, T_SIZE = 1, T_RD = 2, T_RS1 = 3, T_RS2 = 4, T_IMM = 5, T_BITS = 6, T_FLOW = 7;

/**
 * Buffers every load reuses (loading is synchronous and nothing here
 * outlives a call): each typed array allocated costs a backing store the
 * garbage collector tracks, more than decoding a hundred instructions.
 */
const scratch = {
  table: new Int32Array(256 * STRIDE),
  /** Counting sort of the form bytes: where each form's group starts, and the next free place. */
  groupStart: new Int32Array(257),
  next: new Int32Array(256),
  /** Instruction indexes grouped by form. */
  grouped: new Int32Array(1024),
  /** Where each instruction's bytes start in the code buffer. */
  at: new Uint32Array(1024),
  /** Direct branches, for finishBlocks: `branchCount` of them. */
  branches: new Int32Array(1024),
  branchCount: 0,
  /** The code section, copied, with SECTION_PADDING zero bytes after it. */
  section: new Uint8Array(1024),
  /** The dictionary entries' decoded fields and encodings (4 bytes each). */
  entries: {
    rd: new Uint8Array(MAX_DICTIONARY),
    rs1: new Uint8Array(MAX_DICTIONARY),
    rs2: new Uint8Array(MAX_DICTIONARY),
    imm: new Int32Array(MAX_DICTIONARY),
    bytes: new DataView(new ArrayBuffer(4 * MAX_DICTIONARY)),
    at: Uint32Array.from({ length: MAX_DICTIONARY }, (_, k) => 4 * k),
  } as GroupOutput,
  entryPositions: Int32Array.from({ length: MAX_DICTIONARY }, (_, k) => k),
};

for (let f = 0; f < DICTIONARY_FORM; f++) {
  const t = f * STRIDE;
  if (f === FORM_RAW16 || f === FORM_RAW32) {
    scratch.table[t + T_SIZE] = FORM_SIZE[f]; // the op comes from decoding
  } else if (FORM_LAYOUT[f] !== 0) {
    scratch.table[t + T_OP] = FORM_OP[f];
    scratch.table[t + T_SIZE] = FORM_SIZE[f];
    scratch.table[t + T_FLOW] = FLOW[FORM_OP[f]];
  }
}

/** Scratch sizes kept between loads (larger programs get theirs for one load only). */
const KEPT_INSTRUCTIONS = 1 << 18, KEPT_SECTION = 1 << 20;

let primed = false;

/**
 * Runs every canonical layout of decodeGroup once, for both register widths,
 * before the first blob: V8 compiles the function after the first few
 * groups, and a layout it has not seen run yet would throw that code away
 * (groups come in form order, so in a fresh process it did, once per
 * layout, for milliseconds each time).
 */
function prime(): void {
  primed = true;
  for (const w of [4, 5]) {
    for (let f = 1; f < DICTIONARY_FORM; f++) {
      if (FORM_SIZE[f] === 0 || f === FORM_RAW16) continue;
      for (let v = 1; v < 64 && decodeOne(f, v, w) === undefined; v++);
    }
  }
}

/** Grows the scratch buffers for `count` instructions and a `length`-byte code section. */
function reserveScratch(count: number, length: number): void {
  if (scratch.grouped.length < count) {
    const capacity = Math.max(count, 2 * scratch.grouped.length);
    scratch.grouped = new Int32Array(capacity);
    scratch.at = new Uint32Array(capacity);
    scratch.branches = new Int32Array(capacity);
  }
  if (scratch.section.length < length + SECTION_PADDING) {
    scratch.section = new Uint8Array(
      Math.max(length + SECTION_PADDING, 2 * scratch.section.length),
    );
  }
}

const decoded = newDecodedInstruction();

/**
 * Reads a raw record of form `f` at `p` into `decoded`; returns its
 * encoding. The sweep of §1 must see the same length: 4 bytes exactly when
 * the low bits are 11.
 */
function readRaw(section: Uint8Array, p: number, f: number, rve: boolean): number {
  const lo = section[p] | section[p + 1] << 8;
  const long = f === FORM_RAW32;
  if (((lo & 3) === 3) !== long) {
    fail(`a raw ${long ? 32 : 16}-bit record holds a ${long ? 16 : 32}-bit instruction`);
  }
  const hi = long ? section[p + 2] | section[p + 3] << 8 : 0;
  decodeInstruction(lo, hi, rve, decoded);
  return lo | hi << 16;
}

/**
 * Decodes the dictionary (`count` form bytes at 1, operands at `p`) into
 * the table's entries from DICTIONARY_FORM on; entries past `count` get
 * size 0, so a form byte naming one is rejected. Returns where its operands end.
 */
function readDictionary(
  section: Uint8Array,
  count: number,
  p: number,
  end: number,
  w: number,
): number {
  const { table, entries, entryPositions } = scratch;
  table.fill(0, DICTIONARY_FORM * STRIDE);
  for (let k = 0; k < count;) {
    const f = section[1 + k];
    if (f >= DICTIONARY_FORM || FORM_SIZE[f] === 0) {
      fail(`dictionary entry ${k} has form ${f}, which is not an instruction form`);
    }
    let run = k + 1; // the entries of this form that follow (the writer sorts them by form)
    while (run < count && section[1 + run] === f) run++;
    if (f === FORM_RAW16 || f === FORM_RAW32) {
      for (; k < run; k++, p += FORM_SIZE[f]) {
        if (p >= end) fail("the code section ends inside the dictionary");
        const t = (DICTIONARY_FORM + k) * STRIDE;
        table[t + T_BITS] = readRaw(section, p, f, w === 4);
        table[t + T_OP] = decoded.op;
        table[t + T_RD] = decoded.rd;
        table[t + T_RS1] = decoded.rs1;
        table[t + T_RS2] = decoded.rs2;
        table[t + T_IMM] = decoded.imm;
        table[t + T_SIZE] = FORM_SIZE[f];
        table[t + T_FLOW] = FLOW[decoded.op];
      }
      continue;
    }
    p = decodeGroup(f, section, p, end, entryPositions, k, run, w, entries);
    if (p < 0) fail(`dictionary entry ${-1 - p}: operand out of range for form ${f}`);
    for (; k < run; k++) {
      const t = (DICTIONARY_FORM + k) * STRIDE;
      table[t + T_OP] = FORM_OP[f];
      table[t + T_SIZE] = FORM_SIZE[f];
      table[t + T_RD] = entries.rd[k];
      table[t + T_RS1] = entries.rs1[k];
      table[t + T_RS2] = entries.rs2[k];
      table[t + T_IMM] = entries.imm[k];
      table[t + T_BITS] = FORM_SIZE[f] === 4
        ? entries.bytes.getInt32(4 * k, true)
        : entries.bytes.getUint16(4 * k, true);
      table[t + T_FLOW] = FLOW[FORM_OP[f]];
    }
  }
  return p;
}

/**
 * Reads the code section (a view of the blob) into `count` instructions
 * over `segments` (non-empty, sorted; their bytes are views of `buffer`, in
 * order, with 4 spare bytes after the last), with the basic blocks that
 * `entries` (the instruction indexes of the entry point and exports) add.
 * @throws {ProgramError} on any record that is malformed, out of range or
 * does not fill the segments exactly.
 */
export function readCode(
  codeSection: Uint8Array,
  segments: readonly CodeSegment[],
  buffer: Uint8Array,
  count: number,
  rve: boolean,
): { code: DecodedCode; finish: (entries: readonly number[]) => void; } {
  if (!primed) prime();
  reserveScratch(count, codeSection.length);
  try {
    const end = codeSection.length;
    const { section, grouped, at, branches } = scratch;
    section.set(codeSection);
    section.fill(0, end, end + SECTION_PADDING);
    const w = rve ? 4 : 5;
    const dictionarySize = section[0];
    if (dictionarySize > MAX_DICTIONARY) {
      fail(`dictionary of ${dictionarySize} entries, more than ${MAX_DICTIONARY}`);
    }
    const formsStart = 1 + dictionarySize;
    if (formsStart + count > end) fail(`${count} instructions, but the code section ends first`);
    let p = readDictionary(section, dictionarySize, formsStart + count, end, w);
    const forms = section.subarray(formsStart, formsStart + count);
    const { code, leaders } = allocateCode(segments, count);
    const bytes = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const groupStart = scratch.groupStart.fill(0);
    for (let i = 0; i < count; i++) groupStart[forms[i] + 1]++;
    for (let f = 0; f < 256; f++) groupStart[f + 1] += groupStart[f];
    scratch.next.set(groupStart.subarray(0, 256));
    firstPass(code, leaders, forms, segments, bytes);
    const out: GroupOutput = {
      rd: code.rd,
      rs1: code.rs1,
      rs2: code.rs2,
      imm: code.imm,
      bytes,
      at,
    };
    for (let f = 0; f < DICTIONARY_FORM; f++) {
      const from = groupStart[f], to = groupStart[f + 1];
      if (from === to) continue;
      if (f === FORM_RAW16 || f === FORM_RAW32) {
        p = rawGroup(code, leaders, section, p, end, f, from, to, bytes, rve);
      } else if (f === FORM_TAIL) {
        p = tailGroup(code, section, p, end, from, to, bytes);
      } else {
        p = decodeGroup(f, section, p, end, grouped, from, to, w, out);
        if (p < 0) {
          const i = grouped[-1 - p];
          fail(
            `instruction ${i} at 0x${code.pc[i].toString(16)}: operand out of range for form ${f}`,
          );
        }
        if (FLOW[FORM_OP[f]] === 2) {
          for (let j = from; j < to; j++) branches[scratch.branchCount++] = grouped[j];
        }
      }
    }
    if (p !== end) fail(`${end - p} bytes after the last operand`);
    const branchCount = scratch.branchCount;
    return {
      code,
      finish: (entries) => finishBlocks(code, leaders, entries, branches, branchCount),
    };
  } finally {
    // A huge program's scratch is not kept for the rest of the process.
    if (scratch.grouped.length > KEPT_INSTRUCTIONS) {
      scratch.grouped = new Int32Array(1024);
      scratch.at = new Uint32Array(1024);
      scratch.branches = new Int32Array(1024);
    }
    if (scratch.section.length > KEPT_SECTION) scratch.section = new Uint8Array(1024);
  }
}

/**
 * Fills what the form bytes alone give (see readCode); lists the dictionary
 * instructions that are direct branches in `scratch.branches`.
 */
function firstPass(
  code: DecodedCode,
  leaders: Uint8Array,
  forms: Uint8Array,
  segments: readonly CodeSegment[],
  bytes: DataView,
): void {
  const { count, pc, op, rd, rs1, rs2, imm, size, segmentEnd, chunks, slots, start } = code;
  const { table, at, grouped, next, branches } = scratch;
  const chunkMask = (1 << CHUNK_SHIFT) - 1;
  let i = 0, branchCount = 0;
  let base = 0; // where the segment's bytes start in `bytes`
  for (const segment of segments) {
    const n = segment.bytes.length;
    const segmentStart = segment.start;
    leaders[i] = 1;
    let offset = 0;
    while (offset < n) {
      if (i === count) fail(`more than the ${count} instructions the header declares`);
      const f = forms[i];
      const t = f * STRIDE;
      let s = table[t + T_SIZE];
      if (s === 0 || offset + s > n) s = tailSize(f, n - offset, i);
      const address = segmentStart + offset;
      pc[i] = address;
      op[i] = table[t + T_OP];
      rd[i] = table[t + T_RD];
      rs1[i] = table[t + T_RS1];
      rs2[i] = table[t + T_RS2];
      imm[i] = table[t + T_IMM];
      size[i] = s;
      at[i] = base + offset;
      // Four bytes even for a parcel: the next instruction overwrites the rest.
      bytes.setInt32(base + offset, table[t + T_BITS], true);
      const flow = table[t + T_FLOW];
      leaders[i + 1] = (flow | flow >> 1) & 1;
      // Canonical branches are listed when their group is decoded.
      branches[branchCount] = i;
      branchCount += f >= DICTIONARY_FORM && flow === 2 ? 1 : 0;
      const a = address - start;
      slots[chunks[a >>> CHUNK_SHIFT] + ((a & chunkMask) >>> 1)] = i;
      grouped[next[f]++] = i;
      i++;
      offset += s;
    }
    segmentEnd[i - 1] = 1;
    base += n;
  }
  if (i !== count) fail(`${i} instructions, but the header declares ${count}`);
  scratch.branchCount = branchCount;
}

/**
 * The size the first pass advances by when the form's own does not fit: a
 * tail takes the segment's last 1–3 bytes (`left`); anything else is an error.
 */
function tailSize(f: number, left: number, i: number): number {
  if (f === FORM_TAIL) {
    if (left > 3) fail(`instruction ${i}: a tail record with ${left} bytes of code left`);
    return left;
  }
  if (f >= DICTIONARY_FORM) {
    fail(`instruction ${i}: dictionary entry ${f - DICTIONARY_FORM} does not exist`);
  }
  if (FORM_LAYOUT[f] === 0) fail(`instruction ${i}: form ${f} is not assigned`);
  fail(`instruction ${i} overruns its segment`);
}

/** Decodes the raw records of form `f`: instructions `scratch.grouped[from..to)`. */
function rawGroup(
  code: DecodedCode,
  leaders: Uint8Array,
  section: Uint8Array,
  p: number,
  end: number,
  f: number,
  from: number,
  to: number,
  bytes: DataView,
  rve: boolean,
): number {
  const { grouped, at } = scratch;
  for (let j = from; j < to; j++, p += FORM_SIZE[f]) {
    if (p >= end) fail("the code section ends inside the raw records");
    const i = grouped[j];
    const bits = readRaw(section, p, f, rve);
    code.op[i] = decoded.op;
    code.rd[i] = decoded.rd;
    code.rs1[i] = decoded.rs1;
    code.rs2[i] = decoded.rs2;
    code.imm[i] = decoded.imm;
    if (f === FORM_RAW32) bytes.setInt32(at[i], bits, true);
    else bytes.setUint16(at[i], bits, true);
    if (FLOW[decoded.op] !== 0) leaders[i + 1] = 1;
    if (FLOW[decoded.op] === 2) scratch.branches[scratch.branchCount++] = i;
  }
  return p;
}

/**
 * Reads the tail records: each the last 1–3 bytes of a segment, which the
 * sweep of §1 sees as an instruction cut off by the end of the code
 * (invalid, of its full size). The first pass left the byte count in `size`.
 */
function tailGroup(
  code: DecodedCode,
  section: Uint8Array,
  p: number,
  end: number,
  from: number,
  to: number,
  bytes: DataView,
): number {
  const { grouped, at } = scratch;
  for (let j = from; j < to; j++) {
    if (p >= end) fail("the code section ends inside the tail records");
    const i = grouped[j];
    const left = code.size[i];
    const long = (section[p] & 3) === 3;
    if (!long && left >= 2) {
      fail(`instruction ${i}: a tail record holds a whole 16-bit instruction`);
    }
    for (let k = 0; k < left; k++) bytes.setUint8(at[i] + k, section[p + k]);
    code.size[i] = long ? 4 : 2;
    p += left;
  }
  return p;
}
