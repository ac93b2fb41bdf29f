/**
 * How TypeScript enters generated code. `Deno.UnsafeFnPointer.call` costs
 * about a microsecond per call here; a `Deno.dlopen`-bound symbol takes V8's
 * fast-call path (a few ns). So the entry goes through libc's `bsearch`
 * with one element: C specifies that it calls the comparator with the key
 * and that element, so the generated entry routine is called once as
 * `int entry(void* key, const void* element)` with the key being the
 * instance's guest base (bench/entry_paths.ts measures the options).
 * @module
 */
import { libc } from "./_libc.ts";
import type { ExecutableCode } from "./exec_memory.ts";

const ELEMENT = new Uint8Array(8);

/** A function that runs `code`'s entry routine with `base` as its argument. */
export function createEntry(code: ExecutableCode): (base: Deno.PointerValue) => void {
  const { bsearch } = libc();
  const routine = code.pointer;
  const element = Deno.UnsafePointer.of(ELEMENT);
  return (base) => {
    bsearch(base, element, 1n, 8n, routine);
  };
}
