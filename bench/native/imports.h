/*
 * Force-included (-include) when an example is built as a native x86-64
 * Linux program for the benchmark's physical limit: every import stub jumps
 * to __native_<name> (linux_x64.c) instead of calling the rvbox host.
 */
#define RVBOX_IMPORT_AS(ret, cname, name, params)                              \
  __attribute__((naked, noinline, used)) ret cname params {                    \
    __asm__ volatile("jmp __native_" #cname);                                  \
  }
