/**
 * A function body's writer that declares only the locals the body uses.
 *
 * The emitter names locals by fixed indexes (wasm/_control.ts `Local`: a
 * local per guest register, scratch, gas), but a region's function touches a
 * few of them: 15 of 53 in the contract's. V8's baseline compiler (Liftoff)
 * keeps every declared local in the state it copies at each branch target,
 * so its time grows with the declared count: compacting them took the
 * contract's 13.7 KB functions from about 4 ms each to under 1 ms. Here
 * every `local.get`/`local.set`/`local.tee` written with {@linkcode u8x2}
 * gets the next free index at its local's first use, and
 * {@linkcode BodyWriter.declareLocals} writes the declarations in front of
 * the body once it is complete.
 * @module
 */
import { ByteWriter, I32, I64 } from "./_binary.ts";

const GET = 0x20, TEE = 0x22;
/** Marks a fixed index with no compact index yet. */
const NONE = 0xff;

/** A {@linkcode ByteWriter} for function bodies that numbers their locals in order of first use. */
export class BodyWriter extends ByteWriter {
  /** Compact index by fixed index. */
  readonly #compact: Uint8Array;
  /** Fixed index by compact index (the declarations' order). */
  readonly #fixed: Uint8Array;
  #count = 0;

  /**
   * `params`: the parameters, whose indexes stay; `locals`: how many fixed
   * indexes there are in all; `i64`: the one that is an i64 (the others are i32).
   */
  constructor(
    readonly params: number,
    locals: number,
    readonly i64: number,
    capacity?: number,
  ) {
    super(capacity);
    this.#compact = new Uint8Array(locals);
    this.#fixed = new Uint8Array(locals);
    if (locals > 127) throw new Error("local indexes must stay single LEB128 bytes");
    this.#reset();
  }

  #reset(): void {
    this.#compact.fill(NONE);
    for (let p = 0; p < this.params; p++) this.#compact[p] = p;
    this.#count = this.params;
  }

  /** Two bytes; for a local instruction, the local's compact index as the second. */
  override u8x2(a: number, b: number): void {
    if (a >= GET && a <= TEE) {
      let index = this.#compact[b];
      if (index === NONE) {
        index = this.#compact[b] = this.#count++;
        this.#fixed[index] = b;
      }
      b = index;
    }
    super.u8x2(a, b);
  }

  /**
   * Inserts the declarations of the locals used since `start` (where the body
   * began) in front of it, and starts numbering afresh for the next body.
   */
  declareLocals(start: number): void {
    const declarations = new ByteWriter(16);
    let groups = 0;
    for (let k = this.params; k < this.#count;) {
      const type = this.#fixed[k] === this.i64 ? I64 : I32;
      let run = 1;
      while (k + run < this.#count && (this.#fixed[k + run] === this.i64 ? I64 : I32) === type) {
        run++;
      }
      declarations.uleb(run);
      declarations.u8(type);
      groups++;
      k += run;
    }
    const head = new ByteWriter(20);
    head.uleb(groups);
    head.append(declarations.view());
    const size = head.length;
    this.append(head.view()); // room at the end, then moved to the front
    this.bytes.copyWithin(start + size, start, this.length - size);
    this.bytes.set(head.view(), start);
    this.#reset();
  }
}
