/**
 * Runs the records guest (qsort, bsearch, strtol on picolibc):
 * `deno run --allow-read examples/records/records.ts [rv32em|rv32imac]`.
 * @module
 */
import { Program } from "../../mod.ts";

const isa = Deno.args[0] ?? "rv32em";
const program = await Program.fromFile(new URL(`./records.${isa}.elf`, import.meta.url));
const exitCode = program.instantiate().run();
console.log(`exit code ${exitCode}`);
if (exitCode !== 0) Deno.exitCode = 1;
