/*
 * Shared by every benchmark workload: how a function is exported on each
 * target, built from the same source for rvbox (rv32em, rv32imac), wasm32,
 * native x86-64 and Linux riscv32 under qemu.
 *
 * Each workload defines `int32_t run(int32_t scale)`, which does the work
 * `scale` times and returns 0 when its own result checks out (nonzero
 * otherwise). Native and qemu builds call it from main.c.
 */
#ifndef BENCH_H
#define BENCH_H
#include <stddef.h>
#include <stdint.h>

#if defined(__wasm__)
#define BENCH_EXPORT(name) __attribute__((export_name(#name), used))
#elif defined(__riscv)
#include "rvbox.h"
#define BENCH_EXPORT(name) RVBOX_EXPORT(name)
#else
#define BENCH_EXPORT(name) __attribute__((used))
#endif

/* A small deterministic generator (xorshift32): every target gets the same inputs. */
static inline uint32_t bench_next(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

#endif
