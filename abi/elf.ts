/**
 * ELF32 parsing with validation of every header, offset and size
 * (abi/README.md §2). Knows nothing of memory layout or code; see load.ts.
 * @module
 */
import { ProgramError } from "./errors.ts";

/** Segment permission bits (`p_flags`). */
export const PF_X = 1;
/** Writable segment. */
export const PF_W = 2;
/** Readable segment. */
export const PF_R = 4;

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const EM_RISCV = 243;
const ET_EXEC = 2;
const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const SHDR_SIZE = 40;
const SHT_SYMTAB = 2;
const SHT_NOBITS = 8;
const SYM_SIZE = 16;
const STT_OBJECT = 1;
const STT_FUNC = 2;
/** Longest symbol name kept (C++ names run long; anything longer is cut). */
const MAX_SYMBOL_NAME = 1024;
/** More headers than any real program has; bounds the work a hostile file can cause. */
const MAX_HEADERS = 4096;

/** A `PT_LOAD` segment. */
export interface ElfSegment {
  /** Virtual address of the first byte. */
  readonly vaddr: number;
  /** Size in memory (file bytes, then zeros). */
  readonly memsz: number;
  /** `PF_R | PF_W | PF_X` bits. */
  readonly flags: number;
  /** The file bytes (`p_filesz` long), a view into the input. */
  readonly data: Uint8Array;
}

/** What a symbol names: code, data, or a plain label (`STT_NOTYPE`). */
export type SymbolKind = "function" | "object" | "label";

/** A defined symbol of the ELF symbol table. */
export interface ElfSymbol {
  /** Its name. */
  readonly name: string;
  /** Its address (`st_value`). */
  readonly address: number;
  /** Its size in bytes (`st_size`; 0 when unknown, as for most labels). */
  readonly size: number;
  /** What it names. */
  readonly kind: SymbolKind;
  /** Visible to other files (`STB_GLOBAL`, `STB_WEAK`) rather than file-local. */
  readonly global: boolean;
}

/** The parts of an ELF file rvbox uses. */
export interface ElfFile {
  /** `e_entry`. */
  readonly entry: number;
  /** `e_flags` (RVE, RVC, float ABI). */
  readonly flags: number;
  /** PT_LOAD segments in file order. */
  readonly segments: readonly ElfSegment[];
  /** Contents of named sections that have file bytes (views into the input). */
  readonly sections: ReadonlyMap<string, Uint8Array>;
  /** Defined symbols of `.symtab` (empty when stripped), sorted by address then name. */
  readonly symbols: readonly ElfSymbol[];
}

function fail(message: string): never {
  throw new ProgramError(message);
}

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** Checks that `[offset, offset + size)` lies in a file of `fileSize` bytes. */
function checkRange(what: string, offset: number, size: number, fileSize: number): void {
  if (offset > fileSize || size > fileSize - offset) {
    fail(`${what} (offset ${hex(offset)}, ${size} bytes) lies outside the ${fileSize}-byte file`);
  }
}

/**
 * Parses and validates an ELF32 little-endian RISC-V executable.
 * @throws {ProgramError} on anything malformed.
 */
export function parseElf(bytes: Uint8Array): ElfFile {
  if (bytes.length < EHDR_SIZE) fail(`file too small for an ELF header (${bytes.length} bytes)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    fail("not an ELF file (bad magic)");
  }
  if (bytes[4] !== 1) fail("not a 32-bit ELF file (ELFCLASS32 required)");
  if (bytes[5] !== 1) fail("not a little-endian ELF file");
  if (bytes[6] !== 1) fail(`unsupported ELF version ${bytes[6]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);

  const type = u16(16);
  if (type !== ET_EXEC) fail(`not a static executable (e_type ${type}, ET_EXEC required)`);
  const machine = u16(18);
  if (machine !== EM_RISCV) fail(`not a RISC-V program (e_machine ${machine})`);
  if (u32(20) !== 1) fail(`unsupported e_version ${u32(20)}`);
  const entry = u32(24);
  const phoff = u32(28);
  const shoff = u32(32);
  const flags = u32(36);
  const phentsize = u16(42);
  const phnum = u16(44);
  const shentsize = u16(46);
  const shnum = u16(48);
  const shstrndx = u16(50);

  if (phnum === 0) fail("no program headers");
  if (phentsize !== PHDR_SIZE) fail(`program header size ${phentsize}, expected ${PHDR_SIZE}`);
  if (phnum > MAX_HEADERS) fail(`too many program headers (${phnum})`);
  checkRange("program header table", phoff, phnum * PHDR_SIZE, bytes.length);

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * PHDR_SIZE;
    const ptype = u32(at);
    if (ptype === PT_DYNAMIC || ptype === PT_INTERP) {
      fail("dynamically linked programs are not supported");
    }
    if (ptype !== PT_LOAD) continue;
    const offset = u32(at + 4);
    const vaddr = u32(at + 8);
    const filesz = u32(at + 16);
    const memsz = u32(at + 20);
    const pflags = u32(at + 24);
    const name = `segment ${i}`;
    checkRange(name, offset, filesz, bytes.length);
    if (filesz > memsz) fail(`${name}: file size ${filesz} exceeds memory size ${memsz}`);
    if (vaddr + memsz > 2 ** 32) {
      fail(`${name}: address range ${hex(vaddr)}+${memsz} wraps past 4 GiB`);
    }
    if ((pflags & PF_W) && (pflags & PF_X)) {
      fail(`${name} at ${hex(vaddr)} is writable and executable`);
    }
    if (memsz === 0) continue;
    segments.push({
      vaddr,
      memsz,
      flags: pflags & (PF_R | PF_W | PF_X),
      data: bytes.subarray(offset, offset + filesz),
    });
  }

  const sections = new Map<string, Uint8Array>();
  let symbols: ElfSymbol[] | undefined;
  if (shnum !== 0 || shoff !== 0) {
    if (shentsize !== SHDR_SIZE) fail(`section header size ${shentsize}, expected ${SHDR_SIZE}`);
    if (shnum > MAX_HEADERS) fail(`too many section headers (${shnum})`);
    checkRange("section header table", shoff, shnum * SHDR_SIZE, bytes.length);
    if (shnum > 0) {
      if (shstrndx >= shnum) fail(`section name table index ${shstrndx} out of range`);
      const sectionBytes = (index: number): Uint8Array | undefined => {
        const at = shoff + index * SHDR_SIZE;
        if (u32(at + 4) === SHT_NOBITS) return undefined;
        const offset = u32(at + 16);
        const size = u32(at + 20);
        checkRange(`section ${index}`, offset, size, bytes.length);
        return bytes.subarray(offset, offset + size);
      };
      const names = sectionBytes(shstrndx) ?? fail("section name table has no contents");
      for (let i = 1; i < shnum; i++) {
        const contents = sectionBytes(i);
        const nameOffset = u32(shoff + i * SHDR_SIZE);
        if (contents === undefined) continue;
        const name = readCString(names, nameOffset, `name of section ${i}`);
        if (name.startsWith(".rvbox.")) {
          if (sections.has(name)) fail(`duplicate section ${name}`);
          sections.set(name, contents);
        }
        if (u32(shoff + i * SHDR_SIZE + 4) === SHT_SYMTAB) {
          if (symbols !== undefined) fail("more than one symbol table");
          const link = u32(shoff + i * SHDR_SIZE + 24);
          if (link === 0 || link >= shnum) fail(`symbol table's string table ${link} out of range`);
          const strings = sectionBytes(link) ?? fail("symbol table's string table has no contents");
          symbols = parseSymbols(contents, strings);
        }
      }
    }
  }
  return { entry, flags, segments, sections, symbols: symbols ?? [] };
}

/**
 * The defined, named function, object and untyped symbols of a symbol table
 * (section, file and `$`-prefixed mapping symbols left out).
 */
function parseSymbols(table: Uint8Array, strings: Uint8Array): ElfSymbol[] {
  if (table.length % SYM_SIZE !== 0) {
    fail(`symbol table size ${table.length} is not a multiple of 16`);
  }
  const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const decoder = new TextDecoder();
  const symbols: ElfSymbol[] = [];
  for (let at = SYM_SIZE; at < table.length; at += SYM_SIZE) {
    const nameOffset = view.getUint32(at, true);
    if (nameOffset >= strings.length) fail(`symbol at offset ${at}: name outside its string table`);
    const info = table[at + 12];
    const type = info & 15;
    const shndx = view.getUint16(at + 14, true);
    if (type > STT_FUNC || shndx === 0) continue; // another kind, or undefined
    let end = strings.indexOf(0, nameOffset);
    if (end < 0) fail(`symbol at offset ${at}: name is not terminated`);
    end = Math.min(end, nameOffset + MAX_SYMBOL_NAME);
    const name = decoder.decode(strings.subarray(nameOffset, end));
    if (name === "" || name.startsWith("$")) continue;
    symbols.push({
      name,
      address: view.getUint32(at + 4, true),
      size: view.getUint32(at + 8, true),
      kind: type === STT_FUNC ? "function" : type === STT_OBJECT ? "object" : "label",
      global: info >> 4 !== 0,
    });
  }
  return symbols.sort((a, b) =>
    a.address - b.address || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/** Reads a NUL-terminated ASCII string (at most 255 bytes) from `table` at `offset`. */
export function readCString(table: Uint8Array, offset: number, what: string): string {
  if (offset >= table.length) fail(`${what}: offset ${offset} outside its table`);
  const end = table.indexOf(0, offset);
  if (end < 0) fail(`${what}: string is not terminated`);
  if (end - offset > 255) fail(`${what}: longer than 255 bytes`);
  let s = "";
  for (let i = offset; i < end; i++) {
    const c = table[i];
    if (c < 0x20 || c > 0x7e) fail(`${what}: contains a non-printable byte`);
    s += String.fromCharCode(c);
  }
  return s;
}
