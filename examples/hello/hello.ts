/**
 * Runs the hello guest: `deno run --allow-read examples/hello/hello.ts [rv32em|rv32imac]`.
 * @module
 */
import { Program } from "../../mod.ts";

const isa = Deno.args[0] ?? "rv32em";
// Load (validate and decode) the ELF once; it can be instantiated many times.
const program = await Program.fromFile(new URL(`./hello.${isa}.elf`, import.meta.url));
console.log(`imports: ${program.imports.join(", ")}`);

// The guest imports host_log(ptr, len): read the string out of guest memory.
const instance = program.instantiate({
  host_log: (ctx, ptr, len) => {
    console.log(`host_log: ${ctx.memory.readString(ptr, len)}`);
  },
}, { gas: 1_000_000 });

// rvbox_print is built in; its output goes to standard output by default.
const exitCode = instance.run();
console.log(`exit code ${exitCode}, ${1_000_000 - instance.gas} instructions`);
