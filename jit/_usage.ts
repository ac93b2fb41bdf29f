/**
 * Which guest registers a program uses most, for backends that cannot keep
 * all of them in host registers. One linear pass over the decoded operands;
 * instructions inside a backward branch's range (a loop) count 8 times.
 * @module
 */
import { type DecodedCode, instructionAt } from "../abi/code.ts";
import { OPS } from "../abi/isa.ts";

/** 1 for branches and JAL: ops whose immediate is a jump offset. */
const DIRECT_JUMP = Uint8Array.from(OPS, (o) => (o.kind === "branch" || o.kind === "jal" ? 1 : 0));

/** Reused between programs: a fresh typed array per program costs more than the pass. */
let loopStarts = new Int32Array(1024);

/** The guest registers (x1..x31) the code names, most used first (ties: lower number first). */
export function registerRanking(code: DecodedCode): number[] {
  const { count, op, imm, pc, rd, rs1, rs2 } = code;
  // Backwards, so each loop's range opens at its branch and closes at its
  // target (`loopStarts` counts the ranges that close at an instruction).
  if (loopStarts.length < count) loopStarts = new Int32Array(count + 1024);
  const starts = loopStarts.fill(0, 0, count);
  const uses = new Int32Array(32);
  let depth = 0;
  for (let i = count - 1; i >= 0; i--) {
    if (imm[i] < 0 && DIRECT_JUMP[op[i]] === 1) {
      const target = instructionAt(code, (pc[i] + imm[i]) >>> 0);
      if (target >= 0) {
        depth++;
        starts[target]++;
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
    while (k > 0 && uses[ranked[k - 1]] < n) k--;
    ranked.splice(k, 0, r);
  }
  return ranked;
}

/** `hostOf[x]`: the host register of guest `x` (the most used get `hostOrder`), or -1 for memory. */
export function pinRegisters(code: DecodedCode, hostOrder: readonly number[]): Int8Array {
  const hostOf = new Int8Array(32).fill(-1);
  registerRanking(code).slice(0, hostOrder.length).forEach((
    guest,
    k,
  ) => (hostOf[guest] = hostOrder[k]));
  return hostOf;
}
