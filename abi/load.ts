/**
 * Program loading: turns a validated ELF file into the immutable image every
 * instance starts from (abi/README.md §2, §5, §6).
 * @module
 */
import { computeBlocks, decodeCode, type DecodedCode, instructionAt } from "./code.ts";
import {
  ADDRESS_LIMIT,
  DEFAULT_MAX_CODE_SIZE,
  DEFAULT_MAX_FILE_SIZE,
  DEFAULT_MAX_IMAGE_SIZE,
  EF_RISCV_RVE,
  EXPORTS_SECTION,
  IMPORTS_SECTION,
  PAGE_SIZE,
  SYMBOL_NAME_PATTERN,
} from "./constants.ts";
import { decodeInstruction, newDecodedInstruction } from "./decode.ts";
import { type ElfSegment, type ElfSymbol, parseElf, PF_R, PF_W, PF_X, readCString } from "./elf.ts";
import { ProgramError } from "./errors.ts";
import { Op } from "./isa.ts";

/** Limits applied while loading a program. */
export interface ProgramOptions {
  /**
   * Largest total size of code (the file bytes of executable segments), in
   * bytes. Default: 16 MiB.
   */
  maxCodeSize?: number;
  /** Largest address span of all loaded segments, in bytes. Default: 64 MiB. */
  maxImageSize?: number;
  /**
   * Largest program file, in bytes; `Program.fromFile` stops reading past it.
   * Default: 256 MiB.
   */
  maxFileSize?: number;
}

/** A loaded segment, page-rounded as the contract maps it. */
export interface LoadedSegment {
  /** First accessible address (page-aligned). */
  readonly start: number;
  /** One past the last accessible address (page-aligned). */
  readonly end: number;
  /** Where the file bytes go. */
  readonly vaddr: number;
  /** File bytes; the rest of `[start, end)` is zero. */
  readonly data: Uint8Array;
  /** Readable (PF_R or PF_X). */
  readonly read: boolean;
  /** Writable (PF_W). */
  readonly write: boolean;
  /** Executable (PF_X). */
  readonly exec: boolean;
}

/** Everything an instance needs from a program; shared, never mutated. */
export interface ProgramImage {
  /** RV32E (16 registers) rather than RV32I. */
  readonly rve: boolean;
  /** Entry point of `run()`. */
  readonly entry: number;
  /** Segments sorted by address. */
  readonly segments: readonly LoadedSegment[];
  /** The decoded code. */
  readonly code: DecodedCode;
  /** Import names, indexed by import number. */
  readonly imports: readonly string[];
  /** Exported function addresses by name. */
  readonly exports: ReadonlyMap<string, number>;
  /** Total size of the program file (ELF or blob). */
  readonly fileSize: number;
  /** The ELF symbol table's symbols, by address (none for a blob or a stripped file). */
  readonly symbols: readonly ElfSymbol[];
}

const pageDown = (n: number) => n - (n % PAGE_SIZE);
const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
const hex = (n: number) => "0x" + n.toString(16);

function fail(message: string): never {
  throw new ProgramError(message);
}

/**
 * A limit option, or its default.
 * @throws {RangeError} unless it is a non-negative safe integer (NaN would disable the check).
 */
export function limit(
  options: ProgramOptions,
  name: keyof ProgramOptions,
  fallback: number,
): number {
  const value = options[name] ?? fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

/** Reads `.rvbox.imports`/`.rvbox.exports` records: u32 address, name, NUL, padding. */
export function parseRecords(
  section: Uint8Array,
  what: string,
): { address: number; name: string; }[] {
  const records = [];
  const view = new DataView(section.buffer, section.byteOffset, section.byteLength);
  let offset = 0;
  while (offset < section.length) {
    if (offset + 4 > section.length) fail(`${what}: truncated record at offset ${offset}`);
    const address = view.getUint32(offset, true);
    const name = readCString(section, offset + 4, `${what} record at offset ${offset}`);
    if (!SYMBOL_NAME_PATTERN.test(name)) fail(`${what}: invalid name ${JSON.stringify(name)}`);
    records.push({ address, name });
    offset = (offset + 4 + name.length + 1 + 3) & ~3;
  }
  return records;
}

/**
 * Page-rounds and validates program segments (abi/README.md §2): the rules
 * ELF files and blobs share. Returns them sorted by address.
 * @throws {ProgramError} on a segment the contract rejects or a limit exceeded.
 */
export function loadSegments(
  segments: readonly ElfSegment[],
  options: ProgramOptions,
): LoadedSegment[] {
  const loaded = segments.map((s): LoadedSegment => ({
    start: pageDown(s.vaddr),
    end: pageUp(s.vaddr + s.memsz),
    vaddr: s.vaddr,
    data: s.data,
    read: (s.flags & (PF_R | PF_X)) !== 0,
    write: (s.flags & PF_W) !== 0,
    exec: (s.flags & PF_X) !== 0,
  })).sort((a, b) => a.start - b.start);
  if (loaded.length === 0) fail("no loadable segments");
  for (let i = 0; i < loaded.length; i++) {
    const s = loaded[i];
    if (s.start < PAGE_SIZE) fail(`segment at ${hex(s.vaddr)} maps the first page`);
    if (!s.read) {
      fail(`segment at ${hex(s.vaddr)} is neither readable nor executable (PF_R or PF_X)`);
    }
    if (s.end > ADDRESS_LIMIT) {
      fail(`segment at ${hex(s.vaddr)} reaches above ${hex(ADDRESS_LIMIT)}`);
    }
    if (s.exec && s.vaddr % 2 !== 0) fail(`code segment at ${hex(s.vaddr)} is not 2-byte aligned`);
    if (i > 0 && s.start < loaded[i - 1].end) {
      fail(`segments at ${hex(loaded[i - 1].vaddr)} and ${hex(s.vaddr)} share a page`);
    }
  }
  const span = loaded[loaded.length - 1].end - loaded[0].start;
  const maxImage = limit(options, "maxImageSize", DEFAULT_MAX_IMAGE_SIZE);
  if (span > maxImage) fail(`segments span ${span} bytes, more than the limit of ${maxImage}`);
  const codeSize = loaded.reduce((n, s) => n + (s.exec ? s.data.length : 0), 0);
  const maxCode = limit(options, "maxCodeSize", DEFAULT_MAX_CODE_SIZE);
  if (codeSize === 0) fail("no code: no executable segment holds file bytes");
  if (codeSize > maxCode) fail(`${codeSize} bytes of code, more than the limit of ${maxCode}`);
  return loaded;
}

/** Whether an ECALL starts at `address` (an instruction start), decoded from its segment alone. */
function isEcall(segments: readonly LoadedSegment[], address: number, rve: boolean): boolean {
  const s = segments.find((s) => s.exec && address >= s.vaddr && address < s.vaddr + s.data.length);
  const at = address - s!.vaddr;
  const bytes = s!.data;
  if (at + 4 > bytes.length) return false; // ECALL is 4 bytes
  const d = decodeInstruction(
    bytes[at] | (bytes[at + 1] << 8),
    bytes[at + 2] | (bytes[at + 3] << 8),
    rve,
    newDecodedInstruction(),
  );
  return d.op === Op.ECALL;
}

/**
 * Validates and loads an ELF program.
 * @throws {ProgramError} when the file is malformed or over a limit.
 */
export function loadProgram(bytes: Uint8Array, options: ProgramOptions = {}): ProgramImage {
  const maxFile = limit(options, "maxFileSize", DEFAULT_MAX_FILE_SIZE);
  if (bytes.length > maxFile) fail(`${bytes.length}-byte file, more than the limit of ${maxFile}`);
  const elf = parseElf(bytes);
  const rve = (elf.flags & EF_RISCV_RVE) !== 0;
  const segments = loadSegments(elf.segments, options);
  // Code is the file bytes only: a zero-filled tail would decode to invalid
  // instructions and cost tables in proportion to its size, not the file's.
  const code = decodeCode(
    segments.filter((s) => s.exec).map((s) => ({ start: s.vaddr, bytes: s.data })),
    rve,
  );
  if (instructionAt(code, elf.entry) < 0) {
    fail(`entry point ${hex(elf.entry)} is not an instruction in a code segment`);
  }

  const imports: string[] = [];
  const importNumbers = new Map<string, number>();
  const importsSection = elf.sections.get(IMPORTS_SECTION);
  for (
    const { address, name } of importsSection ? parseRecords(importsSection, IMPORTS_SECTION) : []
  ) {
    const index = instructionAt(code, address);
    if (index < 0 || !isEcall(segments, address, rve)) {
      fail(`import ${name}: ${hex(address)} is not an ecall instruction`);
    }
    if (code.hostcall[index] >= 0) fail(`import site ${hex(address)} is listed twice`);
    let number = importNumbers.get(name);
    if (number === undefined) {
      number = imports.length;
      imports.push(name);
      importNumbers.set(name, number);
    }
    code.hostcall[index] = number;
  }

  const exports = new Map<string, number>();
  const exportsSection = elf.sections.get(EXPORTS_SECTION);
  for (
    const { address, name } of exportsSection ? parseRecords(exportsSection, EXPORTS_SECTION) : []
  ) {
    if (instructionAt(code, address) < 0) {
      fail(`export ${name}: ${hex(address)} is not an instruction`);
    }
    if (exports.has(name)) fail(`export ${name} is listed twice`);
    exports.set(name, address);
  }
  computeBlocks(code, [elf.entry, ...exports.values()]);
  return {
    rve,
    entry: elf.entry,
    segments,
    code,
    imports,
    exports,
    fileSize: bytes.length,
    symbols: elf.symbols,
  };
}
