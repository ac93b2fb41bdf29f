/*
 * fib: compute-heavy recursion. The export fib(n) computes the n-th
 * Fibonacci number the slow, doubly recursive way; main runs fib(FIB_N)
 * (tens of millions of instructions), prints it and checks it.
 */
#include "rvbox.h"

#define FIB_N 32
#define FIB_EXPECTED 2178309u

/* fib(n) modulo 2^32, exported for the host. */
RVBOX_EXPORT(fib) uint32_t fib(uint32_t n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(void) {
  uint32_t result = fib(FIB_N);
  rvbox_print_str("fib(");
  rvbox_print_u32(FIB_N);
  rvbox_print_str(") = ");
  rvbox_print_u32(result);
  rvbox_print_str("\n");
  return result == FIB_EXPECTED ? 0 : 1;
}
