/**
 * Which guest registers a region's function may hold in its locals with a
 * value the state block lacks ("dirty") at each host call: those it stores
 * before the call (wasm/_jumps.ts), instead of every register it writes. A
 * forward data flow over the region's blocks: none is dirty at the
 * function's entry (it loads them all), after a host call (it stores them,
 * then loads what changed) or after a call of another region (likewise); an
 * instruction dirties the register it writes. A block takes what the blocks
 * that go on into it by a static edge leave: the one before it, and the
 * branches and jumps that name it. An indirect jump stores what is dirty
 * there (but its link) before it dispatches, since the dispatch may enter
 * any block: a block takes only the links of the region's indirect calls
 * that way. Knowing it statically, a host call needs no flag saying how the
 * code came to it: checking one, with a branch around storing every
 * register, cost about 1.4 ns a call.
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import { FALLS_THROUGH, GROUP } from "../jit/_lower.ts";

/** `GROUP` of the conditional branches, of JAL and of JALR. */
const BRANCH = 7, JAL = 8, JALR = 9;

/**
 * The dirty registers (mask) at each host call of the region of
 * instructions `[from, to)`, by instruction index minus `from`: at a listed
 * ECALL, and at a JAL that `callsStub` says calls an import stub (its link
 * included); at a JALR, those it stores (its link not included); 0 elsewhere.
 * All 0 for a region without host calls.
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
  // What a dispatch may enter any block with: the links of the indirect calls.
  let links = 0;
  for (let i = from; i < to; i++) if (GROUP[op[i]] === JALR && rd[i] !== 0) links |= 1 << rd[i];
  const blocks = starts.length - 1;
  const into = new Int32Array(blocks).fill(links);
  const dirty = new Int32Array(to - from);
  // A worklist, first-in first-out, of the blocks to (re)visit: each block at first, then a
  // block again each time what it takes grows, which happens at most 32 times (a register
  // more): linear in the region's size, whatever its loops.
  const queue = new Int32Array(blocks), queued = new Uint8Array(blocks).fill(1);
  for (let b = 0; b < blocks; b++) queue[b] = b;
  let head = 0, waiting = blocks;
  /** Adds `mask` to what instruction `i` takes, if it starts a block of the region. */
  const flow = (i: number, mask: number) => {
    const b = i >= from && i < to ? blockAt[i - from] : -1;
    if (b < 0 || (into[b] | mask) === into[b]) return;
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
    let d = into[b];
    const last = starts[b + 1] - 1;
    for (let i = starts[b]; i <= last; i++) {
      if (GROUP[op[i]] === JALR) dirty[i - from] = d;
      if (rd[i] !== 0) d |= 1 << rd[i];
      if (isHostCall(i)) {
        dirty[i - from] = d;
        d = 0;
      }
    }
    const group = GROUP[op[last]];
    if ((group === BRANCH || group === JAL) && target[last] >= 0) flow(target[last], d);
    // Falling through, a branch not taken, after a host call or a call (linking).
    const next = FALLS_THROUGH[op[last]] || hostcall[last] >= 0 || rd[last] !== 0;
    if (next && !segmentEnd[last]) flow(last + 1, d);
  }
  return dirty;
}
