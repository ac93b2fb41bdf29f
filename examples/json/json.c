/*
 * json: a JSON parser written for rvbox, on the C library: a tree of values
 * in malloc'd memory, numbers through strtod, strings with their escapes
 * decoded to UTF-8, printed back in canonical compact form, and path queries
 * (`store.books[1].price`).
 *
 * `main` parses a built-in document, queries it and reports errors in
 * malformed documents. A host can also hand it text: `json_buffer(n)` returns
 * a buffer for n bytes, `json_format(n)` parses the n bytes written there,
 * prints the canonical form and returns the number of values, or -1 - the
 * offset of the first error.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rvbox.h"

typedef enum { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT } kind_t;

typedef struct value {
  kind_t kind;
  double number;          /* J_NUMBER */
  char *text;             /* J_STRING: the bytes (NUL-terminated, may hold NUL) */
  size_t length;          /* J_STRING: how many */
  char *key;              /* a member of an object: its key, else NULL */
  size_t key_length;
  struct value *children; /* J_ARRAY, J_OBJECT: the first element or member */
  struct value *next;     /* the next sibling */
} value_t;

typedef struct {
  const char *text;
  size_t length, at;
  const char *error; /* NULL until the first error */
  size_t values;     /* values parsed */
} parser_t;

static value_t *parse_value(parser_t *p, int depth);

/* Nesting limit: deeper documents are an error, not a stack overflow. */
#define MAX_DEPTH 64

static bool fail(parser_t *p, const char *message) {
  if (p->error == NULL) p->error = message;
  return false;
}

static void skip_space(parser_t *p) {
  for (; p->at < p->length; p->at++) {
    char c = p->text[p->at];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
  }
}

static bool expect(parser_t *p, char c) {
  skip_space(p);
  if (p->at < p->length && p->text[p->at] == c) {
    p->at++;
    return true;
  }
  return false;
}

static value_t *new_value(parser_t *p, kind_t kind) {
  value_t *v = calloc(1, sizeof *v);
  if (v == NULL) fail(p, "out of memory");
  else v->kind = kind;
  p->values++;
  return v;
}

static void free_value(value_t *v) {
  while (v != NULL) {
    value_t *next = v->next;
    free_value(v->children);
    free(v->text);
    free(v->key);
    free(v);
    v = next;
  }
}

/* Appends code point `c` to `out` as UTF-8; returns the bytes written. */
static size_t put_utf8(char *out, unsigned c) {
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xc0 | c >> 6);
    out[1] = (char)(0x80 | (c & 0x3f));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xe0 | c >> 12);
    out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[2] = (char)(0x80 | (c & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | c >> 18);
  out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
  out[3] = (char)(0x80 | (c & 0x3f));
  return 4;
}

/* Four hex digits after \u, or -1. */
static long hex4(parser_t *p) {
  if (p->length - p->at < 4) return -1;
  char digits[5] = {0};
  memcpy(digits, p->text + p->at, 4);
  char *end;
  long c = strtol(digits, &end, 16);
  if (end != digits + 4 || !isxdigit((unsigned char)digits[0])) return -1;
  p->at += 4;
  return c;
}

/* A string after its opening quote; decoded bytes in *out (malloc'd). */
static bool parse_string(parser_t *p, char **out, size_t *length) {
  /* Decoded text is never longer than the source. */
  char *s = malloc(p->length - p->at + 1);
  size_t n = 0;
  if (s == NULL) return fail(p, "out of memory");
  for (;;) {
    if (p->at >= p->length) break;
    unsigned char c = (unsigned char)p->text[p->at++];
    if (c == '"') {
      s[n] = 0;
      *out = s;
      *length = n;
      return true;
    }
    if (c < 0x20) break;
    if (c != '\\') {
      s[n++] = (char)c;
      continue;
    }
    if (p->at >= p->length) break;
    char e = p->text[p->at++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *known = strchr(from, e);
    if (known != NULL && e != 0) {
      s[n++] = to[known - from];
    } else if (e == 'u') {
      long c1 = hex4(p);
      if (c1 >= 0xd800 && c1 < 0xdc00 && p->at + 1 < p->length && p->text[p->at] == '\\'
          && p->text[p->at + 1] == 'u') {
        p->at += 2;
        long c2 = hex4(p);
        if (c2 < 0xdc00 || c2 > 0xdfff) break;
        c1 = 0x10000 + ((c1 - 0xd800) << 10) + (c2 - 0xdc00);
      } else if (c1 < 0 || (c1 >= 0xd800 && c1 < 0xe000)) {
        break;
      }
      n += put_utf8(s + n, (unsigned)c1);
    } else {
      break;
    }
  }
  free(s);
  return fail(p, "bad string");
}

/* The index after the decimal digits from `i`. */
static size_t skip_digits(const parser_t *p, size_t i) {
  while (i < p->length && isdigit((unsigned char)p->text[i])) i++;
  return i;
}

static bool parse_number(parser_t *p, value_t *v) {
  /* JSON's number grammar is stricter than strtod's: check it, then convert. */
  const char *t = p->text;
  size_t start = p->at, i = start;
  if (i < p->length && t[i] == '-') i++;
  if (i < p->length && t[i] == '0') i++;
  else if (i < p->length && t[i] >= '1' && t[i] <= '9') i = skip_digits(p, i);
  else return fail(p, "bad number");
  if (i < p->length && t[i] == '.') {
    size_t digits = i + 1;
    i = skip_digits(p, digits);
    if (i == digits) return fail(p, "bad number");
  }
  if (i < p->length && (t[i] == 'e' || t[i] == 'E')) {
    i++;
    if (i < p->length && (t[i] == '+' || t[i] == '-')) i++;
    size_t digits = i;
    i = skip_digits(p, digits);
    if (i == digits) return fail(p, "bad number");
  }
  char buffer[64];
  if (i - start >= sizeof buffer) return fail(p, "number too long");
  memcpy(buffer, t + start, i - start);
  buffer[i - start] = 0;
  v->number = strtod(buffer, NULL);
  p->at = i;
  return true;
}

/* Elements of an array or members of an object, after the opening bracket. */
static bool parse_items(parser_t *p, value_t *v, char close, int depth) {
  value_t **link = &v->children;
  if (expect(p, close)) return true;
  do {
    char *key = NULL;
    size_t key_length = 0;
    if (v->kind == J_OBJECT) {
      if (!expect(p, '"')) return fail(p, "expected a key");
      if (!parse_string(p, &key, &key_length)) return false;
      if (!expect(p, ':')) {
        free(key);
        return fail(p, "expected ':'");
      }
    }
    value_t *item = parse_value(p, depth + 1);
    if (item == NULL) {
      free(key);
      return false;
    }
    item->key = key;
    item->key_length = key_length;
    *link = item;
    link = &item->next;
  } while (expect(p, ','));
  return expect(p, close) || fail(p, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
}

static bool literal(parser_t *p, const char *word) {
  size_t n = strlen(word);
  if (p->length - p->at < n || memcmp(p->text + p->at, word, n) != 0) return false;
  p->at += n;
  return true;
}

static value_t *parse_value(parser_t *p, int depth) {
  if (depth > MAX_DEPTH) {
    fail(p, "nested too deeply");
    return NULL;
  }
  skip_space(p);
  if (p->at >= p->length) {
    fail(p, "unexpected end");
    return NULL;
  }
  char c = p->text[p->at];
  value_t *v = NULL;
  bool ok;
  if (literal(p, "null")) ok = (v = new_value(p, J_NULL)) != NULL;
  else if (literal(p, "true")) ok = (v = new_value(p, J_TRUE)) != NULL;
  else if (literal(p, "false")) ok = (v = new_value(p, J_FALSE)) != NULL;
  else if (c == '"') {
    p->at++;
    ok = (v = new_value(p, J_STRING)) != NULL && parse_string(p, &v->text, &v->length);
  } else if (c == '[' || c == '{') {
    p->at++;
    ok = (v = new_value(p, c == '[' ? J_ARRAY : J_OBJECT)) != NULL
      && parse_items(p, v, c == '[' ? ']' : '}', depth);
  } else if (c == '-' || isdigit((unsigned char)c)) {
    ok = (v = new_value(p, J_NUMBER)) != NULL && parse_number(p, v);
  } else {
    ok = fail(p, "unexpected character");
  }
  if (!ok) {
    free_value(v);
    return NULL;
  }
  return v;
}

/* Parses a whole document; on an error returns NULL with p->error and p->at set. */
static value_t *parse_document(parser_t *p, const char *text, size_t length) {
  *p = (parser_t){.text = text, .length = length};
  value_t *v = parse_value(p, 0);
  skip_space(p);
  if (v != NULL && p->at != p->length) {
    fail(p, "trailing characters");
    free_value(v);
    v = NULL;
  }
  return v;
}

/* ------------------------------------------------------------------------ */
/* Printing                                                                  */
/* ------------------------------------------------------------------------ */

static void print_string(const char *s, size_t length) {
  putchar('"');
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c == '\n') fputs("\\n", stdout);
    else if (c == '\t') fputs("\\t", stdout);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

/* The shortest of %.15g and %.17g that reads back as the same double. */
static void print_number(double x) {
  char text[32];
  snprintf(text, sizeof text, "%.15g", x);
  if (strtod(text, NULL) != x) snprintf(text, sizeof text, "%.17g", x);
  fputs(text, stdout);
}

static void print_value(const value_t *v) {
  static const char *const words[] = {"null", "false", "true"};
  switch (v->kind) {
  case J_NULL:
  case J_FALSE:
  case J_TRUE:
    fputs(words[v->kind], stdout);
    break;
  case J_NUMBER:
    print_number(v->number);
    break;
  case J_STRING:
    print_string(v->text, v->length);
    break;
  case J_ARRAY:
  case J_OBJECT:
    putchar(v->kind == J_ARRAY ? '[' : '{');
    for (const value_t *item = v->children; item != NULL; item = item->next) {
      if (item != v->children) putchar(',');
      if (item->key != NULL) {
        print_string(item->key, item->key_length);
        putchar(':');
      }
      print_value(item);
    }
    putchar(v->kind == J_ARRAY ? ']' : '}');
    break;
  }
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */
/* ------------------------------------------------------------------------ */

/* The value at `path` (`a.b[2].c`), or NULL. */
static const value_t *query(const value_t *v, const char *path) {
  while (v != NULL && *path != 0) {
    if (*path == '.') path++;
    const value_t *item = v->children;
    if (*path == '[') {
      char *end;
      long index = strtol(path + 1, &end, 10);
      if (v->kind != J_ARRAY || *end != ']' || index < 0) return NULL;
      while (item != NULL && index-- > 0) item = item->next;
      path = end + 1;
    } else {
      size_t n = strcspn(path, ".[");
      if (v->kind != J_OBJECT) return NULL;
      while (item != NULL && (item->key_length != n || memcmp(item->key, path, n) != 0)) {
        item = item->next;
      }
      path += n;
    }
    v = item;
  }
  return v;
}

/* Parses `text`, prints it canonically (or the error); returns values or -1 - error offset. */
static long format(const char *text, size_t length) {
  parser_t p;
  value_t *v = parse_document(&p, text, length);
  if (v == NULL) {
    printf("error at offset %zu: %s\n", p.at, p.error);
    return -1 - (long)p.at;
  }
  print_value(v);
  putchar('\n');
  free_value(v);
  return (long)p.values;
}

static const char document[] =
    "{\n"
    "  \"store\": {\n"
    "    \"name\": \"Caf\\u00e9 \\\"rvbox\\\" \\ud83d\\ude00\",\n"
    "    \"open\": true,\n"
    "    \"books\": [\n"
    "      {\"title\": \"SICP\", \"price\": 45.5, \"year\": 1985},\n"
    "      {\"title\": \"K&R\", \"price\": 30, \"year\": 1978, \"tags\": [\"c\", \"classic\"]},\n"
    "      {\"title\": \"TAOCP\", \"price\": 199.99, \"year\": 1968}\n"
    "    ],\n"
    "    \"ratio\": -1.25e-3,\n"
    "    \"owner\": null\n"
    "  }\n"
    "}\n";

static const char *const malformed[] = {
    "[1, 2,]", "{\"a\" 1}", "\"\\x\"", "01", "[1e]", "{\"a\": tru}", "[\"\\ud800\"]", "[] []",
};

int main(void) {
  parser_t p;
  value_t *root = parse_document(&p, document, sizeof document - 1);
  if (root == NULL) {
    printf("error at offset %zu: %s\n", p.at, p.error);
    return 1;
  }
  printf("%zu values: ", p.values);
  print_value(root);
  putchar('\n');

  static const char *const paths[] = {
      "store.name",     "store.books[1].tags[1]", "store.books[2].price",
      "store.books[0]", "store.ratio",            "store.missing",
  };
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    const value_t *found = query(root, paths[i]);
    printf("%s = ", paths[i]);
    if (found == NULL) fputs("(none)", stdout);
    else print_value(found);
    putchar('\n');
  }
  double total = 0;
  long years = 0;
  for (const value_t *book = query(root, "store.books")->children; book; book = book->next) {
    total += query(book, "price")->number;
    years += (long)query(book, "year")->number;
  }
  printf("total price %.2f, mean year %.1f\n", total, years / 3.0);
  free_value(root);

  int errors = 0;
  for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
    printf("%-14s -> ", malformed[i]);
    errors += format(malformed[i], strlen(malformed[i])) < 0;
  }
  /* Deep nesting is an error, not a stack overflow. */
  char deep[200];
  memset(deep, '[', sizeof deep);
  printf("200 x '['      -> ");
  errors += format(deep, sizeof deep) < 0;
  return errors == 9 ? 0 : 1;
}

/* ------------------------------------------------------------------------ */
/* Exports: JSON from the host                                               */
/* ------------------------------------------------------------------------ */

static char *input;

/* A buffer for `length` bytes of JSON, or 0 when there is no memory for it. */
RVBOX_EXPORT(json_buffer) char *json_buffer(uint32_t length) {
  char *bigger = realloc(input, (size_t)length + 1);
  if (bigger != NULL) input = bigger;
  return bigger;
}

/*
 * Parses the `length` bytes in the buffer and prints them in canonical form;
 * returns the number of values, or -1 - the offset of the first error.
 */
RVBOX_EXPORT(json_format) int32_t json_format(uint32_t length) {
  if (input == NULL) return -1;
  long result = format(input, length);
  fflush(stdout);
  return (int32_t)result;
}
