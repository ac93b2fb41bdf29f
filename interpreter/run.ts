/**
 * The interpreter's dispatch loop. One function, one `switch` over literal
 * case numbers (V8 turns dense literal cases into a jump table; named
 * constants would become a chain of compares). Each case's comment names its
 * op; tests/interpreter_ops_test.ts checks the numbers against abi/isa.ts and
 * compile.ts, so the table stays the single definition.
 *
 * Memory accesses test the fast windows of abi/memory.ts with one unsigned
 * compare and fall back to the exact region check.
 * @module
 */
import { HOST_RETURN_ADDRESS } from "../abi/constants.ts";
import type { RunOutcome } from "../abi/engine.ts";
import { callImport } from "../abi/host.ts";
import { amo, div, divu, mulh, mulhsu, mulhu, rem, remu } from "./_arith.ts";
import { type CompiledCode, UNCOMPILED } from "./compile.ts";
import type { Interpreter } from "./mod.ts";

/**
 * The registers while the loop runs (x0..x31, the x0 sink), given back to
 * the engine (`release`) before anything else may read or run them: a trap,
 * a host call, the trace hook, the end of a run. A module constant, not the
 * engine's array: TurboFan embeds its address and length in the code, so
 * a register access checks no map and loads no length or data pointer.
 * 64 long, so that a 6-bit register field never needs a bounds check.
 */
const LIVE = new Int32Array(64);
const LIVE_OWN = LIVE.subarray(0, 33);

/** Copies the live registers back to `s` and returns it. */
function release(s: Interpreter): Interpreter {
  s.regs.set(LIVE_OWN);
  return s;
}

/** Whether the branch of word `w` is taken. */
function branchTaken(w: number): boolean {
  const a = LIVE[(w >>> 14) & 63];
  const b = LIVE[(w >>> 20) & 63];
  switch (w & 255) {
    case 5: // BEQ
      return a === b;
    case 6: // BNE
      return a !== b;
    case 7: // BLT
      return a < b;
    case 8: // BGE
      return a >= b;
    case 9: // BLTU
      return a >>> 0 < b >>> 0;
    default: // BGEU
      return a >>> 0 >= b >>> 0;
  }
}

/**
 * Runs from entry `k` after charging `charge` (an indirect entry's mid-block
 * cost) until return, exit or trap.
 */
export function execute(
  s: Interpreter,
  code: CompiledCode,
  start: number,
  charge: number,
): RunOutcome | "slice" {
  // `| 0` types k as an int32 for TurboFan: a parameter (or a call's result) flowing into it
  // would make it a tagged value, untagged at every turn of the loop.
  let k = start | 0;
  const r = LIVE;
  LIVE.set(s.regs);
  const mem = s.memory;
  const imports = s.imports;
  const { insn, pcs, midCost, entryOf, codeStart, flatLength } = code;
  let u8 = mem.bytes; // reloaded after host calls: a growing heap replaces them
  let dv = mem.view;
  const base = mem.base;
  // Hot state lives in locals; no closure may capture them, or V8 would move
  // them into a heap context and every access would become a memory load.
  // `gas` is this slice's share; the rest waits in `reserve` (see Interpreter.run).
  const reserve = s.reserve;
  let gas = s.gas - reserve;
  let rs = mem.readStart;
  let rl1 = mem.readEnd - rs - 1;
  let ws = mem.writeStart;
  let wl1 = mem.writeEnd - ws - 1;
  if (charge !== 0) {
    if (gas < charge) return release(s).outOfGas(k, gas, charge);
    gas -= charge;
  }
  let taken = false;
  for (;;) {
    let w = insn[k << 1];
    let imm = insn[(k << 1) | 1];
    let rd = (w >>> 8) & 63;
    let rs1 = (w >>> 14) & 63;
    let rs2 = (w >>> 20) & 63;
    linearSecond: {
      switch (w & 255) {
        case 61: // GAS
          if (gas < imm) return release(s).outOfGas(k, gas, 0);
          gas -= imm;
          k++;
          continue;
        case 19: // ADDI
          r[rd] = r[rs1] + imm;
          k++;
          continue;
        case 67: // LINEAR_PAIR
          r[rd] = r[rs1] + r[rs2] + imm;
          break linearSecond;
        case 75: { // LINEAR_LW
          r[rd] = r[rs1] + r[rs2] + imm;
          k++;
          // The LW in the window here; else (or a fault) by its own entry.
          const w2 = insn[k << 1];
          const a = (r[(w2 >>> 14) & 63] + insn[(k << 1) | 1]) >>> 0;
          if ((a - rs) >>> 0 <= rl1 - 3) {
            r[(w2 >>> 8) & 63] = dv.getInt32(a - base, true);
            k++;
          }
          continue;
        }
        case 76: { // LINEAR_LBU
          r[rd] = r[rs1] + r[rs2] + imm;
          k++;
          const w2 = insn[k << 1];
          const a = (r[(w2 >>> 14) & 63] + insn[(k << 1) | 1]) >>> 0;
          if ((a - rs) >>> 0 <= rl1) {
            r[(w2 >>> 8) & 63] = u8[a - base];
            k++;
          }
          continue;
        }
        case 68: // LINEAR_BRANCH
          r[rd] = r[rs1] + r[rs2] + imm;
          k++;
          w = insn[k << 1];
          imm = insn[(k << 1) | 1];
          taken = branchTaken(w);
          break;
        case 62: // LI
          r[rd] = imm;
          k++;
          continue;
        case 63: // MV
          r[rd] = r[rs1];
          k++;
          continue;
        case 65: // NOP
          k++;
          continue;
        case 5: // BEQ
          taken = r[rs1] === r[rs2];
          break;
        case 6: // BNE
          taken = r[rs1] !== r[rs2];
          break;
        case 7: // BLT
          taken = r[rs1] < r[rs2];
          break;
        case 8: // BGE
          taken = r[rs1] >= r[rs2];
          break;
        case 9: // BLTU
          taken = r[rs1] >>> 0 < r[rs2] >>> 0;
          break;
        case 10: // BGEU
          taken = r[rs1] >>> 0 >= r[rs2] >>> 0;
          break;
        case 3: // JAL
          r[rd] = pcs[k] + rs2;
          taken = true;
          break;
        case 77: // LINEAR_JALR
          // The linear op, then the JALR of the next entry (the case below) with its fields.
          r[rd] = r[rs1] + r[rs2] + imm;
          k++;
          w = insn[k << 1];
          imm = insn[(k << 1) | 1];
          rd = (w >>> 8) & 63;
          rs1 = (w >>> 14) & 63;
          rs2 = (w >>> 20) & 63;
        // falls through
        case 4: { // JALR
          const target = ((r[rs1] + imm) & ~1) >>> 0;
          const link = pcs[k] + rs2;
          if (target === HOST_RETURN_ADDRESS) {
            r[rd] = link;
            s.gas = gas + reserve;
            release(s);
            return "return";
          }
          const offset = target - codeStart;
          // Known entries come from the flat table; the first jump to each (or beyond it) resolves it.
          let e = offset >= 0 && offset < flatLength ? entryOf[offset >>> 1] - 1 : -1;
          if (e < 0) {
            e = code.enter(target) | 0;
            if (e < 0) {
              s.gas = gas + reserve;
              return release(s).raise(k, "InvalidJump", target);
            }
          }
          r[rd] = link;
          const cost = midCost[e];
          if (cost !== 0) { // an indirect entry into a block
            if (gas < cost) return release(s).outOfGas(e, gas, cost);
            gas -= cost;
            k = e;
            continue;
          }
          // e starts a block: charge its GAS entry here and go on past it.
          const c = insn[(e << 1) + 1];
          if (gas < c) return release(s).outOfGas(e, gas, 0);
          gas -= c;
          k = e + 1;
          continue;
        }
        case 11: { // LB
          const a = (r[rs1] + imm) >>> 0;
          if ((a - rs) >>> 0 > rl1 && !mem.accessible(a, 1, false)) {
            return release(s).fault(k, gas, a, "read");
          }
          r[rd] = (u8[a - base] << 24) >> 24;
          k++;
          continue;
        }
        case 12: { // LH
          const a = (r[rs1] + imm) >>> 0;
          if ((a - rs) >>> 0 > rl1 - 1 && !mem.accessible(a, 2, false)) {
            return release(s).fault(k, gas, a, "read");
          }
          r[rd] = dv.getInt16(a - base, true);
          k++;
          continue;
        }
        case 69: { // LW_PAIR
          // Both in the window: one dispatch. Else the first alone, as an LW (the case below).
          const a = (r[rs1] + imm) >>> 0;
          if ((a - rs) >>> 0 <= rl1 - 3) {
            r[rd] = dv.getInt32(a - base, true);
            k++;
            const w2 = insn[k << 1];
            const b = (r[(w2 >>> 14) & 63] + insn[(k << 1) | 1]) >>> 0;
            if ((b - rs) >>> 0 <= rl1 - 3) {
              r[(w2 >>> 8) & 63] = dv.getInt32(b - base, true);
              k++;
            }
            continue;
          }
        }
        // falls through
        case 13: { // LW
          const a = (r[rs1] + imm) >>> 0;
          if ((a - rs) >>> 0 > rl1 - 3 && !mem.accessible(a, 4, false)) {
            return release(s).fault(k, gas, a, "read");
          }
          r[rd] = dv.getInt32(a - base, true);
          k++;
          continue;
        }
        case 14: { // LBU
          const a = (r[rs1] + imm) >>> 0;
          if ((a - rs) >>> 0 > rl1 && !mem.accessible(a, 1, false)) {
            return release(s).fault(k, gas, a, "read");
          }
          r[rd] = u8[a - base];
          k++;
          continue;
        }
        case 15: { // LHU
          const a = (r[rs1] + imm) >>> 0;
          if ((a - rs) >>> 0 > rl1 - 1 && !mem.accessible(a, 2, false)) {
            return release(s).fault(k, gas, a, "read");
          }
          r[rd] = dv.getUint16(a - base, true);
          k++;
          continue;
        }
        case 74: { // SB_LINEAR
          // The SB in the window, then the linear op: one dispatch. Else the SB alone (below).
          const a = (r[rs1] + imm) >>> 0;
          if ((a - ws) >>> 0 <= wl1) {
            u8[a - base] = r[rs2];
            break linearSecond;
          }
        }
        // falls through
        case 16: { // SB
          const a = (r[rs1] + imm) >>> 0;
          if ((a - ws) >>> 0 > wl1 && !mem.accessible(a, 1, true)) {
            return release(s).fault(k, gas, a, "write");
          }
          u8[a - base] = r[rs2];
          k++;
          continue;
        }
        case 17: { // SH
          const a = (r[rs1] + imm) >>> 0;
          if ((a - ws) >>> 0 > wl1 - 1 && !mem.accessible(a, 2, true)) {
            return release(s).fault(k, gas, a, "write");
          }
          dv.setInt16(a - base, r[rs2], true);
          k++;
          continue;
        }
        case 70: { // SW_PAIR
          // Both in the window: one dispatch. Else the first alone, as an SW (the case below).
          const a = (r[rs1] + imm) >>> 0;
          if ((a - ws) >>> 0 <= wl1 - 3) {
            dv.setInt32(a - base, r[rs2], true);
            k++;
            const w2 = insn[k << 1];
            const b = (r[(w2 >>> 14) & 63] + insn[(k << 1) | 1]) >>> 0;
            if ((b - ws) >>> 0 <= wl1 - 3) {
              dv.setInt32(b - base, r[(w2 >>> 20) & 63], true);
              k++;
            }
            continue;
          }
        }
        // falls through
        case 18: { // SW
          const a = (r[rs1] + imm) >>> 0;
          if ((a - ws) >>> 0 > wl1 - 3 && !mem.accessible(a, 4, true)) {
            return release(s).fault(k, gas, a, "write");
          }
          dv.setInt32(a - base, r[rs2], true);
          k++;
          continue;
        }
        case 20: // SLTI
          r[rd] = r[rs1] < imm ? 1 : 0;
          k++;
          continue;
        case 21: // SLTIU
          r[rd] = r[rs1] >>> 0 < imm >>> 0 ? 1 : 0;
          k++;
          continue;
        case 22: // XORI
          r[rd] = r[rs1] ^ imm;
          k++;
          continue;
        case 23: // ORI
          r[rd] = r[rs1] | imm;
          k++;
          continue;
        case 24: // ANDI
          r[rd] = r[rs1] & imm;
          k++;
          continue;
        case 25: // SLLI
          r[rd] = r[rs1] << imm;
          k++;
          continue;
        case 71: // SLLI_LINEAR
          r[rd] = r[rs1] << imm;
          break linearSecond;
        case 26: // SRLI
          r[rd] = r[rs1] >>> imm;
          k++;
          continue;
        case 72: // SRLI_LINEAR
          r[rd] = r[rs1] >>> imm;
          break linearSecond;
        case 27: // SRAI
          r[rd] = r[rs1] >> imm;
          k++;
          continue;
        case 28: // ADD
          r[rd] = r[rs1] + r[rs2];
          k++;
          continue;
        case 29: // SUB
          r[rd] = r[rs1] - r[rs2];
          k++;
          continue;
        case 30: // SLL
          r[rd] = r[rs1] << r[rs2];
          k++;
          continue;
        case 31: // SLT
          r[rd] = r[rs1] < r[rs2] ? 1 : 0;
          k++;
          continue;
        case 32: // SLTU
          r[rd] = r[rs1] >>> 0 < r[rs2] >>> 0 ? 1 : 0;
          k++;
          continue;
        case 33: // XOR
          r[rd] = r[rs1] ^ r[rs2];
          k++;
          continue;
        case 34: // SRL
          r[rd] = r[rs1] >>> r[rs2];
          k++;
          continue;
        case 35: // SRA
          r[rd] = r[rs1] >> r[rs2];
          k++;
          continue;
        case 36: // OR
          r[rd] = r[rs1] | r[rs2];
          k++;
          continue;
        case 37: // AND
          r[rd] = r[rs1] & r[rs2];
          k++;
          continue;
        case 40: { // ECALL
          s.gas = gas + reserve;
          const outcome = callImport(release(s), imports[imm]);
          LIVE.set(s.regs); // the host may have set registers, or run other instances
          gas = s.gas - reserve;
          if (outcome === "exit") return "exit";
          if (outcome !== undefined) {
            return release(s).raise(k, "HostError", undefined, undefined, -1, outcome.error);
          }
          u8 = mem.bytes; // the host may have moved the break
          dv = mem.view;
          rs = mem.readStart;
          rl1 = mem.readEnd - rs - 1;
          ws = mem.writeStart;
          wl1 = mem.writeEnd - ws - 1;
          k++;
          continue;
        }
        case 41: // EBREAK
          s.gas = gas + reserve;
          return release(s).raise(k, "Breakpoint", undefined, undefined, pcs[k] + rs2);
        case 42: // MUL
          r[rd] = Math.imul(r[rs1], r[rs2]);
          k++;
          continue;
        case 73: // MUL_LINEAR
          r[rd] = Math.imul(r[rs1], r[rs2]);
          break linearSecond;
        case 43: // MULH
          r[rd] = mulh(r[rs1], r[rs2]);
          k++;
          continue;
        case 44: // MULHSU
          r[rd] = mulhsu(r[rs1], r[rs2]);
          k++;
          continue;
        case 45: // MULHU
          r[rd] = mulhu(r[rs1], r[rs2]);
          k++;
          continue;
        case 46: // DIV
          r[rd] = div(r[rs1], r[rs2]);
          k++;
          continue;
        case 47: // DIVU
          r[rd] = divu(r[rs1], r[rs2]);
          k++;
          continue;
        case 48: // REM
          r[rd] = rem(r[rs1], r[rs2]);
          k++;
          continue;
        case 49: // REMU
          r[rd] = remu(r[rs1], r[rs2]);
          k++;
          continue;
        case 50: { // LR_W
          const a = r[rs1] >>> 0;
          if ((a - rs) >>> 0 > rl1 - 3 && !mem.accessible(a, 4, false)) {
            return release(s).fault(k, gas, a, "read");
          }
          r[rd] = dv.getInt32(a - base, true);
          s.reservation = a;
          k++;
          continue;
        }
        case 51: { // SC_W
          const a = r[rs1] >>> 0;
          if ((a - ws) >>> 0 > wl1 - 3 && !mem.accessible(a, 4, true)) {
            return release(s).fault(k, gas, a, "write");
          }
          if (s.reservation === a) {
            dv.setInt32(a - base, r[rs2], true);
            r[rd] = 0;
          } else r[rd] = 1;
          s.reservation = -1;
          k++;
          continue;
        }
        case 52: // AMOSWAP_W
        case 53: // AMOADD_W
        case 54: // AMOXOR_W
        case 55: // AMOAND_W
        case 56: // AMOOR_W
        case 57: // AMOMIN_W
        case 58: // AMOMAX_W
        case 59: // AMOMINU_W
        case 60: { // AMOMAXU_W
          const a = r[rs1] >>> 0;
          if ((a - ws) >>> 0 > wl1 - 3 && !mem.accessible(a, 4, true)) {
            return release(s).fault(k, gas, a, "write");
          }
          const old = dv.getInt32(a - base, true);
          dv.setInt32(a - base, amo(w & 255, old, r[rs2]), true);
          r[rd] = old;
          k++;
          continue;
        }
        case 64: // JUMP_FAULT
          s.gas = gas + reserve;
          return release(s).raise(k, "InvalidJump", imm >>> 0);
        case 66: // TRACE
          s.trace!(pcs[k], release(s).regs);
          LIVE.set(s.regs);
          k++;
          continue;
        default: // INVALID (0); FENCE (38) and FENCE_I (39) are compiled to NOP
          if (w === UNCOMPILED) { // op 0 too: compile from here, then dispatch again
            code.fill(k);
            continue;
          }
          s.gas = gas + reserve;
          return release(s).raise(k, "InvalidInstruction");
      }
      // Only branches and JAL get here. Each charges the block it enters (its cost in the word,
      // compile.ts) and goes on past the block's GAS entry, saving a dispatch per block.
      const cost = taken ? w >>> 26 : (w >>> 8) & 63;
      const to = taken ? imm : k + 1;
      if (cost === 0) k = to;
      else if (gas < cost) {
        if (insn[to << 1] === UNCOMPILED) code.fill(to); // for its pc
        return release(s).outOfGas(to, gas, 0);
      } else {
        gas -= cost;
        k = to + 1;
      }
      continue;
    }
    // The first of a pair ending in a linear op is done (`*_LINEAR`, `LINEAR_PAIR`): the linear
    // op of entry k + 1, `rd = rs1 + rs2 + imm` whatever its own op byte says. One piece of code
    // for every such pair, not a helper: TurboFan's inlining budget might leave a call.
    const next = (k + 1) << 1;
    const w2 = insn[next];
    r[(w2 >>> 8) & 63] = r[(w2 >>> 14) & 63] + r[(w2 >>> 20) & 63] + insn[next | 1];
    k += 2;
  }
}
