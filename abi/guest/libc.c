/*
 * libc.c: what picolibc needs from rvbox (linked with start.c built with
 * -DRVBOX_LIBC; `rvbox cc` does both).
 *
 *   stdout, stderr  one buffered stream to the print service, flushed at a
 *                   newline, when full, by fflush() and at exit
 *   stdin           not defined: reading it is a link error
 *   _exit, abort    the exit service (abort exits with 134, as a shell
 *                   reports SIGABRT)
 *   sbrk            the heap service, for picolibc's malloc
 *
 * Files do not exist: fopen() and friends need open(), read()... which are
 * not defined, so using them fails at link time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rvbox.h"

/* ------------------------------------------------------------------------ */
/* Standard output                                                           */
/* ------------------------------------------------------------------------ */

/*
 * One buffer for both streams, so their output keeps its order. A host call
 * per line rather than per character: printing is dominated by the call.
 */
static char output[256];
static size_t output_length;

static int flush_output(FILE *stream) {
  (void)stream;
  if (output_length != 0) rvbox_print(output, output_length);
  output_length = 0;
  return 0;
}

static int put_output(char c, FILE *stream) {
  output[output_length++] = c;
  if (c == '\n' || output_length == sizeof output) flush_output(stream);
  return (unsigned char)c;
}

static FILE output_stream = FDEV_SETUP_STREAM(put_output, NULL, flush_output, _FDEV_SETUP_WRITE);

FILE *const stdout = &output_stream;
FILE *const stderr = &output_stream;

/* ------------------------------------------------------------------------ */
/* Process end and heap                                                      */
/* ------------------------------------------------------------------------ */

void _exit(int code) {
  flush_output(stdout);
  rvbox_exit(code);
}

/* 128 + SIGABRT, the status a shell gives a program that aborted. */
#define ABORT_STATUS 134

void abort(void) { _exit(ABORT_STATUS); }

void *sbrk(ptrdiff_t increment) { return rvbox_sbrk(increment); }
