/**
 * The command line's help texts (cli.ts): the summary, and one page per
 * command (`rvbox help run`, `rvbox run --help`).
 * @module
 */
import { DEFAULT_GAS, DEFAULT_HEAP_SIZE, DEFAULT_STACK_SIZE } from "./abi/constants.ts";

/** Every command reads an ELF file or an `.rvbox` blob. */
export const USAGE = `usage:
  rvbox run <program> [--gas N] [--stack BYTES] [--heap BYTES] [--tier auto|interpreter|wasm|native]
                      [--stats] [--trace] [--host FILE] [--import name=N ...]
  rvbox call <program> <export> [args...]   (same options; prints the export's result)
  rvbox disasm <program> [--native]   (--native: this machine's native code next to each instruction)
  rvbox inspect <program>
  rvbox link <program> [-o prog.rvbox]   (the compact blob format; default: next to the input)
  rvbox cc <source.c...> -o <program.elf> [--isa rv32em|rv32imac] [-O2] [--freestanding]
  rvbox help [command]
Every command but cc reads ELF files and .rvbox blobs; "rvbox help run" explains one command.`;

const INSTANCE_OPTIONS = `  --gas N           gas for the call (default ${DEFAULT_GAS})
  --stack BYTES     stack size (default ${DEFAULT_STACK_SIZE})
  --heap BYTES      heap limit (default ${DEFAULT_HEAP_SIZE})
  --tier T          auto (default: the interpreter, native code once hot), interpreter, wasm or native
  --host FILE       a JavaScript or TypeScript module whose exported functions answer the
                    guest's imports of the same names: (ctx, a0, ..., a5) => number | void
  --import NAME=N   answer the import NAME with the integer N (0 without =N); repeatable
  --stats           print the tier, instructions run and MIPS on standard error
  --trace           print every instruction and the registers it changed (interpreter), and
                    the function it enters (from the program's symbols)
Exit status 2 for a usage, load or link error, 3 when the guest traps (its registers are
printed).`;

/** Per command: what it does and its options. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  run: `usage: rvbox run <program> [options]
Runs the program's entry point as a command and exits with its exit code (0-255).
${INSTANCE_OPTIONS}`,
  call: `usage: rvbox call <program> <export> [args...] [options]
Calls an exported function with up to six integer arguments and prints its result (a0).
${INSTANCE_OPTIONS}`,
  disasm: `usage: rvbox disasm <program> [--native]
Lists every instruction with its address, encoding and the labels of the entry point, exports
and (unless the program is stripped or a blob) its function and label symbols.
  --native   also this machine's native code for each instruction (x86-64 or AArch64)`,
  inspect: `usage: rvbox inspect <program>
Prints the format, instruction set, symbol count, segments, memory layout, imports and exports.`,
  link: `usage: rvbox link <program> [-o FILE]
Writes the program as a compact .rvbox blob (default: the input's name with .rvbox), which
loads into exactly the same program.
  -o, --output FILE   where to write it`,
  cc: `usage: rvbox cc <source.c...> -o <program.elf> [options]
Compiles and links C sources into a guest with Debian's clang-19 and lld-19, on picolibc
(stdio.h to the print service, stdlib.h, string.h, math.h, setjmp.h; no stdin, no files) and
libgcc (64-bit division, soft float), with the SDK's rvbox.h for imports and exports.
  -o, --output FILE   the ELF file to write
  --isa ISA           rv32imac (default), rv32em, or rv32e, rv32emac, rv32i, rv32im
  -O0 ... -O3, -Os    optimization (default -O2)
  --freestanding      the SDK alone, without the C library (the smallest programs)
  --strip             drop the symbol table (kept by default for disasm, --trace and hosts)
  -DNAME[=V], -UNAME, -IDIR, -W..., -f..., -std=..., -g   passed to the compiler
Needs clang-19 and lld-19, and for the C library picolibc-riscv64-unknown-elf and
gcc-riscv64-unknown-elf (it says which is missing). Exit status 1 when compiling fails.`,
  help: `usage: rvbox help [command]
Prints the summary of every command, or one command's options.`,
};
