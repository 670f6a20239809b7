/* tap.h - the Test Anything Protocol in a few macros, for prove.
 *
 *   plan(3); ok(x == 1, "x is one"); is_int(a, b, "..."); is_str(...);
 *   skip("this machine has /dev/gpiochip*", "gpio: fails clearly without a chip");
 *   return done_testing();
 */
#ifndef NANO_TAP_H
#define NANO_TAP_H

#include <stdio.h>
#include <stdarg.h>
#include <string.h>

static int tap_n, tap_failed;

#define plan(n) printf("1..%d\n", (n))
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) do { \
    long long g_ = (got), w_ = (want); \
    if (!ok(g_ == w_, __VA_ARGS__)) \
      printf("#   got %lld, want %lld\n", g_, w_); \
  } while (0)
#define is_str(got, want, ...) do { \
    const char *g_ = (got), *w_ = (want); \
    if (!ok(g_ && w_ && !strcmp(g_, w_), __VA_ARGS__)) \
      printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
  } while (0)

static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  if (!pass) {
    tap_failed++;
    printf("#   at %s:%d\n", file, line);
  }
  fflush(stdout);
  return pass;
}

/* A test that cannot run here: "ok N - WHAT # skip WHY" (TAP's directive,
 * which prove counts as skipped, not as passed). */
static inline void skip(const char *why, const char *what)
{
  printf("ok %d - %s # skip %s\n", ++tap_n, what, why);
  fflush(stdout);
}

static inline int done_testing(void)
{
  return tap_failed ? 1 : 0;
}

#endif
