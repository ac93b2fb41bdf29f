/**
 * Where the decoder looks up an instruction's candidates: the slot of its
 * first 16-bit parcel (shared by the decoder and the tables' generator).
 * @module
 */

/** The 32-bit slot of a word: opcode bits 6..2 and funct3 (bits 14..12); bits 1..0 are 11. */
export const wideSlot = (w: number): number => (((w >>> 2) & 31) << 3) | ((w >>> 12) & 7);

/** The compressed slot of a parcel: quadrant (bits 1..0) and funct3 (bits 15..13). */
export const narrowSlot = (p: number): number => ((p & 3) << 3) | ((p >>> 13) & 7);
