/*
 * Small integer matrix kernels: products of 4x4, 8x8 and 16x16 int32
 * matrices (wrapping arithmetic), checked by associativity, (AB)C = A(BC),
 * and by the transpose rule, (AB)^T = B^T A^T, both exact modulo 2^32.
 */
#include "bench.h"

#define MAX 16
typedef int32_t matrix_t[MAX][MAX];

static matrix_t a, b, c, ab, bc, left, right, at, bt, abt, btat;

/* out = x * y for n x n matrices (unsigned arithmetic: wrapping is defined). */
static void multiply(int32_t n, matrix_t x, matrix_t y, matrix_t out) {
  for (int32_t i = 0; i < n; i++) {
    for (int32_t j = 0; j < n; j++) {
      uint32_t s = 0;
      for (int32_t k = 0; k < n; k++) s += (uint32_t)x[i][k] * (uint32_t)y[k][j];
      out[i][j] = (int32_t)s;
    }
  }
}

static void transpose(int32_t n, matrix_t x, matrix_t out) {
  for (int32_t i = 0; i < n; i++) {
    for (int32_t j = 0; j < n; j++) out[j][i] = x[i][j];
  }
}

static int32_t differ(int32_t n, matrix_t x, matrix_t y) {
  int32_t d = 0;
  for (int32_t i = 0; i < n; i++) {
    for (int32_t j = 0; j < n; j++) d |= x[i][j] != y[i][j];
  }
  return d;
}

static void fill(int32_t n, matrix_t m, uint32_t *seed) {
  for (int32_t i = 0; i < n; i++) {
    for (int32_t j = 0; j < n; j++) m[i][j] = (int32_t)(bench_next(seed) % 2001) - 1000;
  }
}

/* One round at size n: six products, two transposes, two comparisons. */
static int32_t check(int32_t n, uint32_t *seed) {
  fill(n, a, seed);
  fill(n, b, seed);
  fill(n, c, seed);
  multiply(n, a, b, ab);
  multiply(n, ab, c, left);
  multiply(n, b, c, bc);
  multiply(n, a, bc, right);
  transpose(n, a, at);
  transpose(n, b, bt);
  transpose(n, ab, abt);
  multiply(n, bt, at, btat);
  return differ(n, left, right) | differ(n, abt, btat);
}

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  uint32_t seed = 0xabcdef1;
  int32_t bad = 0;
  for (int32_t round = 0; round < scale; round++) {
    for (int32_t i = 0; i < 16; i++) bad |= check(4, &seed);
    for (int32_t i = 0; i < 4; i++) bad |= check(8, &seed);
    bad |= check(16, &seed);
  }
  return bad;
}
