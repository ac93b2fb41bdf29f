/* Recursive, call-heavy: fib(22..24) the doubly recursive way. */
#include "bench.h"

static int32_t fib(int32_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  static const int32_t expected[3] = {17711, 28657, 46368};
  int32_t bad = 0;
  for (int32_t i = 0; i < scale; i++) {
    int32_t n = 22 + i % 3; /* varies, so the compiler cannot hoist the call */
    bad |= fib(n) != expected[i % 3];
  }
  return bad;
}
