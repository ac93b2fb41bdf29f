/**
 * Runs the printf guest (C on picolibc: printf with %f and %lld, soft float,
 * math.h, setjmp): `deno run --allow-read examples/printf/printf.ts [rv32em|rv32imac]`.
 * @module
 */
import { Program } from "../../mod.ts";

const isa = Deno.args[0] ?? "rv32em";
const program = await Program.fromFile(new URL(`./printf.${isa}.elf`, import.meta.url));
const instance = program.instantiate();
const exitCode = instance.run(); // prints through rvbox_print to standard output
console.log(`exit code ${exitCode}`);
if (exitCode !== 0) Deno.exitCode = 1;
