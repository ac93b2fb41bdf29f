/**
 * Which guest registers a program uses most, for backends that cannot keep
 * all of them in host registers. One linear pass over the decoded operands;
 * instructions inside a backward branch's range (a loop) count 8 times.
 * @module
 */
import type { DecodedCode } from "../abi/code.ts";
import { OPS } from "../abi/isa.ts";

/** 1 for branches and JAL: ops whose immediate is a jump offset. */
const DIRECT_JUMP = Uint8Array.from(OPS, (o) => (o.kind === "branch" || o.kind === "jal" ? 1 : 0));

/**
 * Use counts: one row of 32 per operand field and per instruction parity,
 * summed at the end. A single array made every increment wait for the one
 * before it (consecutive instructions name the same registers, x0 most);
 * separate rows keep the loop from being bound by that chain (measured).
 */
const counts = new Int32Array(6 * 32);
const uses = new Int32Array(32);

/** The guest registers (x1..x31) the code names, most used first (ties: lower number first). */
export function registerRanking(code: DecodedCode): number[] {
  const { count, op, imm, pc, rd, rs1, rs2 } = code;
  counts.fill(0);
  // Backwards: a backward branch opens a loop that lasts down to its target
  // address. Nested and overlapping loops only lower that bound, and once
  // the walk passes below it the loop has closed. Comparing addresses needs
  // no lookup of the target instruction (a table lookup per branch here
  // measured as a sizable share of the whole translation).
  let loopStart = 2 ** 32;
  for (let i = count - 1; i >= 0; i--) {
    if (imm[i] < 0 && DIRECT_JUMP[op[i]] === 1) {
      const target = pc[i] + imm[i];
      if (target < loopStart) loopStart = target;
    }
    const weight = pc[i] >= loopStart ? 8 : 1;
    const row = (i & 1) * 96;
    counts[row + rd[i]] += weight;
    counts[row + 32 + rs1[i]] += weight;
    counts[row + 64 + rs2[i]] += weight;
  }
  for (let r = 0; r < 32; r++) {
    uses[r] = counts[r] + counts[32 + r] + counts[64 + r] + counts[96 + r] + counts[128 + r]
      + counts[160 + r];
  }
  // Insertion sort of at most 31 registers: no closures, no intermediate arrays.
  const ranked: number[] = [];
  for (let r = 1; r < 32; r++) {
    const n = uses[r];
    if (n === 0) continue;
    let k = ranked.length;
    ranked.push(r);
    while (k > 0 && uses[ranked[k - 1]] < n) {
      ranked[k] = ranked[k - 1];
      k--;
    }
    ranked[k] = r;
  }
  return ranked;
}

/** `hostOf[x]`: the host register of guest `x` (the most used get `hostOrder`), or -1 for memory. */
export function pinRegisters(code: DecodedCode, hostOrder: readonly number[]): number[] {
  // A plain array: a typed array costs a microsecond to allocate, a sizable part of a small program.
  const hostOf = new Array<number>(32).fill(-1);
  const ranked = registerRanking(code);
  const n = Math.min(ranked.length, hostOrder.length);
  for (let k = 0; k < n; k++) hostOf[ranked[k]] = hostOrder[k];
  return hostOf;
}
