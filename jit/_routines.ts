/**
 * The labels of the routines every backend places at the start of a
 * translated program (entry, exit, indirect-jump lookup, exact memory
 * checks). Each backend's `_runtime.ts` extends this and emits them; the
 * register roles in the comments are the x86-64 / AArch64 names.
 * @module
 */

/** Routine labels, allocated from the backend's assembler. */
export class RoutineLabels {
  /** Writes the guest state back and returns to the host (`EXIT_*` already set). */
  readonly exit: number;
  /** Exit with OutOfGas (`EXIT_PC` already set). */
  readonly outOfGas: number;
  /**
   * Exits with `Exit.UNPAID` when a block's entry cannot be paid. AArch64:
   * jumped to with `EXIT_PC` set; x86-64: called from the block's cold path,
   * which names the block by native address (x64/_runtime.ts).
   */
  readonly unpaid: number;
  /**
   * In: the target (even) in EAX / W16 and the site pc in EDX / W17. Out:
   * the jump-table entry in RAX / X15 and the native address in RDX / X17;
   * or exits with InvalidJump.
   */
  readonly lookup: number;
  /** In: the jump-table entry. Charges its entry cost, or exits with OutOfGas at the target. */
  readonly charge: number;
  /** `lookup` then `charge`. */
  readonly lookupAndCharge: number;
  /** Ends the call: a jump to HOST_RETURN_ADDRESS. */
  protected readonly hostReturn: number;
  /** A jump-table entry with cost 0 (what a return to the host charges). */
  protected readonly zeroCost: number;
  readonly #slow: number[] = [];

  constructor(label: () => number) {
    this.exit = label();
    this.outOfGas = label();
    this.unpaid = label();
    this.lookup = label();
    this.charge = label();
    this.lookupAndCharge = label();
    this.hostReturn = label();
    this.zeroCost = label();
    for (let i = 0; i < 6; i++) this.#slow.push(label());
  }

  /** Every routine label, in a fixed order (for binding copied routine code). */
  protected routineLabels(): number[] {
    return [
      this.exit,
      this.outOfGas,
      this.unpaid,
      this.lookup,
      this.charge,
      this.lookupAndCharge,
      this.hostReturn,
      this.zeroCost,
      ...this.#slow,
    ];
  }

  /**
   * The exact check routine for a `width`-byte access, address in EAX / W16.
   * x86-64: called from the access's cold path, which names the instruction
   * by native address (x64/_runtime.ts); AArch64: the pc in W17.
   */
  slowCheck(width: number, write: boolean): number {
    return this.#slow[(width >> 1) * 2 + (write ? 1 : 0)];
  }
}
