/**
 * Loading `.rvbox` blobs (abi/README.md §7): the compact program format. A
 * blob is untrusted input exactly like an ELF file; every value is checked,
 * and a blob loads into the same {@linkcode ProgramImage} as the ELF file it
 * was linked from.
 * @module
 */
import { ByteReader, fail } from "./_blob_bytes.ts";
import { readCode } from "./_blob_code.ts";
import type { DecodedCode } from "./code.ts";
import { DEFAULT_MAX_CODE_SIZE, DEFAULT_MAX_FILE_SIZE } from "./constants.ts";
import { type ElfSegment, PF_R, PF_W, PF_X } from "./elf.ts";
import { Op } from "./isa.ts";
import {
  limit,
  loadProgram,
  loadSegments,
  type ProgramImage,
  type ProgramOptions,
} from "./load.ts";

/** The first bytes of every blob: `"\0rvbox"`. */
export const BLOB_MAGIC: Uint8Array = Uint8Array.of(0, 0x72, 0x76, 0x62, 0x6f, 0x78);
/** The format version this rvbox writes and reads. */
export const BLOB_VERSION = 1;
/** Header flag: the program uses the RV32E base. */
export const BLOB_RVE = 1;

/** Whether `bytes` start with the blob magic (whatever follows). */
export function isBlob(bytes: Uint8Array): boolean {
  if (bytes.length < BLOB_MAGIC.length) return false;
  for (let i = 0; i < BLOB_MAGIC.length; i++) if (bytes[i] !== BLOB_MAGIC[i]) return false;
  return true;
}

/** Loads an ELF file or a blob, whichever `bytes` are (by their magic). */
export function loadImage(bytes: Uint8Array, options: ProgramOptions = {}): ProgramImage {
  return isBlob(bytes) ? loadBlob(bytes, options) : loadProgram(bytes, options);
}

/** At most as many segments as an ELF file may have program headers (abi/elf.ts). */
const MAX_SEGMENTS = 4096;

/** A segment header; code segments get their bytes from the code section. */
interface SegmentHeader {
  readonly vaddr: number;
  readonly memsz: number;
  readonly flags: number;
  readonly filesz: number;
  /** Contents of a non-executable segment (a view into the blob). */
  readonly contents?: Uint8Array;
}

function readSegments(
  r: ByteReader,
  maxCode: number,
): { headers: SegmentHeader[]; codeSize: number; } {
  const count = r.count("segment count", MAX_SEGMENTS);
  const headers: SegmentHeader[] = [];
  let codeSize = 0;
  for (let i = 0; i < count; i++) {
    const what = `segment ${i}`;
    const vaddr = r.uv(`${what} address`);
    const memsz = r.uv(`${what} memory size`);
    const flags = r.u8(`${what} flags`);
    const filesz = r.uv(`${what} file size`);
    if (flags & ~(PF_R | PF_W | PF_X)) fail(`${what}: unknown flags 0x${flags.toString(16)}`);
    if ((flags & PF_W) && (flags & PF_X)) fail(`${what} is writable and executable`);
    if (memsz === 0) fail(`${what} is empty`);
    if (filesz > memsz) fail(`${what}: file size ${filesz} exceeds memory size ${memsz}`);
    if (vaddr + memsz > 2 ** 32) fail(`${what}: address range wraps past 4 GiB`);
    if (i > 0 && vaddr <= headers[i - 1].vaddr) fail(`${what} is not in address order`);
    if (flags & PF_X) {
      codeSize += filesz;
      if (codeSize > maxCode) fail(`more than ${maxCode} bytes of code`);
      headers.push({ vaddr, memsz, flags, filesz });
    } else {
      headers.push({ vaddr, memsz, flags, filesz, contents: r.bytes(filesz, `${what} contents`) });
    }
  }
  return { headers, codeSize };
}

/**
 * The segments with their bytes: code segments are views of `buffer`, in
 * order, for the code section to fill.
 */
function withContents(headers: readonly SegmentHeader[], buffer: Uint8Array): ElfSegment[] {
  let at = 0;
  return headers.map(({ vaddr, memsz, flags, filesz, contents }) => {
    const data = contents ?? buffer.subarray(at, at += filesz);
    return { vaddr, memsz, flags, data };
  });
}

/** Import names with their call sites, marked in `code.hostcall`. */
function readImports(r: ByteReader, code: DecodedCode): string[] {
  const imports: string[] = [];
  const names = new Set<string>();
  const count = r.uv("import count");
  for (let number = 0; number < count; number++) {
    const name = r.name(`import ${number}`);
    if (names.has(name)) fail(`import ${name} is listed twice`);
    names.add(name);
    imports.push(name);
    const sites = r.uv(`import ${name} site count`);
    if (sites === 0) fail(`import ${name} has no call site`);
    let index = -1;
    for (let s = 0; s < sites; s++) {
      // The first site is an instruction index, each further one the distance from the last.
      const delta = r.uv(`import ${name} site`);
      index = s === 0 ? delta : index + delta;
      if (s > 0 && delta === 0) fail(`import ${name}: site listed twice`);
      if (index >= code.count) fail(`import ${name}: site ${index} is not an instruction`);
      if (code.op[index] !== Op.ECALL) {
        fail(`import ${name}: 0x${code.pc[index].toString(16)} is not an ecall instruction`);
      }
      if (code.hostcall[index] >= 0) {
        fail(`import site 0x${code.pc[index].toString(16)} is listed twice`);
      }
      code.hostcall[index] = number;
    }
  }
  return imports;
}

/** Exports by name, and their instruction indexes. */
function readExports(
  r: ByteReader,
  code: DecodedCode,
): { exports: Map<string, number>; indexes: number[]; } {
  const exports = new Map<string, number>();
  const indexes: number[] = [];
  const count = r.uv("export count");
  for (let i = 0; i < count; i++) {
    const name = r.name(`export ${i}`);
    const index = r.uv(`export ${name} instruction`);
    if (index >= code.count) fail(`export ${name}: ${index} is not an instruction`);
    if (exports.has(name)) fail(`export ${name} is listed twice`);
    exports.set(name, code.pc[index]);
    indexes.push(index);
  }
  return { exports, indexes };
}

/**
 * Validates and loads a blob.
 * @throws {ProgramError} when the blob is malformed, of another version or over a limit.
 */
export function loadBlob(bytes: Uint8Array, options: ProgramOptions = {}): ProgramImage {
  const maxFile = limit(options, "maxFileSize", DEFAULT_MAX_FILE_SIZE);
  if (bytes.length > maxFile) fail(`${bytes.length}-byte file, more than the limit of ${maxFile}`);
  if (!isBlob(bytes)) fail('not a blob (it does not start with "\\0rvbox")');
  const r = new ByteReader(bytes, BLOB_MAGIC.length);
  const version = r.u8("version");
  if (version !== BLOB_VERSION) {
    fail(
      `format version ${version}; this rvbox reads version ${BLOB_VERSION} (link the ELF file again)`,
    );
  }
  const flags = r.u8("flags");
  if (flags & ~BLOB_RVE) fail(`unknown header flags 0x${flags.toString(16)}`);
  const rve = (flags & BLOB_RVE) !== 0;
  const count = r.uv("instruction count");
  const maxCode = limit(options, "maxCodeSize", DEFAULT_MAX_CODE_SIZE);
  const { headers, codeSize } = readSegments(r, maxCode);
  const codeLength = r.uv("code section length");
  const codeBytes = r.bytes(codeLength, "code section");
  // A record is at least one byte and gives at most 4 bytes of code: what is
  // allocated follows the blob's size.
  if (codeSize > 4 * codeLength || count > codeLength) {
    fail(
      `a ${codeLength}-byte code section cannot hold ${count} instructions in ${codeSize} bytes`,
    );
  }
  // Four spare bytes: the first pass writes whole words (abi/_blob_code.ts).
  const buffer = new Uint8Array(codeSize + 4);
  const segments = loadSegments(withContents(headers, buffer), options);
  const codeSegments = segments.filter((s) => s.exec && s.data.length > 0);
  const { code, finish } = readCode(
    codeBytes,
    codeSegments.map((s) => ({ start: s.vaddr, bytes: s.data })),
    buffer,
    count,
    rve,
  );
  const entryIndex = r.uv("entry");
  if (entryIndex >= count) fail(`entry ${entryIndex} is not an instruction`);
  const imports = readImports(r, code);
  const { exports, indexes } = readExports(r, code);
  if (r.remaining !== 0) fail(`${r.remaining} bytes after the exports`);
  finish([entryIndex, ...indexes]);
  const entry = code.pc[entryIndex];
  // A blob keeps no symbols (abi/README.md §7).
  return { rve, entry, segments, code, imports, exports, fileSize: bytes.length, symbols: [] };
}
