/*
 * Linked lists: 32 Ki nodes linked in a shuffled order (each step lands
 * somewhere else in memory), then per round a traversal that hashes the
 * order, an in-place reversal, a merge sort by value, and a walk checking
 * the sorted order and the sum.
 */
#include "bench.h"

#define COUNT (1 << 15)

typedef struct node {
  struct node *next;
  uint32_t value;
} node_t;

static node_t nodes[COUNT];
static uint32_t order[COUNT];

/* An order-dependent hash of the values along the list. */
static uint32_t hash_list(const node_t *n) {
  uint32_t h = 2166136261u;
  for (; n != NULL; n = n->next) h = (h ^ n->value) * 16777619u;
  return h;
}

static node_t *reverse(node_t *n) {
  node_t *previous = NULL;
  while (n != NULL) {
    node_t *next = n->next;
    n->next = previous;
    previous = n;
    n = next;
  }
  return previous;
}

/* Bottom-up merge sort: no recursion, only pointer chasing. */
static node_t *merge(node_t *a, node_t *b) {
  node_t head = {NULL, 0}, *tail = &head;
  while (a != NULL && b != NULL) {
    if (b->value < a->value) {
      tail->next = b;
      b = b->next;
    } else {
      tail->next = a;
      a = a->next;
    }
    tail = tail->next;
  }
  tail->next = a != NULL ? a : b;
  return head.next;
}

static node_t *sort(node_t *list) {
  node_t *runs[32] = {NULL}; /* runs[i]: a sorted run of 2^i nodes, or NULL */
  while (list != NULL) {
    node_t *run = list;
    list = list->next;
    run->next = NULL;
    int32_t i = 0;
    for (; runs[i] != NULL; i++) {
      run = merge(runs[i], run);
      runs[i] = NULL;
    }
    runs[i] = run;
  }
  node_t *result = NULL;
  for (int32_t i = 0; i < 32; i++) {
    if (runs[i] != NULL) result = merge(runs[i], result);
  }
  return result;
}

/* Links the nodes in `order`; returns the head. */
static node_t *link(void) {
  for (int32_t i = 0; i + 1 < COUNT; i++) nodes[order[i]].next = &nodes[order[i + 1]];
  nodes[order[COUNT - 1]].next = NULL;
  return &nodes[order[0]];
}

BENCH_EXPORT(run) int32_t run(int32_t scale) {
  uint32_t seed = 0x1234567;
  uint32_t sum = 0;
  for (int32_t i = 0; i < COUNT; i++) {
    order[i] = (uint32_t)i;
    nodes[i].value = bench_next(&seed) % 1000000;
    sum += nodes[i].value;
  }
  for (int32_t i = COUNT - 1; i > 0; i--) { /* Fisher-Yates */
    uint32_t j = bench_next(&seed) % (uint32_t)(i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  /* The hashes the list must give forwards and backwards, from the array. */
  uint32_t forwards = 2166136261u, backwards = 2166136261u;
  for (int32_t i = 0; i < COUNT; i++) {
    forwards = (forwards ^ nodes[order[i]].value) * 16777619u;
    backwards = (backwards ^ nodes[order[COUNT - 1 - i]].value) * 16777619u;
  }
  int32_t bad = 0;
  for (int32_t round = 0; round < scale; round++) {
    node_t *list = link();
    bad |= hash_list(list) != forwards;
    list = reverse(list);
    bad |= hash_list(list) != backwards;
    list = sort(list);
    uint32_t total = 0, count = 0, last = 0;
    for (node_t *n = list; n != NULL; n = n->next, count++) {
      bad |= n->value < last;
      last = n->value;
      total += n->value;
    }
    bad |= total != sum || count != COUNT;
  }
  return bad;
}
