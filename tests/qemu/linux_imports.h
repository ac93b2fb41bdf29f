/*
 * Force-included (-include) when a guest is built to run under qemu-riscv32
 * as a Linux program: every import stub jumps to __linux_<name> (linux.c)
 * instead of calling the rvbox host.
 */
#define RVBOX_IMPORT_AS(ret, cname, name, params)                              \
  __attribute__((naked, noinline, used)) ret cname params {                    \
    __asm__ volatile("tail __linux_" #cname);                                  \
  }
