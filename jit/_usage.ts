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

/** Reused between programs: a fresh typed array per program costs more than the pass. */
let loopStarts = new Int32Array(1024);
const uses = new Int32Array(32);

/** The guest registers (x1..x31) the code names, most used first (ties: lower number first). */
export function registerRanking(code: DecodedCode): number[] {
  const { count, op, imm, pc, rd, rs1, rs2, slots, start, end } = code;
  // Backwards, so each loop's range opens at its branch and closes at its
  // target (`loopStarts` counts the ranges that close at an instruction).
  if (loopStarts.length < count) loopStarts = new Int32Array(count + 1024);
  const starts = loopStarts.fill(0, 0, count);
  uses.fill(0);
  let depth = 0;
  for (let i = count - 1; i >= 0; i--) {
    if (imm[i] < 0 && DIRECT_JUMP[op[i]] === 1) {
      // instructionAt, inline: calling it here made the whole translation ~30% slower (measured).
      const target = pc[i] + imm[i];
      const t = target >= start && target < end && (target & 1) === 0
        ? slots[(target - start) >>> 1]
        : -1;
      if (t >= 0) {
        depth++;
        starts[t]++;
      }
    }
    const weight = depth > 0 ? 8 : 1;
    uses[rd[i]] += weight;
    uses[rs1[i]] += weight;
    uses[rs2[i]] += weight;
    depth -= starts[i];
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
