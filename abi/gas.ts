/**
 * Gas cost of each op (abi/README.md §4), kept apart from the instruction
 * table so pricing can change without touching decoding.
 * @module
 */
import { OP_COUNT } from "./isa.ts";

/**
 * Cost of each op, indexed by op number. The contract says every instruction
 * costs 1 today (INVALID included: it is charged with its block before it
 * traps); change costs here only.
 */
export const GAS_COST: Uint8Array = new Uint8Array(OP_COUNT).fill(1);
