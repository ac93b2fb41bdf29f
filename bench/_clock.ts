/**
 * The clock of the per-call figures (an export call, a host call): the
 * measuring thread's CPU time where the bench can read it, else wall time.
 *
 * The machine the bench runs on is shared: other processes take turns on
 * its cores, and wall time counts their turns as ours (a host call measured
 * 12 ns on a quiet machine and 20 ns, or 32 ns beside two busy processes).
 * The calls run on the measuring thread alone, so its CPU time is their cost.
 * Deno reads it through FFI (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, Linux);
 * Node and browsers have no such clock with µs resolution, so there the
 * figures are medians of short batches ({@linkcode perCallNs}), which a turn
 * of another process rarely interrupts.
 * @module
 */

/** A clock in ms and what it counts. */
export interface Clock {
  /** Now, ms (from an arbitrary origin). */
  now(): number;
  /** What it counts. */
  kind: "thread CPU" | "wall";
}

/** Linux's `CLOCK_THREAD_CPUTIME_ID`. */
const CLOCK_THREAD_CPUTIME_ID = 3;

function threadCpuClock(): Clock | undefined {
  const deno = (globalThis as { Deno?: typeof Deno; }).Deno;
  if (deno?.build.os !== "linux" || typeof deno.dlopen !== "function") return undefined;
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  const libc = deno.dlopen("libc.so.6", {
    clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  });
  const time = new BigInt64Array(2);
  return {
    now() {
      if (libc.symbols.clock_gettime(CLOCK_THREAD_CPUTIME_ID, time) !== 0) {
        throw new Error("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
      }
      return Number(time[0]) * 1e3 + Number(time[1]) / 1e6;
    },
    kind: "thread CPU",
  };
}

/** The per-call figures' clock in this process. */
export const clock: Clock = threadCpuClock() ?? { now: () => performance.now(), kind: "wall" };

/**
 * The cost of one call, ns: the median over `batches` timings of `batch(calls)`, which
 * makes `calls` calls (each batch short, ~0.1-0.5 ms: a turn of another process on the
 * core, when the clock counts them, spoils few batches and not the median).
 */
export function perCallNs(batches: number, calls: number, batch: (calls: number) => void): number {
  const times: number[] = [];
  for (let k = 0; k < batches; k++) {
    const t = clock.now();
    batch(calls);
    times.push(clock.now() - t);
  }
  times.sort((a, b) => a - b);
  return (times[batches >> 1] * 1e6) / calls;
}
