/* Sieve of Eratosthenes below one million, counted and checked against pi(10^6). */
#include "bench.h"

#define LIMIT 1000000
static uint8_t composite[LIMIT];

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  int32_t bad = 0;
  for (int32_t round = 0; round < scale; round++) {
    for (int32_t i = 0; i < LIMIT; i++) composite[i] = 0;
    int32_t count = 0;
    for (int32_t i = 2; i < LIMIT; i++) {
      if (composite[i]) continue;
      count++;
      if (i > LIMIT / i) continue; /* i * i would pass the limit */
      for (int32_t j = i * i; j < LIMIT; j += i) composite[j] = 1;
    }
    bad |= count != 78498;
  }
  return bad;
}
