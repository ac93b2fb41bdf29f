/**
 * How TypeScript enters generated code. `Deno.UnsafeFnPointer.call` costs
 * about a microsecond per call here; a `Deno.dlopen`-bound symbol takes V8's
 * fast-call path (a few ns). So the entry goes through libc's `bsearch`
 * with one element: C specifies that it calls the comparator with the key
 * and that element, so the generated entry routine is called once as
 * `int entry(void* key, const void* element)` with the key being the
 * instance's guest base. The binding declares no result (bsearch's is never
 * used): a void result measured 1.3 ns less per call than a pointer. Such a
 * call of a comparator that returns at once costs ~5.5-6.7 ns here (a
 * direct call of libc's `abs` ~3.4-4.3 ns); `twalk` on a one-node tree, with
 * two arguments instead of five, measured 1.6 ns less in isolation but
 * nothing in the whole call path. koffi (Node) takes the same path, at
 * about 125 ns per call.
 * @module
 */
import { type EntryParts, ffi, type HostPointer } from "./_ffi.ts";
import type { ExecutableCode } from "./exec_memory.ts";

/** What entering generated code takes: libc's `bsearch`, its fixed arguments, and the entry routine. */
export interface EntryCall extends EntryParts {
  /** The entry routine, as the comparator. */
  readonly routine: HostPointer;
}

const calls = new WeakMap<(base: HostPointer) => void, EntryCall>();

/** A function that runs `code`'s entry routine with `base` as its argument. */
export function createEntry(code: ExecutableCode): (base: HostPointer) => void {
  const call: EntryCall = { ...ffi().entryParts(), routine: code.pointer };
  const { bsearch, element, one, eight, routine } = call;
  const enter = (base: HostPointer) => {
    bsearch(base, element, one, eight, routine);
  };
  calls.set(enter, call);
  return enter;
}

/**
 * The parts of an entry function made by {@linkcode createEntry}, for a
 * caller that makes the FFI call itself (one JavaScript call less per entry).
 */
export function entryCall(enter: (base: HostPointer) => void): EntryCall {
  const call = calls.get(enter);
  if (call === undefined) throw new Error("not an entry function made by createEntry");
  return call;
}
