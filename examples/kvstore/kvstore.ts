/**
 * Runs the kvstore guest, a token ledger whose state lives in host storage:
 * `deno run --allow-read examples/kvstore/kvstore.ts [rv32em|rv32imac]`.
 * @module
 */
import { type Imports, Program } from "../../mod.ts";
import { storageImports } from "./storage.js";

const isa = Deno.args[0] ?? "rv32em";
const program = await Program.fromFile(new URL(`./kvstore.${isa}.elf`, import.meta.url));

/** The contract's storage. It outlives every instance, like a blockchain's state. */
const storage = new Map<string, Uint8Array>();
/** The input of the current call, read by the guest through caller_input. */
let input = new Uint8Array();

const imports: Imports = {
  ...storageImports(storage),
  caller_input: (ctx, bufferPtr, cap) => {
    if (cap > 0) ctx.memory.write(bufferPtr, input.subarray(0, cap));
    return input.length;
  },
};

const RESULTS = [
  "ok",
  "already initialized",
  "insufficient funds",
  "overflow",
  "corrupt",
  "bad input",
];
let failures = 0;

/** Runs one call on `instance`, prints its result and gas, and checks it. */
function call(
  instance: ReturnType<typeof program.instantiate>,
  name: string,
  args: number[],
  expected: number,
  describe = (r: number) => RESULTS[r] ?? String(r),
): void {
  const before = instance.gas;
  const result = instance.exports[name](...args) >>> 0;
  const ok = result === expected;
  if (!ok) failures++;
  console.log(
    `  ${name}(${args.join(", ")}) -> ${describe(result)}`
      + ` [${before - instance.gas} gas]${ok ? "" : ` WRONG, expected ${describe(expected)}`}`,
  );
}
const amount = (r: number) => String(r);

// First instance: set up the ledger and move some tokens.
console.log("instance 1:");
const first = program.instantiate(imports, { gas: 10_000_000 });
call(first, "init", [1, 1000], 0);
call(first, "init", [2, 5000], 1); // only once
call(first, "deposit", [2, 50], 0);
call(first, "transfer", [1, 2, 300], 0);
call(first, "transfer", [2, 3, 10_000], 2); // more than account 2 has
call(first, "deposit", [3, 0xffff_ffff], 3); // the supply would overflow
input = new TextEncoder().encode("alice");
call(first, "set_name", [1], 0);
input = new TextEncoder().encode("a name that is far too long for this contract");
call(first, "set_name", [2], 5);

// Second instance: fresh guest memory, same storage, so the balances persist.
console.log("instance 2 (new memory, same storage):");
const second = program.instantiate(imports, { gas: 10_000_000 });
call(second, "balance_of", [1], 700, amount);
call(second, "balance_of", [2], 350, amount);
call(second, "balance_of", [3], 0, amount);
call(second, "total_supply", [], 1050, amount);

console.log("storage:");
for (const [key, value] of [...storage].sort(([a], [b]) => a.localeCompare(b))) {
  const shown = key.startsWith("name:")
    ? JSON.stringify(new TextDecoder().decode(value))
    : String(new DataView(value.buffer, value.byteOffset).getUint32(0, true));
  console.log(`  ${key} = ${shown}`);
}
console.log(failures === 0 ? "all results as expected" : `${failures} unexpected result(s)`);
if (failures > 0) Deno.exitCode = 1;
