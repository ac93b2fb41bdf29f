/**
 * Which guest registers a region's function may hold in its locals with a
 * value the state block lacks ("dirty") at a host call, when it came there
 * from its previous host call by static edges only (the function's `CLEAN`
 * local, wasm/_control.ts): those it stores before the call
 * (wasm/_jumps.ts), instead of every register it writes. A host call leaves
 * none dirty (it stores them, then loads what changed); an instruction
 * dirties the register it writes. A block takes what the blocks that go on
 * into it by a static edge leave: the one before it, and the branches and
 * jumps that name it. Every other way in — the function's entry, a dispatch
 * on a computed index (an indirect jump, what a call returned) — clears
 * `CLEAN`, and a host call reached that way stores every register.
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import { FALLS_THROUGH, GROUP } from "../jit/_lower.ts";

/** `GROUP` of the conditional branches and of JAL. */
const BRANCH = 7, JAL = 8;

/**
 * The dirty registers (mask) at each host call of the region of
 * instructions `[from, to)`, by instruction index minus `from`: at a listed
 * ECALL, and at a JAL that `callsStub` says calls an import stub (its link
 * included); 0 elsewhere.
 */
export function dirtyAtHostCalls(
  code: DecodedCode,
  from: number,
  to: number,
  callsStub: (i: number) => boolean,
): Int32Array {
  const { leader, op, rd, target, hostcall, segmentEnd } = code;
  const isHostCall = (i: number) => hostcall[i] >= 0 || (GROUP[op[i]] === JAL && callsStub(i));
  let calls = false;
  for (let i = from; i < to && !calls; i++) calls = isHostCall(i);
  if (!calls) return new Int32Array(to - from); // most regions: no flow to compute
  const starts: number[] = []; // the region's blocks' first instructions
  const blockAt = new Int32Array(to - from).fill(-1);
  for (let i = from; i < to; i++) {
    if (leader[i] || i === from) {
      blockAt[i - from] = starts.length;
      starts.push(i);
    }
  }
  starts.push(to);
  const blocks = starts.length - 1;
  const into = new Int32Array(blocks);
  const reached = new Uint8Array(blocks); // from a host call, by static edges
  const dirty = new Int32Array(to - from);
  // A worklist, first-in first-out, of the blocks to (re)visit: each block at first, then a
  // block again each time what it takes grows, which happens at most 33 times (reached, then
  // a register more): linear in the region's size, whatever its loops.
  const queue = new Int32Array(blocks), queued = new Uint8Array(blocks).fill(1);
  for (let b = 0; b < blocks; b++) queue[b] = b;
  let head = 0, waiting = blocks;
  /** Adds `mask` to what instruction `i` takes, if it starts a block of the region. */
  const flow = (i: number, mask: number) => {
    const b = i >= from && i < to ? blockAt[i - from] : -1;
    if (b < 0 || (reached[b] === 1 && (into[b] | mask) === into[b])) return;
    reached[b] = 1;
    into[b] |= mask;
    if (queued[b] === 1) return;
    queued[b] = 1;
    queue[(head + waiting++) % blocks] = b;
  };
  while (waiting > 0) {
    const b = queue[head];
    head = (head + 1) % blocks;
    waiting--;
    queued[b] = 0;
    let live = reached[b] === 1, d = into[b];
    const last = starts[b + 1] - 1;
    for (let i = starts[b]; i <= last; i++) {
      if (rd[i] !== 0) d |= 1 << rd[i];
      if (isHostCall(i)) {
        dirty[i - from] = live ? d : 0; // unreached: CLEAN is 0 there
        live = true;
        d = 0;
      }
    }
    if (!live) continue;
    const group = GROUP[op[last]];
    if ((group === BRANCH || group === JAL) && target[last] >= 0) flow(target[last], d);
    // Falling through, a branch not taken, after a host call or a call (linking).
    const next = FALLS_THROUGH[op[last]] || hostcall[last] >= 0 || rd[last] !== 0;
    if (next && !segmentEnd[last]) flow(last + 1, d);
  }
  return dirty;
}
