/*
 * hello: the smallest rvbox guest. It greets through a host import
 * (host_log, supplied by the host script) and through the built-in
 * rvbox_print service, then exits with 0.
 */
#include "rvbox.h"

/* A host function: the host reads `len` bytes at `ptr` from guest memory. */
RVBOX_IMPORT(void, host_log, (const char *ptr, uint32_t len))

int main(void) {
  static const char greeting[] = "Hello from RISC-V!";
  host_log(greeting, sizeof greeting - 1);
  rvbox_print_str("This line came through the built-in rvbox_print service.\n");
  return 0;
}
