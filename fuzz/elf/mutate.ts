/**
 * Structured mutations of ELF files. Each mutation is plain data (a field
 * write, a byte run, a truncation, a header copy) chosen with knowledge of
 * the file's structure — header fields, program and section headers, the
 * rvbox import/export records, code — so one mutation hits a meaningful spot;
 * the reducer drops mutations one by one.
 * @module
 */
import type { Random } from "../random.ts";

/** One change to the file's bytes, with a label saying what it hits. */
export type Mutation =
  | { op: "u32" | "u16" | "u8"; at: number; value: number; what: string; }
  | { op: "truncate"; length: number; what: string; }
  | { op: "copy"; from: number; to: number; length: number; what: string; };

/** Applies `mutations` in order to a copy of `bytes`. */
export function applyMutations(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = bytes.slice();
  for (const m of mutations) {
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    switch (m.op) {
      case "truncate":
        out = out.slice(0, Math.min(m.length, out.length));
        break;
      case "copy":
        if (m.from + m.length <= out.length && m.to + m.length <= out.length) {
          out.copyWithin(m.to, m.from, m.from + m.length);
        }
        break;
      default: {
        const size = m.op === "u32" ? 4 : m.op === "u16" ? 2 : 1;
        if (m.at + size > out.length) break;
        if (m.op === "u32") view.setUint32(m.at, m.value >>> 0, true);
        else if (m.op === "u16") view.setUint16(m.at, m.value & 0xffff, true);
        else out[m.at] = m.value & 0xff;
      }
    }
  }
  return out;
}

const PHDR_FIELDS = [
  "p_type",
  "p_offset",
  "p_vaddr",
  "p_paddr",
  "p_filesz",
  "p_memsz",
  "p_flags",
  "p_align",
];
const EXTREMES = [
  0,
  1,
  0x7f,
  0x80,
  0xff,
  0xffff,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  0xfffff000,
  0x1000,
];
const TYPES = [0, 1, 2, 3, 4, 6, 7, 0x6474e551, 0x70000003, 0xffffffff];
const MIB = 1 << 20;

/** Values worth trying for a field that holds `old`, by the field's meaning. */
function valuesFor(field: string, old: number, fileSize: number): number[] {
  switch (field) {
    case "p_type":
      return TYPES;
    case "p_flags":
      return [0, 1, 2, 3, 4, 5, 6, 7, 0xffffffff, 0x80000005];
    case "p_vaddr":
    case "e_entry":
      return [
        old + 2,
        old - 2,
        old + 1,
        old + 0x1000,
        old ^ 0x80000000,
        old + 8 * MIB,
        old + 63 * MIB,
        0xffff0000 - 0x1000,
        0xfffff000,
        0x1000,
        0xfff,
      ];
    case "p_filesz":
    case "p_memsz":
      return [
        0,
        1,
        old + 1,
        old - 1,
        old * 2,
        old + 0x1000,
        old + 9 * MIB,
        old + 17 * MIB,
        64 * MIB,
        0x7fffffff,
        0xffffffff,
      ];
    case "p_offset":
    case "sh_offset":
    case "e_phoff":
    case "e_shoff":
      return [0, 1, old + 1, old + 4, fileSize, fileSize - 1, fileSize + 1, 0x80000000, 0xffffffff];
    default:
      return [old + 1, old - 1, ...EXTREMES];
  }
}

/** Where things are in a (valid) ELF file, read leniently. */
interface Landmarks {
  phoff: number;
  phnum: number;
  shoff: number;
  shnum: number;
  /** File ranges of executable segments and of the rvbox sections. */
  code: [number, number][];
  records: [number, number][];
}

function landmarks(bytes: Uint8Array): Landmarks {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (at: number) => at + 4 <= bytes.length ? v.getUint32(at, true) : 0;
  const u16 = (at: number) => at + 2 <= bytes.length ? v.getUint16(at, true) : 0;
  const marks: Landmarks = {
    phoff: u32(28),
    phnum: u16(44),
    shoff: u32(32),
    shnum: u16(48),
    code: [],
    records: [],
  };
  for (let k = 0; k < marks.phnum; k++) {
    const at = marks.phoff + 32 * k;
    if (u32(at) === 1 && u32(at + 24) & 1) {
      marks.code.push([u32(at + 4), u32(at + 4) + u32(at + 16)]);
    }
  }
  // The rvbox sections are the non-string PROGBITS sections after the first (sh_type 1).
  for (let k = 1; k < marks.shnum; k++) {
    const at = marks.shoff + 40 * k;
    if (u32(at + 4) === 1 && u32(at + 20) > 0) {
      marks.records.push([u32(at + 16), u32(at + 16) + u32(at + 20)]);
    }
  }
  return marks;
}

/** One random mutation of `bytes`. */
export function randomMutation(rnd: Random, bytes: Uint8Array): Mutation {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const marks = landmarks(bytes);
  const field = (at: number, name: string, op: "u32" | "u16" = "u32"): Mutation => {
    const old = at + 4 <= bytes.length
      ? (op === "u32" ? v.getUint32(at, true) : v.getUint16(at, true))
      : 0;
    const value = rnd.chance(0.8) ? rnd.pick(valuesFor(name, old, bytes.length)) : rnd.int(2 ** 32);
    return { op, at, value: value >>> 0, what: name };
  };
  const inRange = ([from, to]: [number, number], what: string, size: 2 | 4): Mutation => {
    const at = Math.min(from + 2 * rnd.int(Math.max(1, (to - from) >> 1)), bytes.length - size);
    return {
      op: size === 4 ? "u32" : "u16",
      at: Math.max(0, at),
      value: rnd.int(2 ** 32) >>> (size === 4 ? 0 : 16),
      what,
    };
  };
  const roll = rnd.int(100);
  if (roll < 30 && marks.phnum > 0) {
    const k = rnd.int(marks.phnum);
    const f = rnd.int(8);
    return {
      ...field(marks.phoff + 32 * k + 4 * f, PHDR_FIELDS[f]),
      what: `phdr ${k} ${PHDR_FIELDS[f]}`,
    };
  }
  if (roll < 42) {
    const [at, name, op] = rnd.pick(
      [
        [24, "e_entry", "u32"],
        [28, "e_phoff", "u32"],
        [32, "e_shoff", "u32"],
        [36, "e_flags", "u32"],
        [16, "e_type", "u16"],
        [18, "e_machine", "u16"],
        [42, "e_phentsize", "u16"],
        [44, "e_phnum", "u16"],
        [46, "e_shentsize", "u16"],
        [48, "e_shnum", "u16"],
        [50, "e_shstrndx", "u16"],
      ] as const,
    );
    return field(at, name, op);
  }
  if (roll < 52 && marks.shnum > 0) {
    const k = rnd.int(marks.shnum);
    const [offset, name] = rnd.pick(
      [[0, "sh_name"], [4, "sh_type"], [16, "sh_offset"], [20, "sh_size"]] as const,
    );
    return { ...field(marks.shoff + 40 * k + offset, name), what: `shdr ${k} ${name}` };
  }
  if (roll < 62 && marks.records.length) {
    return inRange(rnd.pick(marks.records), "an import/export record", rnd.pick([2, 4]));
  }
  if (roll < 77 && marks.code.length) {
    return inRange(rnd.pick(marks.code), "code", rnd.pick([2, 4]));
  }
  if (roll < 85) {
    return { op: "u8", at: rnd.int(bytes.length), value: rnd.int(256), what: "a random byte" };
  }
  if (roll < 90) return { op: "truncate", length: rnd.int(bytes.length), what: "truncation" };
  if (roll < 95 && marks.phnum > 1) {
    const [a, b] = [rnd.int(marks.phnum), rnd.int(marks.phnum)];
    return {
      op: "copy",
      from: marks.phoff + 32 * a,
      to: marks.phoff + 32 * b,
      length: 32,
      what: `phdr ${a} over phdr ${b}`,
    };
  }
  return {
    op: "u8",
    at: rnd.int(Math.min(bytes.length, 64)),
    value: rnd.int(256),
    what: "an ELF header byte",
  };
}
