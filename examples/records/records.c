/*
 * records: the C library's qsort, bsearch, strtol and strtoul on a small
 * table. Lines of `id,name,population,area` are parsed with strtol (ids in
 * any base: 0x1f, 017, 42), validated (errors reported with their line),
 * sorted three ways with qsort, looked up by id and by name with bsearch,
 * and printed as a table.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  long id;
  char name[16];
  unsigned long population;
  long area; /* km^2 */
} record_t;

static const char table[] = "0x1f,Lyon,522250,48\n"
                            "7,Nice,348085,72\n"
                            "017,Lille,236710,35\n"
                            "42,Paris,2102650,105\n"
                            "0b11,Oops,1,1\n"
                            "99,Toulouse,504078,118\n"
                            "5,Nantes,323204,65\n"
                            "100,Giant,99999999999999999999,1\n"
                            "3,Brest,139342,49\n"
                            "8,Marseille,873076,240\n";

/* Parses one line; returns 0, or a message saying what is wrong. */
static const char *parse_line(const char *line, record_t *r) {
  char *end;
  errno = 0;
  r->id = strtol(line, &end, 0);
  if (end == line || *end != ',') return "bad id";
  const char *name = end + 1;
  size_t length = strcspn(name, ",");
  if (length == 0 || length >= sizeof r->name || name[length] != ',') return "bad name";
  memcpy(r->name, name, length);
  r->name[length] = 0;
  const char *number = name + length + 1;
  errno = 0;
  r->population = strtoul(number, &end, 10);
  if (errno == ERANGE) return "population out of range";
  if (end == number || *end != ',') return "bad population";
  number = end + 1;
  r->area = strtol(number, &end, 10);
  if (end == number || (*end != '\n' && *end != 0) || r->area <= 0) return "bad area";
  return NULL;
}

static int by_id(const void *a, const void *b) {
  long x = ((const record_t *)a)->id, y = ((const record_t *)b)->id;
  return (x > y) - (x < y);
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const record_t *)a)->name, ((const record_t *)b)->name);
}

/* Density, highest first; ties by name. */
static int by_density(const void *a, const void *b) {
  const record_t *x = a, *y = b;
  unsigned long long dx = (unsigned long long)x->population * (unsigned long long)y->area;
  unsigned long long dy = (unsigned long long)y->population * (unsigned long long)x->area;
  if (dx != dy) return dx > dy ? -1 : 1;
  return strcmp(x->name, y->name);
}

static void print_table(const char *title, const record_t *records, size_t count) {
  printf("%s:\n", title);
  for (size_t i = 0; i < count; i++) {
    const record_t *r = &records[i];
    printf("  %3ld %-10s %8lu %4ld km2 %6lu/km2\n", r->id, r->name, r->population, r->area,
           r->population / (unsigned long)r->area);
  }
}

int main(void) {
  record_t records[16];
  size_t count = 0, line_number = 0;
  for (const char *line = table; *line != 0; line = strchr(line, '\n') + 1) {
    line_number++;
    const char *problem = parse_line(line, &records[count]);
    if (problem != NULL) printf("line %zu: %s\n", line_number, problem);
    else count++;
  }

  qsort(records, count, sizeof *records, by_density);
  print_table("by density", records, count);
  qsort(records, count, sizeof *records, by_name);
  print_table("by name", records, count);

  const char *names[] = {"Nice", "Brest", "Rennes"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    record_t key;
    strcpy(key.name, names[i]);
    const record_t *found = bsearch(&key, records, count, sizeof *records, by_name);
    if (found) printf("bsearch %s: id %ld\n", names[i], found->id);
    else printf("bsearch %s: not found\n", names[i]);
  }

  qsort(records, count, sizeof *records, by_id);
  int failures = 0;
  for (long id = 0; id <= 45; id++) {
    record_t key = {.id = id};
    const record_t *found = bsearch(&key, records, count, sizeof *records, by_id);
    if (found) printf("id %ld: %s\n", id, found->name);
    failures += (found != NULL) != (id == 3 || id == 5 || id == 7 || id == 8 || id == 15 || id == 31
                                    || id == 42);
  }
  long total = 0;
  for (size_t i = 0; i < count; i++) total += (long)records[i].population;
  printf("%zu records, %ld people; strtol(\"-0x7fffffff\", 16) = %ld, LONG_MAX = %ld\n", count,
         total, strtol("-0x7fffffff", NULL, 16), LONG_MAX);
  return failures;
}
