// @ts-self-types="./_fingerprint.d.ts"
// Plain JavaScript, so that Deno, Node, Bun and a browser page import it as it is.
import { storageImports } from "../examples/kvstore/storage.js";
/**
 * Everything one run of the kvstore sample shows: the results of a few
 * calls, then an OutOfGas trap in the middle of a transfer — its kind, pc
 * and registers, the gas left, and an FNV-1a hash of the writable segments
 * and of the stack above the trap's sp. Identical on every runtime.
 * @param {typeof import("../portable.ts").Program} Program
 * @param {Uint8Array} bytes
 */
export function fingerprint(Program, bytes) {
  const program = Program.fromBytes(bytes);
  const instance = program.instantiate({
    ...storageImports(new Map()),
    caller_input: () => 0,
  }, { tier: "interpreter", gas: 1e6 });
  const results = [instance.exports.init(1, 1000), instance.exports.transfer(1, 2, 300)];
  instance.gas = 150;
  let trap = "none";
  try {
    instance.exports.transfer(2, 3, 100);
  } catch (e) {
    trap = { kind: e.kind, pc: e.pc, registers: Array.from(e.registers) };
  }
  let hash = 0x811c9dc5;
  const mix = (bytes) => {
    for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  };
  for (const s of program.segments.filter((s) => s.permissions[1] === "w")) {
    mix(instance.memory.read(s.start, s.end - s.start));
  }
  if (trap !== "none") mix(instance.memory.read(trap.registers[2], 256));
  const gas = instance.gas;
  instance.gas = 1e6;
  return { results, trap, gas, hash, balance: instance.exports.balance_of(2) };
}
