/*
 * memcpy, memmove and memset over 256 KiB buffers at many sizes and
 * alignments; every operation is spot-checked against the source.
 */
#include "bench.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#define SIZE (256 << 10)
static uint8_t source[SIZE], target[SIZE];

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  uint32_t seed = 0x9e3779b9;
  for (int32_t i = 0; i < SIZE; i++) source[i] = (uint8_t)bench_next(&seed);
  int32_t bad = 0;
  for (int32_t round = 0; round < scale; round++) {
    memset(target, round & 0xff, SIZE);
    bad |= target[0] != (round & 0xff) || target[SIZE - 1] != (round & 0xff);
    for (int32_t k = 0; k < 2000; k++) {
      uint32_t r = bench_next(&seed);
      size_t length = 1 + (r & 4095);
      size_t from = (r >> 12) % (SIZE - length), to = bench_next(&seed) % (SIZE - length);
      if (k & 1) {
        memcpy(target + to, source + from, length);
        bad |= target[to] != source[from] || target[to + length - 1] != source[from + length - 1];
      } else {
        uint8_t first = target[from], last = target[from + length - 1];
        memmove(target + to, target + from, length); /* may overlap */
        bad |= target[to] != first || target[to + length - 1] != last;
      }
    }
  }
  return bad;
}
