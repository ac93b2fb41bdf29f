/**
 * Runs the JSON guest: its own document first (`main`), then JSON given on
 * the command line, passed in through its exports:
 * `deno run --allow-read examples/json/json.ts [rv32em|rv32imac] ['{"a": [1, 2]}']`.
 * @module
 */
import { Program } from "../../mod.ts";

const isa = Deno.args[0] ?? "rv32em";
const text = Deno.args[1] ?? '{"host": ["text", 1e3, {"nested": true}]}';
const program = await Program.fromFile(new URL(`./json.${isa}.elf`, import.meta.url));
const instance = program.instantiate();
if (instance.run() !== 0) Deno.exitCode = 1;

// The guest gives a buffer in its heap; the host writes the text there.
const bytes = new TextEncoder().encode(text);
const buffer = instance.exports.json_buffer(bytes.length);
instance.memory.write(buffer, bytes);
const values = instance.exports.json_format(bytes.length) | 0;
console.log(values < 0 ? `error at offset ${-1 - values}` : `${values} values`);
if (values < 0) Deno.exitCode = 1;
