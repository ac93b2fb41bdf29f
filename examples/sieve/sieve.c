/*
 * sieve: the sieve of Eratosthenes over a static array in .bss. The export
 * count_primes(n) counts the primes below n (n <= SIEVE_MAX); main counts
 * the primes below SIEVE_MAX, prints the count and checks it.
 */
#include "rvbox.h"

#define SIEVE_MAX 4000000u
#define PRIMES_BELOW_MAX 283146u /* pi(4,000,000) */

/* composite[i] != 0 once i is known to be composite (4 MB of .bss). */
static uint8_t composite[SIEVE_MAX];

/* The number of primes below n, or -1 if n > SIEVE_MAX. */
RVBOX_EXPORT(count_primes) int32_t count_primes(uint32_t n) {
  if (n > SIEVE_MAX) return -1;
  memset(composite, 0, n); /* the export may be called again */
  uint32_t count = 0;
  for (uint32_t i = 2; i < n; i++) {
    if (composite[i]) continue;
    count++;
    if ((uint64_t)i * i >= n) continue; /* no multiples left to strike */
    for (uint32_t j = i * i; j < n; j += i) composite[j] = 1;
  }
  return (int32_t)count;
}

int main(void) {
  int32_t count = count_primes(SIEVE_MAX);
  rvbox_print_str("primes below ");
  rvbox_print_u32(SIEVE_MAX);
  rvbox_print_str(": ");
  rvbox_print_i32(count);
  rvbox_print_str("\n");
  return count == (int32_t)PRIMES_BELOW_MAX ? 0 : 1;
}
