/*
 * rvbox.h: the guest SDK for rvbox (C11; on picolibc or freestanding).
 *
 * The machine contract is abi/README.md; this header implements its guest
 * side: host imports (§5), exports (§6), the built-in services, a heap
 * allocator and the memory/string functions the compiler may call.
 *
 * Build a guest with one command, from the repository root:
 *
 *   deno task rvbox cc prog.c -o prog.elf [--isa rv32em|rv32imac] [-O2]
 *
 * which links the C library (picolibc: stdio.h, stdlib.h, string.h, math.h...)
 * and libgcc (64-bit division, soft float) with libc.c, the glue to the
 * services, and defines RVBOX_LIBC. examples/README.md shows the clang line
 * underneath. With --freestanding (the smallest programs) it is
 *
 *   clang-19 --target=riscv32 -march=rv32imac -mabi=ilp32 -std=c11 -O2 -nostdlib -ffreestanding -fuse-ld=lld -Wl,-T,abi/guest/rvbox.ld -Wl,--strip-all -Iabi/guest abi/guest/start.c prog.c -o prog.elf
 *
 * (for RV32E -march=rv32em -mabi=ilp32e), and there is no compiler runtime
 * library: 64-bit division/remainder and floating point (soft-float helpers
 * such as __divdi3 or __addsf3) are not available.
 *
 * Add -Wl,--defsym=__rvbox_stack_size=0x20000 to change the stack gap the
 * linker script leaves below the data (default 64 KiB; the instance's
 * stackSize option should match).
 */
#ifndef RVBOX_H
#define RVBOX_H

/* Clang's freestanding headers (no libc needed). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Host imports                                                              */
/* ------------------------------------------------------------------------ */

/*
 * RVBOX_IMPORT_AS(ret, cname, "import.name", (params)) defines the C function
 * `ret cname params` as a host call to the import "import.name" (a name may
 * contain dots, which C identifiers cannot).
 *
 * The function is a naked two-instruction stub, `ecall; ret`, so arguments
 * arrive in a0-a5 and the result comes back in a0 (a1:a0 for 64-bit results)
 * exactly as the calling convention has them. The stub also emits its record
 * into the non-allocated section .rvbox.imports (abi/README.md §5): the
 * little-endian u32 address of the ECALL, the name, a NUL, zero padding to 4
 * bytes.
 *
 * This *defines* the function: use it once per import in one source file and
 * declare the prototype normally in other files. A build may predefine it to
 * route imports elsewhere (the tests do, to run guests under qemu-riscv32).
 */
#ifndef RVBOX_IMPORT_AS
#define RVBOX_IMPORT_AS(ret, cname, name, params)                              \
  __attribute__((naked, noinline, used)) ret cname params {                    \
    __asm__ volatile("1:\n\t"                                                  \
                     "ecall\n\t"                                               \
                     "ret\n\t"                                                 \
                     ".pushsection .rvbox.imports,\"\",@progbits\n\t"          \
                     ".balign 4\n\t"                                           \
                     ".4byte 1b\n\t"                                            \
                     ".asciz \"" name "\"\n\t"                                 \
                     ".balign 4\n\t"                                           \
                     ".popsection");                                           \
  }
#endif

/*
 * RVBOX_IMPORT(ret, name, (params)): a host import whose import name is the
 * C name, e.g.
 *
 *   RVBOX_IMPORT(uint32_t, host_log, (const char *ptr, uint32_t len))
 *
 * Host functions receive the arguments as unsigned 32-bit numbers.
 */
#define RVBOX_IMPORT(ret, name, params) RVBOX_IMPORT_AS(ret, name, #name, params)

/* ------------------------------------------------------------------------ */
/* Exports                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Points tp at the thread-local block (errno...) that the linker script
 * places first in the data; only guests on the C library use it.
 */
#define RVBOX_SET_TP_ASM "lui tp, %hi(__tls_base)\n\taddi tp, tp, %lo(__tls_base)\n\t"

/*
 * RVBOX_EXPORT_AS(cname, "export.name") exports the function `cname` under
 * the given name: it emits a record (u32 address, name, NUL, padding) into
 * the non-allocated section .rvbox.exports (abi/README.md §6) and marks the
 * function `used` so it is always emitted. Write it in front of the
 * definition:
 *
 *   RVBOX_EXPORT(add) int32_t add(int32_t a, int32_t b) { return a + b; }
 *
 * The host calls an export with up to six integer arguments (a0-a5) and gets
 * a0 back (or a1:a0 for a 64-bit result). Exports may be called many times
 * on one instance: memory (globals, heap) persists between calls.
 */
#ifdef RVBOX_LIBC
/*
 * On the C library an export enters through a three-instruction trampoline
 * that points tp at the thread-locals (errno and others, which picolibc
 * addresses from tp): every call from the host starts with tp = 0.
 */
#define RVBOX_EXPORT_AS(cname, name)                                           \
  __asm__(".pushsection .text.rvbox_export." #cname ",\"ax\",@progbits\n\t"   \
          ".type __rvbox_export_" #cname ", @function\n"                        \
          "__rvbox_export_" #cname ":\n\t" RVBOX_SET_TP_ASM                     \
          "tail " #cname "\n\t"                                                 \
          ".size __rvbox_export_" #cname ", . - __rvbox_export_" #cname "\n\t" \
          ".popsection\n\t"                                                     \
          ".pushsection .rvbox.exports,\"\",@progbits\n\t"                      \
          ".balign 4\n\t"                                                       \
          ".4byte __rvbox_export_" #cname "\n\t"                                \
          ".asciz \"" name "\"\n\t"                                            \
          ".balign 4\n\t"                                                       \
          ".popsection");                                                      \
  __attribute__((used))
#else
#define RVBOX_EXPORT_AS(cname, name)                                           \
  __asm__(".pushsection .rvbox.exports,\"\",@progbits\n\t"                     \
          ".balign 4\n\t"                                                      \
          ".4byte " #cname "\n\t"                                               \
          ".asciz \"" name "\"\n\t"                                            \
          ".balign 4\n\t"                                                      \
          ".popsection");                                                      \
  __attribute__((used))
#endif

/* RVBOX_EXPORT(name): export a function under its C name. */
#define RVBOX_EXPORT(name) RVBOX_EXPORT_AS(name, #name)

/* ------------------------------------------------------------------------ */
/* Built-in services (imports the runtime provides; defined in start.c)      */
/* ------------------------------------------------------------------------ */

/* Ends the current call: run() returns `code`, an export call returns it. */
__attribute__((noreturn)) void rvbox_exit(int32_t code);

/*
 * Moves the heap break by `increment` bytes (may be negative) and returns the
 * old break, or (void *)-1 if the new break would fall below the heap start
 * or above the instance's heap limit. sbrk(0) returns the current break.
 */
void *rvbox_sbrk(intptr_t increment);

/* Writes `len` bytes at `ptr` to the host's print sink; returns 0. */
int32_t rvbox_print(const void *ptr, size_t len);

/* ------------------------------------------------------------------------ */
/* Printing helpers (start.c), all through rvbox_print                       */
/* ------------------------------------------------------------------------ */

/* Prints a NUL-terminated string (no newline added). */
void rvbox_print_str(const char *s);

/* Prints an unsigned decimal number. */
void rvbox_print_u32(uint32_t value);

/* Prints a signed decimal number. */
void rvbox_print_i32(int32_t value);

/* ------------------------------------------------------------------------ */
/* Heap (start.c): first-fit free list on top of rvbox_sbrk                  */
/* ------------------------------------------------------------------------ */

/* Allocates `size` bytes, 8-byte aligned; NULL when the heap limit is hit. */
void *malloc(size_t size);

/* Releases a block from malloc/calloc/realloc; free(NULL) does nothing. */
void free(void *ptr);

/* Allocates `count * size` zeroed bytes; NULL on overflow or no memory. */
void *calloc(size_t count, size_t size);

/*
 * Resizes a block, keeping its contents up to the smaller size. NULL `ptr`
 * acts as malloc; size 0 frees and returns NULL. On failure returns NULL and
 * leaves the old block untouched.
 */
void *realloc(void *ptr, size_t size);

/* ------------------------------------------------------------------------ */
/* Memory and string functions (start.c); the compiler also calls these      */
/* ------------------------------------------------------------------------ */

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif /* RVBOX_H */
