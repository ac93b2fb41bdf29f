/**
 * The deferred fix-ups of one x86-64 translation, by kind, in typed arrays
 * reused across programs: the translation loop makes room for a batch of
 * instructions at once (`reserve`), so a push is a plain store.
 * @module
 */

/** Values an instruction adds to a list at most (a full lookup or an invalid jump: 3). */
const PER_INSTRUCTION = 3;

/** Grows `list` so that `more` values fit after its first `length`. */
function withRoom(list: Int32Array<ArrayBuffer>, length: number, more: number) {
  if (length + more <= list.length) return list;
  const bigger = new Int32Array(2 * list.length + more);
  bigger.set(list);
  return bigger;
}

/** The fix-ups of one translation. */
export class Fixups {
  /** Unpaid block charges: the `js` field (the block's body follows it). */
  unpaid = new Int32Array(1024);
  /** Forward jumps: (rel32 field, instruction). */
  forward = new Int32Array(2048);
  /** Memory accesses: (the window check's first rel32 field, its slot). */
  memory = new Int32Array(2048);
  /** Full lookups of indirect jumps: (two rel32 fields, pc). */
  lookups = new Int32Array(3072);
  /** Branches to non-instructions: (rel32 field, pc, target pc). */
  jumps = new Int32Array(3072);
  /** Values in each list. */
  nUnpaid = 0;
  nForward = 0;
  nMemory = 0;
  nLookups = 0;
  nJumps = 0;

  /** Empties every list (keeping their storage). */
  clear(): void {
    this.nUnpaid =
      this.nForward =
      this.nMemory =
      this.nLookups =
      this.nJumps =
        0;
  }

  /** Makes room for what `instructions` more instructions can add. */
  reserve(instructions: number): void {
    const more = PER_INSTRUCTION * instructions;
    this.unpaid = withRoom(this.unpaid, this.nUnpaid, more);
    this.forward = withRoom(this.forward, this.nForward, more);
    this.memory = withRoom(this.memory, this.nMemory, more);
    this.lookups = withRoom(this.lookups, this.nLookups, more);
    this.jumps = withRoom(this.jumps, this.nJumps, more);
  }

  /** Whether every list is small enough to keep for the next translation. */
  keepable(limit: number): boolean {
    return this.unpaid.length + this.forward.length + this.memory.length + this.lookups.length
        + this.jumps.length <= limit;
  }

  /** A block charge's `js` field. */
  addUnpaid(field: number): void {
    this.unpaid[this.nUnpaid++] = field;
  }

  /** A forward jump's rel32 field and its target instruction. */
  addForward(field: number, target: number): void {
    const n = this.nForward;
    this.forward[n] = field;
    this.forward[n + 1] = target;
    this.nForward = n + 2;
  }

  /** A window check's first rel32 field and its slot. */
  addMemory(field: number, slot: number): void {
    const n = this.nMemory;
    this.memory[n] = field;
    this.memory[n + 1] = slot;
    this.nMemory = n + 2;
  }

  /** The two rel32 fields of an inline indirect-jump lookup, and its pc. */
  addLookup(first: number, second: number, pc: number): void {
    const n = this.nLookups;
    this.lookups[n] = first;
    this.lookups[n + 1] = second;
    this.lookups[n + 2] = pc;
    this.nLookups = n + 3;
  }

  /** A branch's rel32 field, its pc and its target (not an instruction). */
  addJump(field: number, pc: number, target: number): void {
    const n = this.nJumps;
    this.jumps[n] = field;
    this.jumps[n + 1] = pc;
    this.jumps[n + 2] = target;
    this.nJumps = n + 3;
  }
}
