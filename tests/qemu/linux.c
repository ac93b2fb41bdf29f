/*
 * The rvbox services as Linux system calls, so an example guest built with
 * linux_imports.h runs under qemu-riscv32 and prints what it prints on rvbox.
 * Host imports of the examples that need no host state are here too.
 */
#include <stddef.h>
#include <stdint.h>

static long syscall3(long number, long a, long b, long c) {
  register long a0 __asm__("a0") = a;
  register long a1 __asm__("a1") = b;
  register long a2 __asm__("a2") = c;
  register long a7 __asm__("a7") = number;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

enum { SYS_WRITE = 64, SYS_EXIT = 93 };

__attribute__((noreturn)) void __linux_rvbox_exit(int32_t code) {
  for (;;) syscall3(SYS_EXIT, code, 0, 0);
}

int32_t __linux_rvbox_print(const void *ptr, size_t len) {
  syscall3(SYS_WRITE, 1, (long)ptr, (long)len);
  return 0;
}

/* The same contract as rvbox_sbrk with the default 16 MiB heap limit. */
static char arena[16 << 20] __attribute__((aligned(4096)));
static size_t brk_offset;

void *__linux_rvbox_sbrk(intptr_t increment) {
  intptr_t next = (intptr_t)brk_offset + increment;
  if (next < 0 || next > (intptr_t)sizeof arena) return (void *)-1;
  void *old = arena + brk_offset;
  brk_offset = (size_t)next;
  return old;
}

/* hello's host import: the text, then a newline. */
void __linux_host_log(const char *ptr, uint32_t len) {
  syscall3(SYS_WRITE, 1, (long)ptr, (long)len);
  syscall3(SYS_WRITE, 1, (long)"\n", 1);
}

/* hostcalls' host import. */
uint32_t __linux_host_add(uint32_t a, uint32_t b) { return a + b; }
