// rvbox from npm under Node (or Bun): `npm install @rvbox/rvbox`, then `node main.mjs`.
// The native tier runs through koffi (an optional dependency); without it, the wasm tier.
import { Program, Trap } from "@rvbox/rvbox";
import { fib, hello } from "@rvbox/rvbox/samples";

const instance = Program.fromBytes(fib).instantiate({}, { gas: 10_000_000 });
console.log(`fib(20) = ${instance.exports.fib(20)} on the ${instance.tier}`);
// Tier "auto" starts on the interpreter and moves hot programs to native code; tierUp: 0 at once.
const fast = Program.fromBytes(fib).instantiate({}, { tierUp: 0 });
console.log(`fib(25) = ${fast.exports.fib(25)}, tier ${fast.tier}`);

// A host function: the guest passes a pointer and a length into its memory.
const greeter = Program.fromBytes(hello).instantiate({
  host_log: (ctx, ptr, len) => console.log(`guest says: ${ctx.memory.readString(ptr, len)}`),
}, { print: () => {} });
console.log(`exit code ${greeter.run()}`);

// Gas is exact and the same on every tier and runtime.
instance.gas = 100;
try {
  instance.exports.fib(30);
} catch (e) {
  if (!(e instanceof Trap)) throw e;
  console.log(`${e.kind} at pc 0x${e.pc.toString(16)}`);
}
