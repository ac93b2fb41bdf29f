/*
 * A contract-sized program: 1024 small functions (tens of KiB of code)
 * behind a dispatch table. `small(x)` runs one of them (the per-call cost),
 * `run(scale)` checks every function against the formula they share, and
 * `ping(n)` makes n host calls (the host-call round trip).
 */
#include "bench.h"

#if defined(__wasm__)
__attribute__((import_module("env"), import_name("host_inc"))) int32_t host_inc(int32_t x);
#elif defined(__riscv) && !defined(BENCH_LINUX)
RVBOX_IMPORT(int32_t, host_inc, (int32_t x))
#else
/* Native and qemu builds have no host: the import is a plain function. */
__attribute__((noinline)) static int32_t host_inc(int32_t x) { return x + 1; }
#endif

/* Function number n (100000..133333, base-4 digits after the leading 1). */
#define BODY(n)                                                                \
  {                                                                            \
    uint32_t y = (uint32_t)x * (2u * (n) + 1u);                                \
    y ^= y >> ((n) % 7 + 1);                                                   \
    return (int32_t)(y + (n));                                                 \
  }
#define F(n) __attribute__((noinline)) static int32_t f_##n(int32_t x) BODY(n)
#define F4(a) F(a##0) F(a##1) F(a##2) F(a##3)
#define F16(a) F4(a##0) F4(a##1) F4(a##2) F4(a##3)
#define F64(a) F16(a##0) F16(a##1) F16(a##2) F16(a##3)
#define F256(a) F64(a##0) F64(a##1) F64(a##2) F64(a##3)
#define F1024(a) F256(a##0) F256(a##1) F256(a##2) F256(a##3)
F1024(1)

#define T(n) f_##n,
#define T4(a) T(a##0) T(a##1) T(a##2) T(a##3)
#define T16(a) T4(a##0) T4(a##1) T4(a##2) T4(a##3)
#define T64(a) T16(a##0) T16(a##1) T16(a##2) T16(a##3)
#define T256(a) T64(a##0) T64(a##1) T64(a##2) T64(a##3)
static int32_t (*const table[1024])(int32_t) = {T256(10) T256(11) T256(12) T256(13)};

/* Function k's number: 1 followed by k's five base-4 digits, read as decimal. */
static uint32_t number(uint32_t k) {
  uint32_t n = 1;
  for (int d = 4; d >= 0; d--) n = n * 10 + ((k >> (2 * d)) & 3);
  return n;
}

BENCH_EXPORT(small) int32_t small(int32_t x) { return table[(uint32_t)x & 1023](x); }

BENCH_EXPORT(ping) int32_t ping(int32_t n) {
  int32_t total = 0;
  for (int32_t i = 0; i < n; i++) total = host_inc(total);
  return total == n ? 0 : 1;
}

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  int32_t bad = 0;
  for (int32_t round = 0; round < scale; round++) {
    for (uint32_t k = 0; k < 1024; k++) {
      int32_t x = (int32_t)(k * 2654435761u + (uint32_t)round);
      uint32_t n = number(k);
      uint32_t y = (uint32_t)x * (2u * n + 1u);
      y ^= y >> (n % 7 + 1);
      bad |= table[k](x) != (int32_t)(y + n);
    }
  }
  return bad;
}
