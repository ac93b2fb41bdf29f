/*
 * Quicksort of 128 Ki pseudo-random even numbers, then a binary search for
 * every original value (all present) and every value plus one (all absent).
 */
#include "bench.h"

#define COUNT (1 << 17)
static int32_t data[COUNT], original[COUNT];

static void quicksort(int32_t *a, int32_t lo, int32_t hi) {
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    /* median of three as the pivot */
    int32_t x = a[lo], y = a[mid], z = a[hi];
    int32_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int32_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        int32_t t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    /* recurse into the smaller half, loop on the larger */
    if (j - lo < hi - i) {
      quicksort(a, lo, j);
      lo = i;
    } else {
      quicksort(a, i, hi);
      hi = j;
    }
  }
}

static int32_t contains(const int32_t *a, int32_t n, int32_t key) {
  int32_t lo = 0, hi = n - 1;
  while (lo <= hi) {
    int32_t mid = lo + (hi - lo) / 2;
    if (a[mid] == key) return 1;
    if (a[mid] < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  int32_t bad = 0;
  uint32_t seed = 0x2545f491;
  for (int32_t round = 0; round < scale; round++) {
    for (int32_t i = 0; i < COUNT; i++) {
      data[i] = original[i] = (int32_t)(bench_next(&seed) & 0x7ffffffe);
    }
    quicksort(data, 0, COUNT - 1);
    for (int32_t i = 1; i < COUNT; i++) bad |= data[i - 1] > data[i];
    int32_t found = 0, phantom = 0;
    for (int32_t i = 0; i < COUNT; i++) {
      found += contains(data, COUNT, original[i]);
      phantom += contains(data, COUNT, original[i] + 1);
    }
    bad |= found != COUNT || phantom != 0;
  }
  return bad;
}
