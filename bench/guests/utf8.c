/*
 * A byte-at-a-time UTF-8 decoder (a state machine: the states are how many
 * continuation bytes are still due and the range the next one must fall in)
 * over 256 KiB of generated text: ASCII, 2-, 3- and 4-byte characters, and
 * invalid bytes and cut-off sequences. The decoder must find every
 * character, every error and the sum of the code points the generator wrote.
 */
#include "bench.h"

#define SIZE (256 << 10)
static uint8_t text[SIZE];

typedef struct {
  uint32_t characters, errors, sum;
} Counts;

/* Bytes that never start a character (stray continuations, overlong leads, beyond U+10FFFF). */
static const uint8_t STRAY[] = {0x80, 0x9f, 0xbf, 0xc0, 0xc1, 0xf5, 0xfe, 0xff};

static int32_t put(uint32_t c, int32_t at) {
  if (c < 0x80) {
    text[at++] = (uint8_t)c;
  } else if (c < 0x800) {
    text[at++] = (uint8_t)(0xc0 | c >> 6);
    text[at++] = (uint8_t)(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    text[at++] = (uint8_t)(0xe0 | c >> 12);
    text[at++] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
    text[at++] = (uint8_t)(0x80 | (c & 0x3f));
  } else {
    text[at++] = (uint8_t)(0xf0 | c >> 18);
    text[at++] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
    text[at++] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
    text[at++] = (uint8_t)(0x80 | (c & 0x3f));
  }
  return at;
}

static Counts generate(void) {
  Counts c = {0, 0, 0};
  uint32_t seed = 0x9e3779b9;
  int32_t at = 0;
  while (at + 8 < SIZE) {
    uint32_t r = bench_next(&seed);
    uint32_t kind = r % 16, code;
    if (kind < 9) code = 0x20 + (r >> 8) % 0x5f; /* mostly ASCII, as real text */
    else if (kind < 12) code = 0x80 + (r >> 8) % 0x780;
    else if (kind < 14) {
      code = 0x800 + (r >> 8) % 0xf800;
      if (code >= 0xd800 && code < 0xe000) code -= 0x1000; /* no surrogates */
    } else if (kind < 15) code = 0x10000 + (r >> 8) % 0x100000;
    else {
      /* An error: a stray byte, or a 3-byte character cut after its second byte
         (then an ASCII letter, lest a stray continuation byte complete it). */
      if ((r >> 8) & 1) {
        text[at++] = STRAY[(r >> 9) % sizeof STRAY];
      } else {
        text[at++] = 0xe4;
        text[at++] = 0xb8;
        text[at++] = 'x';
        c.characters++;
        c.sum += 'x';
      }
      c.errors++;
      continue;
    }
    at = put(code, at);
    c.characters++;
    c.sum += code;
  }
  while (at < SIZE) {
    text[at++] = ' ';
    c.characters++;
    c.sum += ' ';
  }
  return c;
}

/*
 * After an error the decoder starts again at the byte that broke the
 * sequence (or after a byte that cannot start one), as the Unicode
 * standard's "maximal subpart" practice has it.
 */
static Counts decode(void) {
  Counts c = {0, 0, 0};
  uint32_t code = 0, due = 0;
  uint8_t low = 0x80, high = 0xbf; /* where the next continuation byte must lie */
  for (int32_t i = 0; i < SIZE; i++) {
    uint8_t b = text[i];
    if (due != 0) {
      if (b >= low && b <= high) {
        code = code << 6 | (b & 0x3f);
        low = 0x80;
        high = 0xbf;
        if (--due == 0) {
          c.characters++;
          c.sum += code;
        }
        continue;
      }
      c.errors++;
      due = 0;
      low = 0x80;
      high = 0xbf;
    }
    if (b < 0x80) {
      c.characters++;
      c.sum += b;
    } else if (b >= 0xc2 && b <= 0xdf) {
      code = b & 0x1f;
      due = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      code = b & 0x0f;
      due = 2;
      if (b == 0xe0) low = 0xa0;  /* overlong */
      if (b == 0xed) high = 0x9f; /* surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
      code = b & 0x07;
      due = 3;
      if (b == 0xf0) low = 0x90;  /* overlong */
      if (b == 0xf4) high = 0x8f; /* above U+10FFFF */
    } else {
      c.errors++;
    }
  }
  if (due != 0) c.errors++;
  return c;
}

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  Counts expected = generate();
  int32_t bad = expected.errors == 0;
  for (int32_t round = 0; round < scale; round++) {
    Counts c = decode();
    bad |= c.characters != expected.characters || c.errors != expected.errors ||
           c.sum != expected.sum;
  }
  return bad;
}
