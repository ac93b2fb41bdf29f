/*
 * A byte-wise tokenizer (identifiers, numbers, operators, whitespace) over
 * 512 KiB of generated source-like text; the counts and the sum of the
 * numbers must match what the generator wrote.
 */
#include "bench.h"

#define SIZE (512 << 10)
static char text[SIZE];
static uint8_t klass[256];
enum { SPACE = 1, WORD, DIGIT, OPERATOR };

typedef struct {
  int32_t identifiers, numbers, operators;
  uint32_t sum;
} Counts;

static const char FIRST[] = "abcdefghijklmnopqrstuvwxyz_";
static const char REST[] = "abcdefghijklmnopqrstuvwxyz_0123456789";
static const char OPERATORS[] = "+-*/=<>(){};,";
static const char SPACES[] = " \n\t";

static Counts generate(void) {
  Counts c = {0, 0, 0, 0};
  uint32_t seed = 0xdeadbeef;
  int32_t at = 0;
  while (at + 32 < SIZE) {
    uint32_t r = bench_next(&seed);
    switch (r % 3) {
    case 0: {
      text[at++] = FIRST[(r >> 8) % 27];
      for (uint32_t n = (r >> 16) % 10; n > 0; n--) text[at++] = REST[bench_next(&seed) % 37];
      c.identifiers++;
      break;
    }
    case 1: {
      uint32_t digits = 1 + (r >> 8) % 6, value = 0;
      for (uint32_t n = 0; n < digits; n++) {
        uint32_t d = bench_next(&seed) % 10;
        if (n == 0 && digits > 1 && d == 0) d = 1;
        text[at++] = (char)('0' + d);
        value = value * 10 + d;
      }
      c.numbers++;
      c.sum += value;
      break;
    }
    default:
      text[at++] = OPERATORS[(r >> 8) % 13];
      c.operators++;
    }
    for (uint32_t n = 1 + (r >> 24) % 3; n > 0; n--) text[at++] = SPACES[bench_next(&seed) % 3];
  }
  while (at < SIZE) text[at++] = ' ';
  return c;
}

static Counts tokenize(void) {
  Counts c = {0, 0, 0, 0};
  int32_t i = 0;
  while (i < SIZE) {
    switch (klass[(uint8_t)text[i]]) {
    case SPACE:
      i++;
      break;
    case WORD:
      c.identifiers++;
      do i++;
      while (i < SIZE && (klass[(uint8_t)text[i]] == WORD || klass[(uint8_t)text[i]] == DIGIT));
      break;
    case DIGIT: {
      uint32_t value = 0;
      do value = value * 10 + (uint32_t)(text[i++] - '0');
      while (i < SIZE && klass[(uint8_t)text[i]] == DIGIT);
      c.numbers++;
      c.sum += value;
      break;
    }
    case OPERATOR:
      c.operators++;
      i++;
      break;
    default:
      return (Counts){-1, -1, -1, 0}; /* a byte the generator never writes */
    }
  }
  return c;
}

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  for (int i = 0; i < 256; i++) klass[i] = 0;
  for (const char *p = SPACES; *p; p++) klass[(uint8_t)*p] = SPACE;
  for (const char *p = REST; *p; p++) klass[(uint8_t)*p] = *p >= '0' && *p <= '9' ? DIGIT : WORD;
  for (const char *p = OPERATORS; *p; p++) klass[(uint8_t)*p] = OPERATOR;
  Counts expected = generate();
  int32_t bad = expected.identifiers == 0 || expected.numbers == 0 || expected.operators == 0;
  for (int32_t round = 0; round < scale; round++) {
    Counts c = tokenize();
    bad |= c.identifiers != expected.identifiers || c.numbers != expected.numbers ||
           c.operators != expected.operators || c.sum != expected.sum;
  }
  return bad;
}
