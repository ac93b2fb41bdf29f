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
 * nothing in the whole call path.
 * @module
 */
import { libc } from "./_libc.ts";
import type { ExecutableCode } from "./exec_memory.ts";

const ELEMENT = new Uint8Array(8);

/** What entering generated code takes: libc's `bsearch`, a dummy element, and the entry routine. */
export interface EntryCall {
  /** Bound `bsearch`; call as `bsearch(base, element, 1n, 8n, routine)`. */
  readonly bsearch: ReturnType<typeof libc>["bsearch"];
  /** The one element (never read: the routine ignores its second argument). */
  readonly element: Deno.PointerObject;
  /** The entry routine, as the comparator. */
  readonly routine: Deno.PointerObject;
}

const calls = new WeakMap<(base: Deno.PointerValue) => void, EntryCall>();

/** A function that runs `code`'s entry routine with `base` as its argument. */
export function createEntry(code: ExecutableCode): (base: Deno.PointerValue) => void {
  const call: EntryCall = {
    bsearch: libc().bsearch,
    element: Deno.UnsafePointer.of(ELEMENT)!,
    routine: code.pointer,
  };
  const { bsearch, element, routine } = call;
  const enter = (base: Deno.PointerValue) => {
    bsearch(base, element, 1n, 8n, routine);
  };
  calls.set(enter, call);
  return enter;
}

/**
 * The parts of an entry function made by {@linkcode createEntry}, for a
 * caller that makes the FFI call itself (one JavaScript call less per entry).
 */
export function entryCall(enter: (base: Deno.PointerValue) => void): EntryCall {
  const call = calls.get(enter);
  if (call === undefined) throw new Error("not an entry function made by createEntry");
  return call;
}
