/**
 * The physical limit: the same example C source compiled by clang-19 -O2 as
 * a native x86-64 Linux program (bench/native/), run as a child process.
 * Its wall time includes process start-up (well under a millisecond for
 * these static binaries).
 * @module
 */
import { CLANG, haveClang } from "../examples/build.ts";

const ROOT = new URL("..", import.meta.url);
const BUILD = new URL("./.build/", import.meta.url);

/** Builds `examples/<name>/<name>.c` natively; returns the binary's path or why it cannot. */
export async function buildNative(name: string): Promise<{ path?: string; skipped?: string; }> {
  if (Deno.build.arch !== "x86_64" || Deno.build.os !== "linux") {
    return { skipped: "native builds are x86-64 Linux only" };
  }
  if (!(await haveClang())) return { skipped: `${CLANG} is not installed` };
  await Deno.mkdir(BUILD, { recursive: true });
  const path = decodeURIComponent(new URL(name, BUILD).pathname);
  const args = [
    "-O2",
    "-std=c11",
    "-ffreestanding",
    "-nostdlib",
    "-static",
    "-fuse-ld=lld",
    "-Iabi/guest",
    "-include",
    "bench/native/imports.h",
    "-Wl,-e,__native_entry",
    "abi/guest/start.c",
    "bench/native/linux_x64.c",
    `examples/${name}/${name}.c`,
    "-o",
    path,
  ]; // dprint-ignore
  const out = await new Deno.Command(CLANG, { args, cwd: ROOT, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`native build of ${name}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return { path };
}

/** Runs a native binary once; returns its wall time in ms (throws if it fails). */
export async function runNative(path: string): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(path, { stdout: "null", stderr: "piped" }).output();
  const ms = performance.now() - t;
  if (!out.success) throw new Error(`${path} failed its self-check (status ${out.code})`);
  return ms;
}
