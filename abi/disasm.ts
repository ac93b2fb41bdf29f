/**
 * Disassembler: prints a decoded instruction the way `llvm-objdump -M
 * no-aliases` prints its base (uncompressed) form, with ABI register names.
 * Mnemonics and operand shapes come from the table in abi/isa.ts.
 * @module
 */
import type { DecodedInstruction } from "./decode.ts";
import { Format, OPS } from "./isa.ts";

/** ABI name of each integer register, indexed by register number. */
export const REGISTER_NAMES: readonly string[] = Object.freeze([
  "zero",
  "ra",
  "sp",
  "gp",
  "tp",
  "t0",
  "t1",
  "t2",
  "s0",
  "s1",
  "a0",
  "a1",
  "a2",
  "a3",
  "a4",
  "a5",
  "a6",
  "a7",
  "s2",
  "s3",
  "s4",
  "s5",
  "s6",
  "s7",
  "s8",
  "s9",
  "s10",
  "s11",
  "t3",
  "t4",
  "t5",
  "t6",
]);

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

/**
 * Returns the assembly text of `d` located at `pc`, e.g. `addi a0, a0, 1`,
 * `lw a1, 8(sp)`, `beq a0, zero, 0x1234` (targets are absolute), `lui a0,
 * 0x12345`; `<invalid>` for invalid instructions. Compressed instructions print
 * as the base instruction they expand to.
 */
export function disassemble(d: DecodedInstruction, pc: number): string {
  const info = OPS[d.op];
  if (info === undefined || info.kind === "invalid") return "<invalid>";
  const rd = REGISTER_NAMES[d.rd & 31];
  const rs1 = REGISTER_NAMES[d.rs1 & 31];
  const rs2 = REGISTER_NAMES[d.rs2 & 31];
  const name = info.name;
  switch (info.kind) {
    case "alu":
      return `${name} ${rd}, ${rs1}, ${rs2}`;
    case "alu_imm":
      return `${name} ${rd}, ${rs1}, ${d.imm}`;
    case "upper":
      return `${name} ${rd}, ${hex(d.imm >>> 12)}`;
    case "load":
    case "jalr":
      return `${name} ${rd}, ${d.imm}(${rs1})`;
    case "store":
      return `${name} ${rs2}, ${d.imm}(${rs1})`;
    case "branch":
      return `${name} ${rs1}, ${rs2}, ${hex(pc + d.imm)}`;
    case "jal":
      return `${name} ${rd}, ${hex(pc + d.imm)}`;
    case "amo":
      return info.format === Format.LR
        ? `${name} ${rd}, (${rs1})`
        : `${name} ${rd}, ${rs2}, (${rs1})`;
    default: // "system", "fence": no operands
      return name;
  }
}
