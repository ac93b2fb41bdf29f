/**
 * The x86-64 backend: emits machine code for every guest instruction in one
 * loop. Guest registers live in host registers or the state block
 * (./_regs.ts); guest address `a` is host address `BASE + a` (a
 * zero-extended 32-bit offset into the reserved 4 GiB), always after an
 * explicit window check.
 *
 * Translation speed is part of the whole cycle, and a program's first
 * translation runs while V8 still interprets the translator: the loop keeps
 * the buffer and position in locals, dispatches once per instruction on the
 * op's group to one small lowering function (./_lowerings.ts) built on
 * plain encoders (./_encode.ts, ./_guest_regs.ts), allocates nothing per
 * instruction and records its deferred fix-ups in typed arrays
 * (./_fixups.ts). Rare ops go through the assembler (./_rare_ops.ts).
 * @module
 */
import type { DecodedCode } from "../../abi/code.ts";
import { Op } from "../../abi/isa.ts";
import { FALLS_THROUGH, GROUP } from "../_lower.ts";
import { Exit } from "../state.ts";
import type { Backend, Emitted } from "../translate.ts";
import { callThenJmp, callTo, movImm32, patchRel32, rr, subJs } from "./_encode.ts";
import { Fixups } from "./_fixups.ts";
import { setGuest } from "./_guest_regs.ts";
import { address, exitTo, type IndirectJumps, lowerAccess, lowerAluImm } from "./_lowerings.ts";
import { lowerAluReg, lowerDirect, lowerJumpIndirect, lowerMul } from "./_lowerings.ts";
import { lowerSetLess, lowerShiftImm } from "./_lowerings.ts";
import { RareOps } from "./_rare_ops.ts";
import { GAS, hostRegisters } from "./_regs.ts";
import { Runtime } from "./_runtime.ts";
import { UNPAID_INDIRECT, WINDOW_END, WINDOW_SECOND } from "./_templates.ts";
import { RDX, X64Assembler } from "./asm.ts";

/** More than any op emits for one instruction (the inline indirect jump is 64). */
const INSTRUCTION_ROOM = 128;
/** Instructions the loop makes room for at once (code bytes and fix-ups). */
const BATCH = 256;
/** Most bytes a deferred path takes (an InvalidJump exit: 3 stores and a jmp). */
const COLD_ROOM = 32;

/** One code buffer reused by consecutive translations (see X64Assembler's constructor). */
let scratch: Uint8Array | undefined = new Uint8Array(1 << 16);
const SCRATCH_LIMIT = 4 << 20;
/** The fix-up lists, reused like `scratch` (taken by a backend until it has emitted). */
let spareFixups: Fixups | undefined;

/** Emits x86-64 for one program. */
export class X64Backend implements Backend {
  /** The assembler: routines, rare ops and the final fix-ups go through it. */
  readonly a: X64Assembler;
  readonly #code: DecodedCode;
  readonly #host: readonly number[];
  readonly #rt: Runtime;
  readonly #rare: RareOps;

  constructor(code: DecodedCode) {
    this.#code = code;
    this.#host = hostRegisters(code);
    // Room for about what the program needs (growing copies the code so far): the scratch buffer
    // when it is large enough, else a new one (kept as the scratch buffer after).
    const estimate = code.count * 24 + BATCH * INSTRUCTION_ROOM + 4096;
    const reuse = scratch !== undefined && scratch.length >= estimate;
    this.a = new X64Assembler(estimate, reuse ? scratch : undefined);
    scratch = undefined; // taken until emit() gives it back
    this.#rt = new Runtime(this.a, this.#host);
    this.#rare = new RareOps(this.a, this.#host);
  }

  emit(startOffset: Uint32Array, bodyOffset: Uint32Array): Emitted {
    const a = this.a, rt = this.#rt, code = this.#code;
    rt.emit();
    const unpaidIndirect = a.template(UNPAID_INDIRECT.bytes);
    a.patchRel32(unpaidIndirect + UNPAID_INDIRECT.rel32[0], a.offsetOf(rt.outOfGas));
    const fixups = spareFixups ?? new Fixups();
    spareFixups = undefined;
    fixups.clear();
    const jumps: IndirectJumps = {
      lookup: a.offsetOf(rt.lookup),
      charge: a.offsetOf(rt.charge),
      unpaidIndirect,
      codeStart: code.start,
      codeBytes: code.end - code.start,
    };
    this.#body(startOffset, bodyOffset, fixups, jumps);
    const coldOffset = a.offset;
    this.#cold(startOffset, fixups);
    const bytes = a.finish();
    // Kept for the next program unless a huge one grew them (no lasting multi-MiB buffer).
    scratch = a.buffer.length <= SCRATCH_LIMIT ? a.buffer : new Uint8Array(1 << 16);
    if (fixups.keepable(SCRATCH_LIMIT >> 2)) spareFixups = fixups;
    return { bytes, coldOffset };
  }

  /** The loop over every instruction: one lowering call each. */
  #body(starts: Uint32Array, bodies: Uint32Array, fixups: Fixups, jumps: IndirectJumps): void {
    const code = this.#code, host = this.#host, a = this.a;
    const { count, op: ops, rd: rds, rs1: rs1s, rs2: rs2s, imm: imms, pc: pcs } = code;
    const { leader, segmentEnd, entryCost, size } = code;
    // Module tables as locals: an imported binding costs a load and a hole check per use.
    const group = GROUP, fallsThrough = FALLS_THROUGH;
    const exit = a.offsetOf(this.#rt.exit);
    let p = a.offset, buf = a.buffer, roomUntil = 0;
    for (let i = 0; i < count; i++) {
      if (i === roomUntil) { // one check per instruction for the buffer and the fix-ups
        a.seek(p);
        a.reserve(BATCH * INSTRUCTION_ROOM);
        buf = a.buffer;
        fixups.reserve(BATCH);
        roomUntil = i + BATCH;
      }
      starts[i] = p;
      if (leader[i] === 1) {
        const cost = entryCost[i] | 0; // an int32, like the imm32 of the sub
        if (cost !== 0) {
          p = subJs(buf, p, GAS, cost) | 0; // the js field is last: the body follows it
          fixups.addUnpaid(p - 4);
        }
      }
      bodies[i] = p;
      const op = ops[i];
      switch (group[op]) {
        case 0: // ADDI XORI ORI ANDI
          p = lowerAluImm(buf, p, host, op, rds[i], rs1s[i], imms[i]) | 0;
          break;
        case 1: // SLLI SRLI SRAI
          p = lowerShiftImm(buf, p, host, op, rds[i], rs1s[i], imms[i]) | 0;
          break;
        case 2: // SLTI SLTIU SLT SLTU
          p = lowerSetLess(buf, p, host, op, rds[i], rs1s[i], rs2s[i], imms[i]) | 0;
          break;
        case 3: // ADD SUB XOR OR AND
          p = lowerAluReg(buf, p, host, op, rds[i], rs1s[i], rs2s[i]) | 0;
          break;
        case 5: // loads
        case 6: // stores
          p = lowerAccess(buf, p, host, fixups, op, rds[i], rs1s[i], rs2s[i], imms[i]) | 0;
          break;
        case 7: // branches
        case 8: // JAL
          p = lowerDirect(buf, p, host, fixups, code, i, starts, exit) | 0;
          break;
        case 9: // JALR
          p = lowerJumpIndirect(
            buf,
            p,
            host,
            fixups,
            jumps,
            rds[i],
            rs1s[i],
            imms[i],
            pcs[i],
            pcs[i] + size[i],
          ) | 0;
          break;
        case 10: // LUI
          p = setGuest(buf, p, host, rds[i], imms[i]) | 0;
          break;
        case 11: // AUIPC
          p = setGuest(buf, p, host, rds[i], pcs[i] + imms[i]) | 0;
          break;
        case 12: // MUL
          p = lowerMul(buf, p, host, rds[i], rs1s[i], rs2s[i]) | 0;
          break;
        case 19: // FENCE FENCE.I
          break;
        default: // the rest, seldom met: out of the loop, which stays small for V8 to compile
          p = this.#uncommon(p, i, fixups, exit) | 0;
          buf = a.buffer; // the assembler may have replaced it (never shrunk it)
      }
      if (segmentEnd[i] === 1 && fallsThrough[op] === 1) {
        // Execution would run past the end of a code segment.
        const pc = pcs[i];
        p = exitTo(buf, p, exit, Exit.INVALID_JUMP, pc, true, pc + size[i]) | 0;
      }
    }
    a.seek(p);
  }

  /**
   * Instruction `i` at `p` when its op is none of the common groups:
   * register shifts, high multiplications and divisions, LR/SC and AMOs
   * (through the assembler), ECALL, EBREAK and invalid encodings.
   */
  #uncommon(p: number, i: number, fixups: Fixups, exit: number): number {
    const a = this.a, code = this.#code, rare = this.#rare, buf = a.buffer;
    const op = code.op[i], rd = code.rd[i], rs1 = code.rs1[i], rs2 = code.rs2[i], pc = code.pc[i];
    switch (GROUP[op]) {
      case 4: // SLL SRL SRA
      case 13: // MULH MULHSU MULHU
      case 14: // DIV DIVU REM REMU
        a.seek(p);
        this.#arithmetic(rare, op, rd, rs1, rs2);
        return a.offset;
      case 15: // LR.W SC.W
      case 16: // AMOs
        a.seek(address(buf, p, this.#host, fixups, rs1, 0, op === Op.LR_W ? 4 : 5));
        if (op === Op.LR_W || op === Op.SC_W) rare.reserved(op, rd, rs2);
        else rare.amo(op, rd, rs2);
        return a.offset;
      case 17: { // ECALL: a host call if the loader listed the site
        const site = code.hostcall[i];
        const reason = site < 0 ? Exit.INVALID_INSTRUCTION : Exit.HOSTCALL;
        return exitTo(buf, p, exit, reason, pc, site >= 0, site);
      }
      case 18: // EBREAK
        return exitTo(buf, p, exit, Exit.BREAKPOINT, pc, false, 0);
      default: // INVALID
        return exitTo(buf, p, exit, Exit.INVALID_INSTRUCTION, pc, false, 0);
    }
  }

  /** Register shifts, high multiplications and divisions, through the assembler. */
  #arithmetic(rare: RareOps, op: number, rd: number, rs1: number, rs2: number): void {
    if (op === Op.SLL || op === Op.SRL || op === Op.SRA) {
      if (rd !== 0) rare.shiftReg(op, rd, rs1, rs2);
    } else if (op === Op.MULH || op === Op.MULHSU || op === Op.MULHU) {
      rare.mulHigh(op, rd, rs1, rs2);
    } else rare.divide(op, rd, rs1, rs2);
  }

  /** Resolves forward jumps and places the deferred paths after the code. */
  #cold(starts: Uint32Array, fixups: Fixups): void {
    const a = this.a, rt = this.#rt;
    const { unpaid, forward, memory, lookups, jumps } = fixups;
    const { nUnpaid, nForward, nMemory, nLookups, nJumps } = fixups;
    let p = a.reserve(COLD_ROOM * (nUnpaid + nMemory + nLookups + nJumps));
    const buf = a.buffer;
    for (let k = 0; k < nForward; k += 2) patchRel32(buf, forward[k], starts[forward[k + 1]]);
    const unpaidAt = a.offsetOf(rt.unpaid);
    for (let k = 0; k < nUnpaid; k++) {
      const field = unpaid[k];
      patchRel32(buf, field, p);
      p = callThenJmp(buf, p, unpaidAt, field + 4); // the jmp never runs: it names the block
    }
    const checks: number[] = [];
    for (let slot = 0; slot < 6; slot++) {
      checks.push(a.offsetOf(rt.slowCheck(slot < 2 ? 1 : slot < 4 ? 2 : 4, (slot & 1) === 1)));
    }
    for (let k = 0; k < nMemory; k += 2) {
      const field = memory[k];
      patchRel32(buf, field, p);
      patchRel32(buf, field + WINDOW_SECOND, p);
      p = callThenJmp(buf, p, checks[memory[k + 1]], field + WINDOW_END);
    }
    const lookupAndCharge = a.offsetOf(rt.lookupAndCharge);
    for (let k = 0; k < nLookups; k += 3) {
      // Outside code, not an instruction start, or the host return: the full lookup.
      patchRel32(buf, lookups[k], p);
      patchRel32(buf, lookups[k + 1], p);
      p = movImm32(buf, p, RDX, lookups[k + 2]);
      p = callTo(buf, p, lookupAndCharge);
      p = rr(buf, p, 0, 0xff, 4, RDX); // jmp rdx
    }
    const exit = a.offsetOf(rt.exit);
    for (let k = 0; k < nJumps; k += 3) {
      patchRel32(buf, jumps[k], p);
      p = exitTo(buf, p, exit, Exit.INVALID_JUMP, jumps[k + 1], true, jumps[k + 2]);
    }
    a.seek(p);
  }
}
