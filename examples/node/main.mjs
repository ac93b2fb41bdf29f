// rvbox from npm under Node (or Bun): `npm install @rvbox/rvbox`, then `node main.mjs`.
// Node has no native tier yet (it needs Deno's FFI), so tier "auto" runs the interpreter.
import { Program, Trap } from "@rvbox/rvbox";
import { fib, hello } from "@rvbox/rvbox/samples";

const instance = Program.fromBytes(fib).instantiate({}, { gas: 10_000_000 });
console.log(`fib(20) = ${instance.exports.fib(20)} on the ${instance.tier}`);

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
