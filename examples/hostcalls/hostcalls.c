/*
 * hostcalls: host-call overhead. loop(n) calls the host import host_add n
 * times, accumulating acc = host_add(acc, i); main runs a million calls and
 * checks the sum.
 */
#include "rvbox.h"

#define CALLS 1000000u

/* Supplied by the host: returns (a + b) modulo 2^32. */
RVBOX_IMPORT(uint32_t, host_add, (uint32_t a, uint32_t b))

/* Sum of 0..n-1 computed by n host calls, modulo 2^32. */
RVBOX_EXPORT(loop) uint32_t loop(uint32_t n) {
  uint32_t acc = 0;
  for (uint32_t i = 0; i < n; i++) acc = host_add(acc, i);
  return acc;
}

int main(void) {
  uint32_t sum = loop(CALLS);
  uint32_t expected = (uint32_t)((uint64_t)CALLS * (CALLS - 1) / 2);
  rvbox_print_u32(CALLS);
  rvbox_print_str(" host calls, sum = ");
  rvbox_print_u32(sum);
  rvbox_print_str(sum == expected ? " (correct)\n" : " (WRONG)\n");
  return sum == expected ? 0 : 1;
}
