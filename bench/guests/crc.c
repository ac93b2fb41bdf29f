/*
 * CRC bit loops: CRC-32 (reflected, polynomial 0xEDB88320) and
 * CRC-16/CCITT-FALSE (polynomial 0x1021, MSB first), one bit per step,
 * over 64 KiB; checked against their standard check values on "123456789"
 * and against table-driven versions of the same CRCs over the buffer.
 */
#include "bench.h"

#define SIZE (64 << 10)
static uint8_t data[SIZE];
static uint32_t table32[256];
static uint16_t table16[256];

static uint32_t crc32_bits(const uint8_t *p, int32_t n) {
  uint32_t crc = 0xffffffffu;
  for (int32_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int32_t bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

static uint16_t crc16_bits(const uint8_t *p, int32_t n) {
  uint32_t crc = 0xffff;
  for (int32_t i = 0; i < n; i++) {
    crc ^= (uint32_t)p[i] << 8;
    for (int32_t bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    }
  }
  return (uint16_t)crc;
}

/* Table-driven versions, byte at a time, from tables the bit loops do not share. */
static uint32_t crc32_table(const uint8_t *p, int32_t n) {
  uint32_t crc = 0xffffffffu;
  for (int32_t i = 0; i < n; i++) crc = table32[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static uint16_t crc16_table(const uint8_t *p, int32_t n) {
  uint32_t crc = 0xffff;
  for (int32_t i = 0; i < n; i++) crc = (crc << 8) ^ table16[((crc >> 8) ^ p[i]) & 0xff];
  return (uint16_t)crc;
}

static void make_tables(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i, d = i << 8;
    for (int32_t bit = 0; bit < 8; bit++) {
      c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
      d = d & 0x8000 ? (d << 1) ^ 0x1021 : d << 1;
    }
    table32[i] = c;
    table16[i] = (uint16_t)d;
  }
}

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  static const uint8_t check[] = "123456789";
  make_tables();
  int32_t bad = crc32_bits(check, 9) != 0xcbf43926u || crc16_bits(check, 9) != 0x29b1;
  bad |= crc32_table(check, 9) != 0xcbf43926u || crc16_table(check, 9) != 0x29b1;
  uint32_t seed = 0x600dcafe;
  for (int32_t i = 0; i < SIZE; i++) data[i] = (uint8_t)bench_next(&seed);
  for (int32_t round = 0; round < scale; round++) {
    data[(uint32_t)round * 7919u % SIZE] ^= (uint8_t)(1u << (round & 7)); /* new data each round */
    bad |= crc32_bits(data, SIZE) != crc32_table(data, SIZE);
    bad |= crc16_bits(data, SIZE) != crc16_table(data, SIZE);
  }
  return bad;
}
