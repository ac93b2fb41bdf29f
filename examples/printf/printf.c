/*
 * printf: ordinary C on the C library. Formatted output of integers, 64-bit
 * integers and floating point (soft float: the machine has no FPU), 64-bit
 * division, math.h, setjmp/longjmp, snprintf, strtod, assert and malloc.
 * Every value is checked; the output is checked by the tests, byte for byte.
 *
 *   deno task rvbox cc examples/printf/printf.c -o printf.elf
 */
/* strdup is POSIX, not C11. */
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* Counts a failed check and says which. */
static void check(int ok, const char *what) {
  if (!ok) {
    printf("FAILED: %s\n", what);
    failures++;
  }
}

/* 64-bit integer arithmetic: the compiler calls libgcc for division on RV32. */
static void integers(void) {
  int64_t big = 9007199254740993LL;
  uint64_t product = (uint64_t)3037000499u * 3037000499u;
  int64_t quotient = big / 1000003;
  int64_t remainder = big % 1000003;
  printf("%lld / 1000003 = %lld remainder %lld\n", (long long)big, (long long)quotient,
         (long long)remainder);
  printf("3037000499^2 = %llu = 0x%016llx\n", (unsigned long long)product,
         (unsigned long long)product);
  printf("INT64_MIN = %" PRId64 ", UINT64_MAX = %" PRIu64 "\n", INT64_MIN, UINT64_MAX);
  printf("[%5d] [%-5d] [%05d] [%+d] [%x] [%o] [%c] [%s]\n", 42, 42, 42, 42, 255, 8, 'r', "box");
  check(quotient * 1000003 + remainder == big, "64-bit division");
}

/* Floating point in software: float and double arithmetic, formatting, parsing, math.h. */
static void floating(void) {
  double pi = 4.0 * atan(1.0);
  float third = 1.0f / 3.0f;
  double parsed = strtod("6.02214076e23", NULL);
  printf("pi = %f = %.15f = %e\n", pi, pi, pi);
  printf("sqrt(2) = %.10f, exp(1) = %.10f, sin(pi/6) = %.6f\n", sqrt(2.0), exp(1.0), sin(pi / 6));
  printf("1/3 as float = %.9g, as double = %.16g\n", (double)third, 1.0 / 3.0);
  printf("Avogadro = %g, %.3e; pow(2, 0.5) = %a\n", parsed, parsed, pow(2.0, 0.5));
  printf("floor(-2.5) = %.1f, round(2.5) = %.1f, fmod(10, 3) = %.1f\n", floor(-2.5), round(2.5),
         fmod(10.0, 3.0));
  char text[32];
  snprintf(text, sizeof text, "%08.3f|%-8.2e|", -3.14159, 12345.678);
  printf("snprintf: %s\n", text);
  check(fabs(pi - 3.141592653589793) < 1e-15, "pi");
  check(parsed == 6.02214076e23, "strtod");
}

/* setjmp/longjmp: a non-local exit from a nested call. */
static jmp_buf escape;

static void deep(int depth) {
  if (depth == 0) longjmp(escape, 7);
  deep(depth - 1);
}

static void jumps(void) {
  int value = setjmp(escape);
  if (value == 0) {
    deep(10);
    check(0, "longjmp returned");
  }
  printf("longjmp from 10 calls deep: %d\n", value);
}

/* The heap: picolibc's malloc on the heap service. */
static void heap(void) {
  size_t count = 1000;
  uint64_t *squares = malloc(count * sizeof *squares);
  assert(squares != NULL);
  uint64_t sum = 0;
  for (size_t i = 0; i < count; i++) sum += squares[i] = (uint64_t)i * i * i;
  char *copy = strdup("heap string");
  printf("sum of cubes below %zu = %llu; %s of %zu bytes\n", count, (unsigned long long)sum, copy,
         strlen(copy));
  check(sum == 249500250000ULL, "sum of cubes");
  free(copy);
  free(squares);
}

int main(void) {
  integers();
  floating();
  jumps();
  heap();
  puts(failures == 0 ? "all checks passed" : "some checks failed");
  return failures;
}
