/*
 * heap: exercises the SDK allocator (malloc/free/calloc/realloc on top of
 * rvbox_sbrk). It builds and frees a linked list, churns random-sized
 * blocks while checking their contents, then allocates 1 MiB blocks until
 * the instance's heap limit makes malloc return NULL, and checks that the
 * freed heap coalesces back into one large block. Last, it checks the SDK's
 * memcpy, memmove, memset and memcmp at every alignment against the bytes
 * they must produce.
 *
 * Exit code 0 when every check passes, otherwise the number of the failed
 * check (see the FAIL_* codes).
 */
#include "rvbox.h"

enum {
  FAIL_LIST_ALLOC = 2,    /* malloc failed while building the list */
  FAIL_LIST_CONTENT = 3,  /* list nodes lost their values */
  FAIL_CHURN_ALLOC = 4,   /* a small allocation failed */
  FAIL_CHURN_CONTENT = 5, /* a live block was overwritten */
  FAIL_CALLOC = 6,        /* calloc returned non-zero memory */
  FAIL_REALLOC = 7,       /* realloc lost the old contents */
  FAIL_NO_LIMIT = 8,      /* never hit the heap limit */
  FAIL_OVERSIZE = 9,      /* an impossible request did not return NULL */
  FAIL_COALESCE = 10,     /* freed memory did not merge back */
  FAIL_MEMCPY = 11,       /* memcpy wrote wrong bytes or outside its target */
  FAIL_MEMMOVE = 12,      /* memmove got an overlapping copy wrong */
  FAIL_MEMSET = 13,       /* memset wrote wrong bytes or outside its target */
  FAIL_MEMCMP = 14,       /* memcmp ordered two buffers wrongly */
};

/* xorshift32: a deterministic pseudo-random sequence. */
static uint32_t rng_state = 0x2545f491u;
static uint32_t rng(void) {
  uint32_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return rng_state = x;
}

static void print_line(const char *label, uint32_t value, const char *unit) {
  rvbox_print_str(label);
  rvbox_print_u32(value);
  rvbox_print_str(unit);
}

/* 1. A singly linked list of `count` nodes: build, verify, free. */
typedef struct node {
  struct node *next;
  uint32_t value;
} node;

static int list_test(uint32_t count) {
  node *head = NULL;
  for (uint32_t i = 0; i < count; i++) {
    node *n = malloc(sizeof *n);
    if (n == NULL) return FAIL_LIST_ALLOC;
    n->value = i * 2654435761u;
    n->next = head;
    head = n;
  }
  uint32_t expected = count;
  for (node *n = head; n != NULL; n = n->next) {
    if (n->value != --expected * 2654435761u) return FAIL_LIST_CONTENT;
  }
  if (expected != 0) return FAIL_LIST_CONTENT;
  while (head != NULL) {
    node *next = head->next;
    free(head);
    head = next;
  }
  return 0;
}

/* 2. Random churn: slots hold blocks filled with a pattern from their tag. */
#define SLOTS 256
#define CHURN_STEPS 12000

static struct {
  uint8_t *ptr;
  uint32_t size;
  uint8_t tag;
} slots[SLOTS];

static void fill(uint8_t *p, uint32_t size, uint8_t tag) {
  for (uint32_t i = 0; i < size; i++) p[i] = (uint8_t)(tag + i);
}

static bool intact(const uint8_t *p, uint32_t size, uint8_t tag) {
  for (uint32_t i = 0; i < size; i++) {
    if (p[i] != (uint8_t)(tag + i)) return false;
  }
  return true;
}

/* Mostly small blocks, sometimes up to 16 KiB. */
static uint32_t random_size(void) {
  uint32_t r = rng();
  return (r >> 28) == 0 ? 1 + r % 16384 : 1 + r % 512;
}

static uint32_t allocations, reallocs, frees;

static int churn_test(void) {
  for (uint32_t step = 0; step < CHURN_STEPS; step++) {
    uint32_t r = rng();
    uint32_t s = r % SLOTS;
    uint8_t tag = (uint8_t)(r >> 8);
    if (slots[s].ptr == NULL) {
      uint32_t size = random_size();
      uint8_t *p;
      if (r & 0x10000) {
        p = calloc(size, 1);
        if (p == NULL) return FAIL_CHURN_ALLOC;
        for (uint32_t i = 0; i < size; i++) {
          if (p[i] != 0) return FAIL_CALLOC;
        }
      } else {
        p = malloc(size);
        if (p == NULL) return FAIL_CHURN_ALLOC;
      }
      if (((uintptr_t)p & 7) != 0) return FAIL_CHURN_ALLOC;
      fill(p, size, tag);
      slots[s].ptr = p;
      slots[s].size = size;
      slots[s].tag = tag;
      allocations++;
      continue;
    }
    if (!intact(slots[s].ptr, slots[s].size, slots[s].tag)) return FAIL_CHURN_CONTENT;
    if (r & 0x20000) {
      free(slots[s].ptr);
      slots[s].ptr = NULL;
      frees++;
    } else {
      uint32_t size = random_size();
      uint8_t *p = realloc(slots[s].ptr, size);
      if (p == NULL) return FAIL_CHURN_ALLOC;
      uint32_t kept = size < slots[s].size ? size : slots[s].size;
      if (!intact(p, kept, slots[s].tag)) return FAIL_REALLOC;
      fill(p, size, tag);
      slots[s].ptr = p;
      slots[s].size = size;
      slots[s].tag = tag;
      reallocs++;
    }
  }
  for (uint32_t s = 0; s < SLOTS; s++) {
    if (slots[s].ptr == NULL) continue;
    if (!intact(slots[s].ptr, slots[s].size, slots[s].tag)) return FAIL_CHURN_CONTENT;
    free(slots[s].ptr);
    slots[s].ptr = NULL;
    frees++;
  }
  return 0;
}

/* 3. Allocate 1 MiB blocks until the heap limit; NULL must come back cleanly. */
#define MIB (1024u * 1024u)
#define MAX_CHUNKS 1024 /* 1 GiB: more than any instance may have */

static uint8_t *chunks[MAX_CHUNKS];
static uint32_t chunk_count;

static int limit_test(void) {
  while (chunk_count < MAX_CHUNKS) {
    uint8_t *p = malloc(MIB);
    if (p == NULL) break;
    p[0] = 1; /* the memory is really there */
    p[MIB - 1] = 2;
    chunks[chunk_count++] = p;
  }
  if (chunk_count == MAX_CHUNKS) return FAIL_NO_LIMIT;
  if (malloc(SIZE_MAX) != NULL || malloc(0x7fffffffu) != NULL) return FAIL_OVERSIZE;
  if (calloc(0x10000u, 0x10001u) != NULL) return FAIL_OVERSIZE; /* size overflows */
  for (uint32_t i = 0; i < chunk_count; i++) {
    if (chunks[i][0] != 1 || chunks[i][MIB - 1] != 2) return FAIL_CHURN_CONTENT;
    free(chunks[i]);
  }
  /* Everything is free again: the neighbours must have merged. */
  if (chunk_count > 1) {
    void *big = malloc((chunk_count - 1) * MIB);
    if (big == NULL) return FAIL_COALESCE;
    free(big);
  }
  return 0;
}

/*
 * 4. The SDK's memory functions, at every source and target alignment and at
 * lengths around the word-copy threshold, checked byte by byte (not with a
 * copy loop of our own, which the compiler could turn into a memcpy call).
 */
#define SPAN 96
static uint8_t area[2 * SPAN];
static const uint32_t lengths[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 16, 31, 33, 64, 77};
#define LENGTH_COUNT (sizeof lengths / sizeof lengths[0])

static uint8_t pattern(uint32_t i) { return (uint8_t)(i * 7 + 1); }

static void fill_pattern(void) {
  for (uint32_t i = 0; i < 2 * SPAN; i++) area[i] = pattern(i);
}

/* After copying pattern[from, from + n) to [to, to + n) of `area`. */
static bool moved(uint32_t to, uint32_t from, uint32_t n) {
  for (uint32_t i = 0; i < 2 * SPAN; i++) {
    bool inside = i >= to && i < to + n;
    uint8_t expected = inside ? pattern(from + i - to) : pattern(i);
    if (area[i] != expected) return false;
  }
  return true;
}

static int memfuncs_test(void) {
  for (uint32_t l = 0; l < LENGTH_COUNT; l++) {
    uint32_t n = lengths[l];
    for (uint32_t from = 0; from < 8; from++) {
      for (uint32_t to = 0; to < 8; to++) {
        /* memcpy: the source in the upper half, the target in the lower. */
        fill_pattern();
        if (memcpy(area + to, area + SPAN + from, n) != area + to) return FAIL_MEMCPY;
        if (!moved(to, SPAN + from, n)) return FAIL_MEMCPY;
        /* memmove within a few bytes of itself, both directions. */
        uint32_t at = 8 + to, source = 8 + from + (l & 1 ? 0 : 3);
        fill_pattern();
        if (memmove(area + at, area + source, n) != area + at) return FAIL_MEMMOVE;
        if (!moved(at, source, n)) return FAIL_MEMMOVE;
        fill_pattern();
        if (memmove(area + source, area + at, n) != area + source) return FAIL_MEMMOVE;
        if (!moved(source, at, n)) return FAIL_MEMMOVE;
      }
      fill_pattern();
      if (memset(area + from, 0xa5, n) != area + from) return FAIL_MEMSET;
      for (uint32_t i = 0; i < 2 * SPAN; i++) {
        bool inside = i >= from && i < from + n;
        if (area[i] != (inside ? 0xa5 : pattern(i))) return FAIL_MEMSET;
      }
    }
  }
  static const uint8_t a[] = {1, 2, 3, 250}, b[] = {1, 2, 4, 1}, c[] = {1, 2, 3, 251};
  if (memcmp(a, a, 4) != 0 || memcmp(a, b, 4) >= 0 || memcmp(b, a, 4) <= 0) return FAIL_MEMCMP;
  if (memcmp(a, c, 4) >= 0 || memcmp(a, c, 3) != 0 || memcmp(a, b, 0) != 0) return FAIL_MEMCMP;
  return 0;
}

int main(void) {
  uintptr_t heap_start = (uintptr_t)rvbox_sbrk(0);
  int failure = list_test(20000);
  if (failure == 0) failure = churn_test();
  uintptr_t churn_top = (uintptr_t)rvbox_sbrk(0);
  if (failure == 0) failure = limit_test();
  if (failure == 0) failure = memfuncs_test();
  if (failure != 0) {
    print_line("heap: check failed with code ", (uint32_t)failure, "\n");
    return failure;
  }
  print_line("heap: 20000 list nodes; ", allocations, " allocations, ");
  print_line("", reallocs, " reallocs, ");
  print_line("", frees, " frees; ");
  print_line("heap grew to ", (uint32_t)(churn_top - heap_start) / 1024, " KiB\n");
  print_line("heap: malloc returned NULL after ", chunk_count, " blocks of 1 MiB; ");
  rvbox_print_str("freed memory merged back; memcpy, memmove, memset, memcmp checked;\n");
  rvbox_print_str("heap: all checks passed\n");
  return 0;
}
