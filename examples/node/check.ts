// Type-checked against the npm package's declarations (tests/npm_test.ts runs tsc on it).
import { type Instance, Program, resourceUsage, type Tier } from "@rvbox/rvbox";
import { Program as PortableProgram } from "@rvbox/rvbox/portable";
import { fib } from "@rvbox/rvbox/samples";

const tier: Tier = "auto";
const instance: Instance = Program.fromBytes(fib).instantiate({}, { tier, tierUp: 0 });
const n: number = instance.exports.fib(10);
const big: bigint = instance.exports.fib64.i64(90);
const portable = PortableProgram.fromBytes(fib).instantiate();
console.log(
  n,
  big,
  portable.tier satisfies "interpreter" | "wasm" | "native",
  resourceUsage().nativeInstances,
);
