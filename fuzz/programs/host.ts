/**
 * The host function every generated program calls (import `h`): a
 * deterministic function of its arguments that exercises the whole host
 * context — registers in and out of range, gas set to anything (huge, NaN,
 * negative only for forward programs, which end quickly whatever their gas),
 * memory helpers at guest-chosen addresses, throwing Errors and non-Errors,
 * odd return values and calls back into the running instance. It logs what
 * it saw, so tiers must agree on every argument and on the gas at each call.
 * @module
 */
import type { HostContext, HostFunction, Instance } from "../../mod.ts";

/** What the host function saw, hashed, for comparison between tiers. */
export interface HostLog {
  /** Number of calls. */
  calls: number;
  /** Hash of the arguments and the gas of each call. */
  seen: number;
}

/** Mixes a number (any double: integers up to 2^64 keep their high half) into `hash`. */
export function mix(hash: number, x: number): number {
  const h = Math.imul(hash ^ (x >>> 0), 0x01000193);
  return Math.imul(h ^ (Math.floor(x / 2 ** 32) >>> 0), 0x01000193) >>> 0;
}

const THROWN: unknown[] = ["a string", 42, undefined, null, { code: 1 }, new RangeError("range")];
const RETURNED: unknown[] = [undefined, NaN, Infinity, 1.5, -0, 2 ** 40, "7", {}, 10n ** 30n, -1n];
const REGISTER_VALUES = [-1, 2 ** 32 + 5, NaN, 1.5, -(2 ** 31) - 1, 0x80000000];
/** Gas a looping program's host may set: never more than it had, or the loop never ends. */
const LOWER_GAS = (ctx: HostContext) => [0, 1, 50, ctx.gas - 7, Math.floor(ctx.gas / 2)];
const ANY_GAS = [NaN, -1, 1e19, Infinity, -Infinity, 2 ** 53, 2 ** 53 + 2, 1.5, 1e10, 2 ** 64];

/**
 * The host function for one instance. `forward` allows any gas value;
 * `instance` is the running instance, for reentrant calls.
 */
export function fuzzHost(
  forward: boolean,
  log: HostLog,
  instance: () => Instance | undefined,
): HostFunction {
  return (ctx, a0, a1, a2, a3, a4, a5) => {
    log.calls++;
    for (const x of [a0, a1, a2, a3, a4, a5, ctx.gas]) log.seen = mix(log.seen, x);
    const pick = <T>(list: readonly T[]) => list[a2 % list.length];
    const memory = ctx.memory;
    switch (a0 & 15) {
      case 0:
        return (a0 * 3 + a1) | 0;
      case 1:
        ctx.gas = Math.max(0, ctx.gas - 7);
        return;
      case 2:
        memory.writeU32(a1, a2);
        return 0;
      case 3:
        throw new Error("host refuses");
      case 4:
        return BigInt(a1) * 0x100000001n + BigInt(a2);
      case 5: // any register index, in range or not
        ctx.setRegister((a2 % 40) - 4, a2 & 1 ? a1 : pick(REGISTER_VALUES));
        return;
      case 6:
        ctx.gas = forward && a2 & 1
          ? pick(ANY_GAS)
          : Math.min(ctx.gas, Math.max(0, pick(LOWER_GAS(ctx))));
        return;
      case 7:
        memory.write(a1, new Uint8Array(a2 & 0x3f).fill(a2 >>> 4));
        return memory.readU8(a1);
      case 8:
        throw pick(THROWN);
      case 9:
        return pick(RETURNED) as number;
      case 10:
        return memory.read(a1, a2 & 0xff).reduce((sum, x) => sum + x, 0);
      case 11:
        return memory.brk;
      case 12: // the stack pointer or return address
        ctx.setRegister(1 + (a2 & 1), a1);
        return;
      case 13:
        return reenter(instance(), forward ? a1 : Math.min(a1, ctx.gas), a2);
      case 14:
        return ctx.getRegister((a1 % 40) - 4);
      default:
        return a2 & 1 ? memory.readString(a1).length : memory.writeString(a1, "héllo\u0000");
    }
  };
}

/** Calls back into the running instance: it must refuse, except setting its gas. */
function reenter(instance: Instance | undefined, a1: number, a2: number): number {
  if (!instance) return -1;
  switch (a2 & 3) {
    case 0:
      return instance.exports.p_lw(a1);
    case 1:
      instance.dispose();
      return 1;
    case 2:
      instance.gas = a1;
      return instance.gas;
    default:
      return instance.run();
  }
}
