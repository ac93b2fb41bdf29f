/**
 * The operands of the x86-64 assembler (./asm.ts re-exports them): registers,
 * memory operands, condition codes and the ALU and shift groups.
 * @module
 */

/** A general-purpose register, by hardware number (0-15). */
export type Reg = number;
/** Registers by name. */
export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
/** Registers r8-r15. */
export const R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

/** A memory operand `[base + index * scale + disp]`. */
export interface Mem {
  /** Base register. */
  base: Reg;
  /** Index register (never RSP). */
  index?: Reg;
  /** Index scale, default 1. */
  scale?: 1 | 2 | 4 | 8;
  /** Signed 32-bit displacement, default 0. */
  disp?: number;
}

/** A condition code (the low nibble of Jcc/SETcc/CMOVcc). */
export type Cond = number;
/** Condition codes by name. */
export const CC = Object.freeze(
  {
    O: 0,
    NO: 1,
    B: 2,
    AE: 3,
    E: 4,
    NE: 5,
    BE: 6,
    A: 7,
    S: 8,
    NS: 9,
    P: 10,
    NP: 11,
    L: 12,
    GE: 13,
    LE: 14,
    G: 15,
  } as const,
); // dprint-ignore

/** An arithmetic operation (the /digit of the 0x81 group). */
export type Alu = number;
/** Arithmetic operations by name. */
export const ALU = Object.freeze(
  { ADD: 0, OR: 1, ADC: 2, SBB: 3, AND: 4, SUB: 5, XOR: 6, CMP: 7 } as const,
);

/** A shift or rotate (the /digit of the 0xC1 group). */
export type Shift = number;
/** Shifts by name. */
export const SHIFT = Object.freeze({ ROL: 0, ROR: 1, SHL: 4, SHR: 5, SAR: 7 } as const);

/** A load or store between a register and memory (see `X64Assembler.moveIndexed`). */
export type Move = number;
/** Loads (zero- or sign-extending to 32 bits) and stores by width. */
export const MOVE = Object.freeze(
  {
    LOAD32: 0,
    LOADU8: 1,
    LOADS8: 2,
    LOADU16: 3,
    LOADS16: 4,
    STORE32: 5,
    STORE16: 6,
    STORE8: 7,
  } as const,
); // dprint-ignore

/** Opcodes of the {@linkcode MOVE} kinds (STORE16 adds the 0x66 prefix). */
export const MOVE_OPCODE: readonly number[] = [0x8b, 0x0fb6, 0x0fbe, 0x0fb7, 0x0fbf, 0x89, 0x89, 0x88];
