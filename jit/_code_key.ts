/**
 * What a translation depends on, as a key for the code cache: the decoded
 * code is a function of the ISA (RV32E or not), the code segments (address
 * and file bytes), the block leaders the entry point and exports add, and
 * the import number of each host-call site; the backend is fixed per
 * process. A key hashes those (53 bits, for a Map) and compares them
 * exactly, so a hash collision never shares code between different
 * programs.
 * @module
 */
import type { ProgramImage } from "../abi/load.ts";

/** Multipliers of the two hash lanes (odd 32-bit constants with well-mixed bits). */
const M1 = 0x9e3779b1 | 0, M2 = 0x85ebca77 | 0;

/** The two 32-bit hash lanes, kept between calls of {@linkcode mix} (no allocation). */
const lanes = new Int32Array(2);

/** Mixes `words` into both lanes. */
function mix(words: Int32Array): void {
  let h1 = lanes[0], h2 = lanes[1];
  for (let k = 0; k < words.length; k++) {
    const w = words[k];
    h1 = Math.imul(h1 ^ w, M1);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = Math.imul(h2 + w, M2);
    h2 ^= h2 >>> 15;
  }
  lanes[0] = h1;
  lanes[1] = h2;
}

/** `bytes` as little-endian words (a view when aligned, else a copy), the tail zero-padded. */
function wordsOf(bytes: Uint8Array): Int32Array {
  if ((bytes.byteOffset & 3) === 0 && (bytes.length & 3) === 0) {
    return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  }
  const words = new Int32Array((bytes.length + 3) >> 2);
  new Uint8Array(words.buffer).set(bytes);
  return words;
}

/** A program's translation inputs, hashed. */
export class CodeKey {
  /** A 53-bit hash of the inputs (equal keys have equal hashes). */
  readonly hash: number;
  /** ISA, entry point, export addresses, host-call sites and segment layout, as numbers. */
  readonly #facts: Int32Array;
  /** The code segments' bytes, one after the other. */
  readonly #code: Uint8Array[];

  private constructor(facts: Int32Array, code: Uint8Array[], hash: number) {
    this.#facts = facts;
    this.#code = code;
    this.hash = hash;
  }

  /** The key of `image` (its code segments are referred to, not copied: see `detached`). */
  static of(image: ProgramImage): CodeKey {
    const code = image.code;
    const facts: number[] = [image.rve ? 1 : 0, image.entry | 0];
    const exports = [...new Set(image.exports.values())].sort((a, b) => a - b);
    facts.push(exports.length, ...exports);
    const { hostcall, pc, count } = code;
    let sites = 0;
    const at = facts.push(0) - 1;
    for (let i = 0; i < count; i++) {
      if (hostcall[i] >= 0) {
        facts.push(pc[i] | 0, hostcall[i]);
        sites++;
      }
    }
    facts[at] = sites;
    const segments = image.segments.filter((s) => s.exec && s.data.length > 0);
    facts.push(segments.length);
    for (const s of segments) facts.push(s.vaddr | 0, s.data.length);
    const numbers = Int32Array.from(facts);
    lanes[0] = 0x12345678;
    lanes[1] = numbers.length;
    mix(numbers);
    const bytes = segments.map((s) => s.data);
    for (const b of bytes) mix(wordsOf(b));
    const hash = (lanes[0] >>> 0) * 2 ** 21 + (lanes[1] >>> 11);
    return new CodeKey(numbers, bytes, hash);
  }

  /** The same key over its own copy of the code (so that a cache entry does not keep a file alive). */
  detached(): CodeKey {
    return new CodeKey(this.#facts, this.#code.map((b) => b.slice()), this.hash);
  }

  /** Bytes the key holds. */
  get byteLength(): number {
    return this.#facts.byteLength + this.#code.reduce((n, b) => n + b.length, 0);
  }

  /** Whether `other` describes the same translation inputs. */
  equals(other: CodeKey): boolean {
    if (other.hash !== this.hash || !sameWords(other.#facts, this.#facts)) return false;
    const a = this.#code, b = other.#code;
    for (let s = 0; s < a.length; s++) {
      if (!sameWords(wordsOf(a[s]), wordsOf(b[s]))) return false;
    }
    return true;
  }
}

function sameWords(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}
