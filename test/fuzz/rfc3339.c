/* rfc3339.c - fuzz target: rfc3339_parse (src/opt.c), which reads the
 * start and end of every meeting (ae's POST /meetings, mrs's copy).
 *
 * The input is the string (cut at its first NUL).  Invariants: a time
 * that parses is at or after 1970 minus a day of offset, and formatting
 * it with rfc3339() and parsing that again gives the same instant.
 *
 * NANO_FUZZ_STRICT turns on two checks whose failures are findings about
 * src/opt.c (test/fuzz/README), off by default so that fuzzing goes on
 * past them: "shape", what was accepted has the RFC's shape (sscanf's %d
 * lets a sign or blanks in: "2026-+1-01T00:00:00Z"); "y10k", the round
 * trip holds at the end of year 9999 too (a negative offset or a leap
 * second there is year 10000, which rfc3339() prints with 5 digits and
 * rfc3339_parse refuses).  NANO_FUZZ_STRICT=shape,y10k for both.
 */
#include "check.h"
#include "nano.h"

#include <ctype.h>
#include <string.h>

/* 10000-01-01T00:00:00Z */
#define YEAR_10000_MS 253402300800000LL

static int strict_shape, strict_y10k;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  const char *s = getenv("NANO_FUZZ_STRICT");

  strict_shape = s && strstr(s, "shape");
  strict_y10k = s && strstr(s, "y10k");
  return 0;
}

/* YYYY-MM-DDTHH:MM:SS[.F+](Z|+HH:MM|-HH:MM), T and Z in either case */
static int shaped(const char *s)
{
  static const char pat[] = "dddd-dd-ddTdd:dd:dd";
  size_t i = 0;

  for (; pat[i]; i++)
    if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) :
        pat[i] == 'T' ? (s[i] != 'T' && s[i] != 't') : s[i] != pat[i])
      return 0;
  s += i;
  if (*s == '.') {
    if (!isdigit((unsigned char)*++s))
      return 0;
    while (isdigit((unsigned char)*s))
      s++;
  }
  if (*s == 'Z' || *s == 'z')
    return s[1] == '\0';
  if (*s != '+' && *s != '-')
    return 0;
  return isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2]) && s[3] == ':' &&
         isdigit((unsigned char)s[4]) && isdigit((unsigned char)s[5]) && s[6] == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1), buf[64];
  int64_t ms, again;

  if (!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  if (rfc3339_parse(s, &ms) == 0) {
    CHECK(ms >= -86400000LL);
    if (strict_shape)
      CHECK(shaped(s));
    if (ms >= 0 && (strict_y10k || ms < YEAR_10000_MS)) {
      rfc3339((uint64_t)ms, buf, sizeof buf);
      CHECK(rfc3339_parse(buf, &again) == 0);
      CHECK(again == ms);
    }
  }
  free(s);
  return 0;
}
