/** Seeded randomness for fuzz-style tests: the same seed gives the same cases everywhere. */

/** mulberry32: a small, fast, seeded generator; returns numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Integer and choice helpers over a seeded generator. */
export function seeded(seed: number): { int(n: number): number; pick<T>(list: readonly T[]): T; } {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  return { int, pick: (list) => list[int(list.length)] };
}
