/*
 * The rvbox services as x86-64 Linux system calls, so an example built with
 * imports.h and the SDK's start.c runs natively and prints what it prints on
 * rvbox. No libc: the program is the same freestanding code as the guest.
 */
#include <stddef.h>
#include <stdint.h>

static long syscall3(long number, long a, long b, long c) {
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return result;
}

enum { SYS_WRITE = 1, SYS_EXIT = 60 };

__attribute__((noreturn)) void __native_rvbox_exit(int32_t code) {
  for (;;) syscall3(SYS_EXIT, code, 0, 0);
}

int32_t __native_rvbox_print(const void *ptr, size_t len) {
  syscall3(SYS_WRITE, 1, (long)ptr, (long)len);
  return 0;
}

/* The same contract as rvbox_sbrk with the default 16 MiB heap limit. */
static char arena[16 << 20] __attribute__((aligned(4096)));
static size_t brk_offset;

void *__native_rvbox_sbrk(intptr_t increment) {
  intptr_t next = (intptr_t)brk_offset + increment;
  if (next < 0 || next > (intptr_t)sizeof arena) return (void *)-1;
  void *old = arena + brk_offset;
  brk_offset = (size_t)next;
  return old;
}

void _start(void);

/* The kernel enters with a 16-byte aligned stack; C functions expect 8 mod 16. */
__attribute__((naked, noreturn)) void __native_entry(void) {
  __asm__ volatile("and $-16, %rsp\n call _start\n ud2");
}
