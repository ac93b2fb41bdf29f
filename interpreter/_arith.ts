/**
 * M-extension arithmetic on int32 values, exact per the RISC-V spec
 * (division by zero and overflow included), without BigInt.
 * @module
 */

/** High 32 bits of the unsigned 64-bit product (as int32). */
export function mulhu(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p01 = a0 * b1, p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

/** High 32 bits of the signed 64-bit product. */
export function mulh(a: number, b: number): number {
  return (mulhu(a, b) - (a < 0 ? b >>> 0 : 0) - (b < 0 ? a >>> 0 : 0)) | 0;
}

/** High 32 bits of signed `a` times unsigned `b`. */
export function mulhsu(a: number, b: number): number {
  return (mulhu(a, b) - (a < 0 ? b >>> 0 : 0)) | 0;
}

/** Signed division: x/0 = -1, INT_MIN/-1 = INT_MIN. */
export function div(a: number, b: number): number {
  if (b === 0) return -1;
  if (b === -1) return -a | 0;
  return (a / b) | 0;
}

/** Unsigned division: x/0 = 0xFFFFFFFF. */
export function divu(a: number, b: number): number {
  if (b === 0) return -1;
  return ((a >>> 0) / (b >>> 0)) | 0;
}

/** Signed remainder: x%0 = x, INT_MIN%-1 = 0. */
export function rem(a: number, b: number): number {
  if (b === 0) return a;
  if (b === -1) return 0;
  return a % b;
}

/** Unsigned remainder: x%0 = x. */
export function remu(a: number, b: number): number {
  if (b === 0) return a;
  return ((a >>> 0) % (b >>> 0)) | 0;
}

/** The value an AMO stores, given the old memory value and rs2. */
export function amo(op: number, old: number, value: number): number {
  switch (op) {
    case 52: // AMOSWAP_W
      return value;
    case 53: // AMOADD_W
      return (old + value) | 0;
    case 54: // AMOXOR_W
      return old ^ value;
    case 55: // AMOAND_W
      return old & value;
    case 56: // AMOOR_W
      return old | value;
    case 57: // AMOMIN_W
      return Math.min(old, value);
    case 58: // AMOMAX_W
      return Math.max(old, value);
    case 59: // AMOMINU_W
      return old >>> 0 < value >>> 0 ? old : value;
    default: // AMOMAXU_W (60)
      return old >>> 0 > value >>> 0 ? old : value;
  }
}
