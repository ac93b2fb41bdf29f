/**
 * Runs the heap guest: `deno run --allow-read examples/heap/heap.ts [rv32em|rv32imac]`.
 * @module
 */
import { Program } from "../../mod.ts";

const isa = Deno.args[0] ?? "rv32em";
const program = await Program.fromFile(new URL(`./heap.${isa}.elf`, import.meta.url));

// heapSize caps how far rvbox_sbrk may move the break; the guest's malloc
// must return NULL at that limit instead of crashing. Try two limits.
for (const heapSize of [16 << 20, 4 << 20]) {
  console.log(`-- heapSize ${heapSize >> 20} MiB`);
  const instance = program.instantiate({}, { gas: 1_000_000_000, heapSize });
  const exitCode = instance.run();
  const used = instance.memory.brk;
  console.log(`exit code ${exitCode}, break at 0x${used.toString(16)}`);
  if (exitCode !== 0) Deno.exitCode = exitCode;
}
