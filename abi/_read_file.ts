/**
 * Reads a program file without trusting what the path names: a directory
 * fails as the file system says, and a file (or device, or pipe) longer than
 * the limit fails after reading one byte past it, never reading on forever.
 * @module
 */
import { ProgramError } from "./errors.ts";

const CHUNK = 1 << 16;

/**
 * Reads at most `maxBytes` from `path`.
 * @throws {ProgramError} when there are more bytes than that.
 * @throws {Deno.errors.NotFound | Deno.errors.IsADirectory | Deno.errors.PermissionDenied}
 * as the file system reports.
 */
export async function readProgramFile(path: string | URL, maxBytes: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  if (info.isDirectory) throw new Deno.errors.IsADirectory(`${path} is a directory`);
  const tooLong = () =>
    new ProgramError(`${path} is larger than the ${maxBytes}-byte limit (maxFileSize)`);
  if (info.isFile && info.size > maxBytes) throw tooLong();
  // A regular file's size is known; devices and pipes are read in chunks up to the limit.
  let buffer = new Uint8Array(Math.min(maxBytes, info.isFile ? info.size : CHUNK) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > maxBytes) throw tooLong();
      const bigger = new Uint8Array(Math.min(maxBytes + 1, 2 * buffer.length));
      bigger.set(buffer);
      buffer = bigger;
    }
    const n = await file.read(buffer.subarray(length));
    if (n === null) return buffer.subarray(0, length);
    length += n;
  }
}
