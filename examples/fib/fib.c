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

/* fib(n) as a 64-bit number, computed iteratively (exact up to n = 93);
 * returned in a1:a0, which the host reads with exports.fib64.i64(n). */
RVBOX_EXPORT(fib64) uint64_t fib64(uint32_t n) {
  uint64_t a = 0, b = 1;
  while (n-- > 0) {
    uint64_t next = a + b;
    a = b;
    b = next;
  }
  return a;
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
