/*
 * start.c: the startup file of the rvbox guest SDK (see rvbox.h).
 *
 * Link it into every guest. It provides the entry point `_start`, the
 * built-in service stubs, the printing helpers, the memory/string functions
 * the compiler may call, and a small first-fit heap allocator.
 *
 * Compiled with -DRVBOX_LIBC (guests on picolibc, see libc.c) it keeps only
 * the entry point, the services and the printing helpers: the C library
 * brings its own memory functions and malloc.
 */
#include "rvbox.h"

/* ------------------------------------------------------------------------ */
/* Built-in services (abi/README.md §5)                                      */
/* ------------------------------------------------------------------------ */

RVBOX_IMPORT(void, rvbox_exit, (int32_t code))
RVBOX_IMPORT(void *, rvbox_sbrk, (intptr_t increment))
RVBOX_IMPORT(int32_t, rvbox_print, (const void *ptr, size_t len))

/* ------------------------------------------------------------------------ */
/* Entry point                                                               */
/* ------------------------------------------------------------------------ */

#ifdef RVBOX_LIBC

/* `main` is optional (see below); on the C library it may take argc and argv. */
__attribute__((weak)) int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return 0;
}

void __libc_init_array(void);
__attribute__((noreturn)) void exit(int code);

/*
 * The entry point (first in .text): tp for the C library's thread-locals
 * (rvbox.h), constructors, then main with no arguments; exit() runs the
 * atexit handlers and flushes stdout (libc.c).
 */
__attribute__((noreturn, section(".text.start"))) void _start(void) {
  __asm__ volatile(RVBOX_SET_TP_ASM);
  __libc_init_array();
  static char *no_arguments[] = {0};
  exit(main(0, no_arguments));
}

#else

/*
 * `main` is optional: a library-style guest that only has exports can omit
 * it, and then run() gets this weak default, which exits with 0.
 */
__attribute__((weak)) int main(void) { return 0; }

/*
 * The entry point (first in .text). The runtime has already set sp; the SDK
 * does not use gp, so there is nothing else to set up (.bss is zero because
 * fresh memory is zero).
 */
__attribute__((noreturn, section(".text.start"))) void _start(void) { rvbox_exit(main()); }

#endif

/* ------------------------------------------------------------------------ */
/* Printing helpers                                                          */
/* ------------------------------------------------------------------------ */

void rvbox_print_str(const char *s) { rvbox_print(s, strlen(s)); }

void rvbox_print_u32(uint32_t value) {
  char buf[10];
  size_t i = sizeof buf;
  do {
    buf[--i] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  rvbox_print(buf + i, sizeof buf - i);
}

void rvbox_print_i32(int32_t value) {
  if (value < 0) {
    rvbox_print("-", 1);
    /* Negate in unsigned arithmetic so INT32_MIN works. */
    rvbox_print_u32(0u - (uint32_t)value);
  } else {
    rvbox_print_u32((uint32_t)value);
  }
}

#ifndef RVBOX_LIBC

/* ------------------------------------------------------------------------ */
/* Memory and string functions                                               */
/* ------------------------------------------------------------------------ */

/*
 * The compiler emits calls to memcpy/memset/memmove/memcmp (struct copies,
 * large initializers). `no_builtin` (and -ffreestanding) stops clang from
 * recognizing the loops below as memcpy/memset idioms, which would turn
 * them into calls to themselves.
 */

/* A 32-bit word that may alias any other type. */
typedef uint32_t __attribute__((may_alias)) rvbox_word;

#define RVBOX_ALIGNED4(p) ((((uintptr_t)(p)) & 3) == 0)

/*
 * Four bytes that start `skew` (1-3) bytes into the aligned word `low` and end
 * in the next word `high` (little-endian).
 */
static inline uint32_t rvbox_funnel(uint32_t low, uint32_t high, uint32_t skew) {
  return (low >> (skew * 8)) | (high << (32 - skew * 8));
}

/*
 * Word copies need an aligned destination; a misaligned source is read as
 * aligned words and shifted together, since a byte loop costs four times the
 * instructions. Every word read holds at least one byte being copied, so
 * nothing outside the source's pages is touched.
 */
#define RVBOX_WORD_COPY_MIN 8

/* Copies forwards; also right for overlapping ranges with dst below src. */
__attribute__((no_builtin)) static void *copy_forwards(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (n >= RVBOX_WORD_COPY_MIN) {
    for (; !RVBOX_ALIGNED4(d); n--) *d++ = *s++;
    uint32_t skew = (uintptr_t)s & 3;
    if (skew == 0) {
      for (; n >= 4; n -= 4, d += 4, s += 4) *(rvbox_word *)d = *(const rvbox_word *)s;
    } else {
      const rvbox_word *w = (const rvbox_word *)(s - skew);
      uint32_t low = *w++;
      for (; n >= 4; n -= 4, d += 4) {
        uint32_t high = *w++;
        *(rvbox_word *)d = rvbox_funnel(low, high, skew);
        low = high;
      }
      s = (const unsigned char *)w - 4 + skew;
    }
  }
  for (; n != 0; n--) *d++ = *s++;
  return dst;
}

__attribute__((no_builtin)) void *memcpy(void *restrict dst, const void *restrict src,
                                         size_t n) {
  return copy_forwards(dst, src, n);
}

__attribute__((no_builtin)) void *memmove(void *dst, const void *src, size_t n) {
  if ((uintptr_t)dst - (uintptr_t)src >= n) {
    /* dst is below src or the ranges do not overlap: copy forwards. */
    return copy_forwards(dst, src, n);
  }
  /* dst overlaps the tail of src: copy backwards, from the ends. */
  unsigned char *d = (unsigned char *)dst + n;
  const unsigned char *s = (const unsigned char *)src + n;
  if (n >= RVBOX_WORD_COPY_MIN) {
    for (; !RVBOX_ALIGNED4(d); n--) *--d = *--s;
    uint32_t skew = (uintptr_t)s & 3;
    if (skew == 0) {
      for (; n >= 4; n -= 4) {
        d -= 4;
        s -= 4;
        *(rvbox_word *)d = *(const rvbox_word *)s;
      }
    } else {
      const rvbox_word *w = (const rvbox_word *)(s - skew);
      uint32_t high = *w;
      for (; n >= 4; n -= 4) {
        uint32_t low = *--w;
        d -= 4;
        *(rvbox_word *)d = rvbox_funnel(low, high, skew);
        high = low;
      }
      s = (const unsigned char *)w + skew;
    }
  }
  for (; n != 0; n--) *--d = *--s;
  return dst;
}

__attribute__((no_builtin)) void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  unsigned char byte = (unsigned char)c;
  for (; n != 0 && !RVBOX_ALIGNED4(d); n--) *d++ = byte;
  uint32_t word = byte * 0x01010101u;
  for (; n >= 4; n -= 4, d += 4) *(rvbox_word *)d = word;
  for (; n != 0; n--) *d++ = byte;
  return dst;
}

__attribute__((no_builtin)) int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a;
  const unsigned char *y = b;
  for (; n != 0; n--, x++, y++) {
    if (*x != *y) return *x < *y ? -1 : 1;
  }
  return 0;
}

__attribute__((no_builtin)) size_t strlen(const char *s) {
  const char *p = s;
  while (*p) p++;
  return (size_t)(p - s);
}

/* ------------------------------------------------------------------------ */
/* Heap allocator                                                            */
/* ------------------------------------------------------------------------ */

/*
 * Every block starts with an 8-byte header; payloads are 8-byte aligned.
 * Free blocks form a singly linked list sorted by address, so free() can
 * merge a block with its free neighbours. malloc() takes the first block
 * that fits (splitting off the rest) and grows the heap with rvbox_sbrk
 * when none does.
 */
typedef struct rvbox_block {
  size_t size;              /* whole block in bytes, header included, multiple of 8 */
  struct rvbox_block *next; /* free: next free block (higher address); used: MAGIC */
} rvbox_block;

#define HEADER_SIZE sizeof(rvbox_block) /* 8 */
#define MIN_BLOCK 16                    /* header + smallest payload */
#define GROW_CHUNK 65536                /* preferred sbrk step */
#define MAX_REQUEST 0x7fff0000u         /* larger requests fail (sbrk takes a signed size) */
/* Marks a block in use; never a valid free-list pointer (not 8-aligned). */
#define MAGIC ((rvbox_block *)0xa110ca7eu)
#define SBRK_FAILED ((void *)-1)

static rvbox_block *free_list;

/* Block size for a request of `n` payload bytes (n <= MAX_REQUEST). */
static size_t block_size(size_t n) {
  size_t size = (n + HEADER_SIZE + 7) & ~(size_t)7;
  return size < MIN_BLOCK ? MIN_BLOCK : size;
}

/* The header of a payload from malloc; traps on a pointer malloc never gave. */
static rvbox_block *header_of(void *ptr) {
  rvbox_block *block = (rvbox_block *)ptr - 1;
  if (((uintptr_t)ptr & 7) != 0 || block->next != MAGIC) __builtin_trap();
  return block;
}

/* Puts a block on the free list, merging it with adjacent free blocks. */
static void insert_free(rvbox_block *block) {
  rvbox_block *prev = NULL;
  rvbox_block *cur = free_list;
  while (cur != NULL && cur < block) {
    prev = cur;
    cur = cur->next;
  }
  if (cur != NULL && (char *)block + block->size == (char *)cur) {
    block->size += cur->size;
    block->next = cur->next;
  } else {
    block->next = cur;
  }
  if (prev == NULL) {
    free_list = block;
  } else if ((char *)prev + prev->size == (char *)block) {
    prev->size += block->size;
    prev->next = block->next;
  } else {
    prev->next = block;
  }
}

/* Cuts `block` down to `size` bytes and frees the rest if it is big enough. */
static void trim(rvbox_block *block, size_t size) {
  if (block->size - size >= MIN_BLOCK) {
    rvbox_block *rest = (rvbox_block *)((char *)block + size);
    rest->size = block->size - size;
    block->size = size;
    insert_free(rest);
  }
}

/* Grows the heap so that a free block of at least `need` bytes exists. */
static bool grow(size_t need) {
  char *brk = rvbox_sbrk(0);
  if (brk == SBRK_FAILED) return false;
  /* A free block ending at the break only needs to be extended. */
  rvbox_block *last = free_list;
  while (last != NULL && last->next != NULL) last = last->next;
  if (last != NULL && (char *)last + last->size == brk) need -= last->size;
  size_t pad = (size_t)(-(uintptr_t)brk & 7); /* someone else may have moved brk */
  size_t size = need < GROW_CHUNK ? GROW_CHUNK : need;
  char *start = rvbox_sbrk((intptr_t)(pad + size));
  if (start == SBRK_FAILED) {
    size = need; /* near the heap limit: take only what is needed */
    start = rvbox_sbrk((intptr_t)(pad + size));
    if (start == SBRK_FAILED) return false;
  }
  rvbox_block *block = (rvbox_block *)(start + pad);
  block->size = size;
  insert_free(block);
  return true;
}

void *malloc(size_t n) {
  if (n > MAX_REQUEST) return NULL;
  size_t need = block_size(n);
  for (;;) {
    rvbox_block **link = &free_list;
    for (rvbox_block *block = free_list; block != NULL; block = block->next) {
      if (block->size >= need) {
        if (block->size - need >= MIN_BLOCK) {
          /* Split: the rest takes the block's place in the list. It cannot
             touch the next free block, since free blocks are merged. */
          rvbox_block *rest = (rvbox_block *)((char *)block + need);
          rest->size = block->size - need;
          rest->next = block->next;
          block->size = need;
          *link = rest;
        } else {
          *link = block->next;
        }
        block->next = MAGIC;
        return block + 1;
      }
      link = &block->next;
    }
    if (!grow(need)) return NULL;
  }
}

void free(void *ptr) {
  if (ptr != NULL) insert_free(header_of(ptr));
}

void *calloc(size_t count, size_t size) {
  if (size != 0 && count > MAX_REQUEST / size) return NULL;
  void *ptr = malloc(count * size);
  /* Reused blocks hold old data, so clear even memory fresh from sbrk. */
  if (ptr != NULL) memset(ptr, 0, count * size);
  return ptr;
}

void *realloc(void *ptr, size_t n) {
  if (ptr == NULL) return malloc(n);
  rvbox_block *block = header_of(ptr);
  if (n == 0) {
    free(ptr);
    return NULL;
  }
  if (n > MAX_REQUEST) return NULL;
  size_t need = block_size(n);
  if (block->size < need) {
    /* Absorb the next block if it is free and makes enough room. */
    rvbox_block *next = (rvbox_block *)((char *)block + block->size);
    rvbox_block **link = &free_list;
    while (*link != NULL && *link < next) link = &(*link)->next;
    if (*link == next && block->size + next->size >= need) {
      *link = next->next;
      block->size += next->size;
    } else {
      void *fresh = malloc(n);
      if (fresh == NULL) return NULL;
      memcpy(fresh, ptr, block->size - HEADER_SIZE);
      free(ptr);
      return fresh;
    }
  }
  trim(block, need);
  return ptr;
}

#endif /* RVBOX_LIBC */
