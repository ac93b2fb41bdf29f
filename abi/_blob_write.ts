/**
 * Writing blobs (abi/README.md §7) from a loaded program image. The output
 * depends on the image alone, so the same ELF file always gives the same
 * bytes, and a blob loads back into the image it was written from.
 * @module
 */
import { ByteWriter } from "./_blob_bytes.ts";
import {
  decodeOne,
  DICTIONARY_FORM,
  FORM_LAYOUT,
  FORM_RAW16,
  FORM_RAW32,
  FORM_TAIL,
  formOf,
  hasOperand,
  MAX_DICTIONARY,
  operandOf,
} from "./_blob_forms.ts";
import { BLOB_MAGIC, BLOB_RVE, BLOB_VERSION } from "./blob.ts";
import { type DecodedCode, instructionAt } from "./code.ts";
import { PF_R, PF_W, PF_X } from "./elf.ts";
import type { LoadedSegment, ProgramImage } from "./load.ts";

/** An instruction's record: its form and the bytes of its operand. */
interface Record {
  readonly form: number;
  readonly operand: readonly number[];
}

/** The record of instruction `i`, whose bytes start at `bytes[offset]`. */
function record(
  code: DecodedCode,
  i: number,
  bytes: Uint8Array,
  offset: number,
  w: number,
): Record {
  const size = code.size[i];
  if (bytes.length - offset < size) {
    return { form: FORM_TAIL, operand: [...bytes.subarray(offset)] };
  }
  const raw = [...bytes.subarray(offset, offset + size)];
  const bits = size === 4
    ? raw[0] | raw[1] << 8 | raw[2] << 16 | raw[3] << 24
    : raw[0] | raw[1] << 8;
  const { op, rd, rs1, rs2, imm } = code;
  const form = formOf(op[i], size, bits);
  if (form >= 0) {
    const layout = FORM_LAYOUT[form];
    const v = operandOf(layout, w, rd[i], rs1[i], rs2[i], imm[i], bits);
    const back = v >= 0 ? decodeOne(form, v, w) : undefined;
    // Canonical only when it gives back exactly these fields and bytes.
    if (
      back && back.bits === bits && back.rd === rd[i] && back.rs1 === rs1[i]
      && back.rs2 === rs2[i] && back.imm === imm[i]
    ) {
      const operand: number[] = [];
      if (hasOperand(layout)) varint(operand, v);
      return { form, operand };
    }
  }
  return { form: size === 4 ? FORM_RAW32 : FORM_RAW16, operand: raw };
}

function varint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** Every instruction's record, in order. */
function records(image: ProgramImage): Record[] {
  const code = image.code;
  const w = image.rve ? 4 : 5;
  const out: Record[] = [];
  let i = 0;
  for (const segment of image.segments) {
    if (!segment.exec) continue;
    for (let offset = 0; offset < segment.data.length; offset += code.size[i++]) {
      out.push(record(code, i, segment.data, offset, w));
    }
  }
  return out;
}

const keyOf = (r: Record) => String.fromCharCode(r.form, ...r.operand);

/**
 * The dictionary: the records that save the most bytes when each use is
 * one form byte with no operand (uses × operand length − record length),
 * ties by first use; tails excluded.
 */
function chooseDictionary(all: readonly Record[]): Map<string, Record> {
  const uses = new Map<string, { record: Record; count: number; }>();
  for (const r of all) {
    if (r.form === FORM_TAIL) continue;
    const key = keyOf(r);
    const entry = uses.get(key);
    if (entry) entry.count++;
    else uses.set(key, { record: r, count: 1 });
  }
  const saving = ({ record, count }: { record: Record; count: number; }) =>
    count * record.operand.length - (1 + record.operand.length);
  const chosen = [...uses.entries()]
    .filter(([, e]) => saving(e) > 0)
    .sort(([, a], [, b]) => saving(b) - saving(a)) // stable: ties keep first use first
    .slice(0, MAX_DICTIONARY);
  return new Map(chosen.map(([key, e]) => [key, e.record]));
}

/**
 * The code section: the dictionary size, its entries' form bytes (sorted by
 * form, so the loader decodes them in runs), one form byte per instruction,
 * then the operands: the dictionary's, then the instructions' grouped by
 * form in increasing form order.
 */
function codeSection(image: ProgramImage): Uint8Array {
  const all = records(image);
  const chosen = chooseDictionary(all);
  const entries = [...chosen.values()].sort((a, b) => a.form - b.form);
  const index = new Map(entries.map((r, k) => [keyOf(r), k]));
  const out = new ByteWriter();
  out.u8(entries.length);
  for (const r of entries) out.u8(r.form);
  const groups: number[][] = Array.from({ length: DICTIONARY_FORM }, () => []);
  for (const r of all) {
    const k = index.get(keyOf(r));
    if (k !== undefined) {
      out.u8(DICTIONARY_FORM + k);
    } else {
      out.u8(r.form);
      groups[r.form].push(...r.operand);
    }
  }
  for (const r of entries) out.bytes(Uint8Array.from(r.operand));
  for (const group of groups) out.bytes(Uint8Array.from(group));
  return out.finish();
}

function segmentFlags(s: LoadedSegment): number {
  return PF_R | (s.write ? PF_W : 0) | (s.exec ? PF_X : 0);
}

/** Writes the blob of a loaded program. */
export function writeBlob(image: ProgramImage): Uint8Array {
  const { code } = image;
  const out = new ByteWriter();
  out.bytes(BLOB_MAGIC);
  out.u8(BLOB_VERSION);
  out.u8(image.rve ? BLOB_RVE : 0);
  out.uv(code.count);
  out.uv(image.segments.length);
  for (const s of image.segments) {
    out.uv(s.vaddr);
    out.uv(s.end - s.vaddr); // the page-rounded memory size maps the same pages
    out.u8(segmentFlags(s));
    out.uv(s.data.length);
    if (!s.exec) out.bytes(s.data);
  }
  const section = codeSection(image);
  out.uv(section.length);
  out.bytes(section);
  out.uv(instructionAt(code, image.entry));
  out.uv(image.imports.length);
  image.imports.forEach((name, number) => {
    const sites: number[] = [];
    for (let i = 0; i < code.count; i++) if (code.hostcall[i] === number) sites.push(i);
    out.name(name);
    out.uv(sites.length);
    sites.forEach((site, s) => out.uv(s === 0 ? site : site - sites[s - 1]));
  });
  out.uv(image.exports.size);
  for (const [name, address] of image.exports) {
    out.name(name);
    out.uv(instructionAt(code, address));
  }
  return out.finish();
}
