/**
 * A growable list of 32-bit integers in one typed array, for the
 * translators' deferred fix-ups: reused across programs, it neither
 * allocates nor grows in the steady state (plain arrays did both, per
 * program, and showed up in translation profiles).
 * @module
 */

/** A list of int32 values (larger values keep their low 32 bits). */
export class IntList {
  #items: Int32Array;
  /** Number of values. */
  length = 0;

  /** An empty list with room for `capacity` values before it grows. */
  constructor(capacity = 1024) {
    this.#items = new Int32Array(capacity);
  }

  /** Appends `value`. */
  push(value: number): void {
    if (this.length === this.#items.length) {
      const bigger = new Int32Array(2 * this.length);
      bigger.set(this.#items);
      this.#items = bigger;
    }
    this.#items[this.length++] = value;
  }

  /** Appends `a` then `b` (one capacity check: pairs are the common entry). */
  push2(a: number, b: number): void {
    if (this.length + 2 > this.#items.length) {
      const bigger = new Int32Array(2 * this.#items.length + 2);
      bigger.set(this.#items);
      this.#items = bigger;
    }
    const items = this.#items, n = this.length;
    items[n] = a;
    items[n + 1] = b;
    this.length = n + 2;
  }

  /** The value at `index` (below `length`). */
  get(index: number): number {
    return this.#items[index];
  }

  /** Empties the list, keeping its storage. */
  clear(): void {
    this.length = 0;
  }
}
