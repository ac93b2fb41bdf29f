/**
 * What rvbox needs from the runtime beyond JavaScript — reading a program
 * file and writing a guest's output — for Deno, Node and Bun, and a clear
 * answer elsewhere (browsers). Nothing here runs at import: the library's
 * graph touches no runtime-specific global until a function is called.
 * @module
 */
import { ProgramError } from "./errors.ts";

const CHUNK = 1 << 16;

interface NodeProcess {
  versions?: { node?: string; };
  getBuiltinModule?: (id: string) => unknown;
  stdout?: { write(bytes: Uint8Array): boolean; };
}

const deno = () => (globalThis as { Deno?: typeof Deno; }).Deno;
const nodeProcess = () => {
  const process = (globalThis as { process?: NodeProcess; }).process;
  return process?.versions?.node !== undefined ? process : undefined;
};

/**
 * Reads at most `maxBytes` from `path` (Deno, or Node and Bun through
 * `node:fs`). A directory fails as the file system says, and a file (or
 * device, or pipe) longer than the limit fails after reading one byte past
 * it, never reading on forever.
 * @throws {ProgramError} when there are more bytes than that.
 * @throws {Error} as the file system reports (Deno's `Deno.errors`, Node's
 * `code`), or where the runtime has no file system.
 */
export async function readProgramFile(path: string | URL, maxBytes: number): Promise<Uint8Array> {
  const tooLong = () =>
    new ProgramError(`${path} is larger than the ${maxBytes}-byte limit (maxFileSize)`);
  const d = deno();
  if (d !== undefined) return await readDeno(d, path, maxBytes, tooLong);
  if (nodeProcess() !== undefined) return await readNode(path, maxBytes, tooLong);
  throw new Error(
    "Program.fromFile needs a file system (Deno, Node or Bun); here, load the bytes "
      + "yourself (e.g. with fetch) and use Program.fromBytes",
  );
}

/** Reads chunks into a buffer that grows up to one byte past the limit. */
async function readLimited(
  read: (into: Uint8Array) => Promise<number>,
  knownSize: number | undefined,
  maxBytes: number,
  tooLong: () => Error,
): Promise<Uint8Array> {
  if (knownSize !== undefined && knownSize > maxBytes) throw tooLong();
  // A regular file's size is known; devices and pipes are read in chunks up to the limit.
  let buffer = new Uint8Array(Math.min(maxBytes, knownSize ?? CHUNK) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) throw tooLong();
      const bigger = new Uint8Array(Math.min(maxBytes + 1, 2 * buffer.length));
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = await read(buffer.subarray(length));
    if (n === 0) return buffer.subarray(0, length);
    length += n;
  }
}

async function readDeno(
  d: typeof Deno,
  path: string | URL,
  maxBytes: number,
  tooLong: () => Error,
): Promise<Uint8Array> {
  using file = await d.open(path, { read: true });
  const info = await file.stat();
  if (info.isDirectory) throw new d.errors.IsADirectory(`${path} is a directory`);
  return await readLimited(
    async (into) => (await file.read(into)) ?? 0,
    info.isFile ? info.size : undefined,
    maxBytes,
    tooLong,
  );
}

async function readNode(
  path: string | URL,
  maxBytes: number,
  tooLong: () => Error,
): Promise<Uint8Array> {
  // Not `import()`: bundlers would try to include it for browsers, and JSR cannot analyze a
  // computed specifier (Node 20.16 and Bun have `process.getBuiltinModule`).
  const getBuiltinModule = nodeProcess()?.getBuiltinModule;
  if (getBuiltinModule === undefined) {
    throw new Error("Program.fromFile needs Node 20.16 or later (process.getBuiltinModule)");
  }
  const { open } = getBuiltinModule("node:fs/promises") as {
    open(path: string | URL, flags: string): Promise<{
      stat(): Promise<{ isFile(): boolean; isDirectory(): boolean; size: number; }>;
      read(into: Uint8Array, offset: number, length: number): Promise<{ bytesRead: number; }>;
      close(): Promise<void>;
    }>;
  };
  const file = await open(path, "r");
  try {
    const info = await file.stat();
    if (info.isDirectory()) {
      throw Object.assign(new Error(`${path} is a directory`), { code: "EISDIR" });
    }
    return await readLimited(
      async (into) => (await file.read(into, 0, into.length)).bytesRead,
      info.isFile() ? info.size : undefined,
      maxBytes,
      tooLong,
    );
  } finally {
    await file.close();
  }
}

/** Line-buffered text for `console.log`, where there is no standard output to write bytes to. */
let pending = "";
const decoder = new TextDecoder();

/**
 * Writes a guest's output (`rvbox_print`) as it comes: to standard output
 * in Deno, Node and Bun; elsewhere (browsers) through `console.log`, a line
 * at a time, the rest of a line once the current task ends.
 */
export function writeOutput(bytes: Uint8Array): void {
  const d = deno();
  if (d !== undefined) {
    let written = 0;
    while (written < bytes.length) written += d.stdout.writeSync(bytes.subarray(written));
    return;
  }
  const stdout = nodeProcess()?.stdout;
  if (stdout !== undefined) {
    stdout.write(bytes.slice()); // the guest's memory changes after this returns
    return;
  }
  const flushNow = pending === "";
  pending += decoder.decode(bytes, { stream: true });
  const lines = pending.split("\n");
  pending = lines.pop()!;
  for (const line of lines) console.log(line);
  if (flushNow && pending !== "") {
    queueMicrotask(() => {
      if (pending !== "") console.log(pending);
      pending = "";
    });
  }
}
