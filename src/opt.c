/* opt.c - flags with NANO_* environment fallbacks, durations and times.
 *
 * Every flag --some-name also reads NANO_SOME_NAME; a flag given on the
 * command line wins over the environment, which wins over the default.
 * That lets one image be configured by `environment:` in stack.yml and
 * still be overridden by `command:` for a single service.
 */
#include "nano.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct opt *opt_find(struct opt *opts, const char *name)
{
  for (; opts && opts->name; opts++)
    if (!strcmp(opts->name, name))
      return opts;
  return NULL;
}

const char *opt_str(struct opt *opts, const char *name)
{
  struct opt *o = opt_find(opts, name);
  return o ? o->value : NULL;
}

int opt_bool(struct opt *opts, const char *name)
{
  struct opt *o = opt_find(opts, name);
  if (!o || !o->value)
    return 0;
  return !strcmp(o->value, "1") || !strcmp(o->value, "true") ||
         !strcmp(o->value, "yes") || !strcmp(o->value, "on");
}

/* "listen" -> "NANO_LISTEN", "early-min" -> "NANO_EARLY_MIN" */
static void env_name(const char *name, char *buf, size_t size)
{
  size_t i = 0, n = strlen("NANO_");
  memcpy(buf, "NANO_", n);
  for (; name[i] && n + 1 < size; i++)
    buf[n++] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
  buf[n] = '\0';
}

static int list_add(struct opt *o, const char *v)
{
  if (o->count >= OPT_LIST_MAX) {
    fprintf(stderr, "too many --%s (at most %d)\n", o->name, OPT_LIST_MAX);
    return -1;
  }
  o->list[o->count++] = v;
  o->value = o->list[0];
  return 0;
}

/* Fill unset options from NANO_* and their defaults.  A list from the
 * environment is split on ';' (a route like R1=1,2,3 holds commas). */
static int opt_fallbacks(struct opt *opts)
{
  for (struct opt *o = opts; o->name; o++) {
    char env[64];
    const char *v;
    if (o->from == 2)
      continue;
    env_name(o->name, env, sizeof env);
    v = getenv(env);
    if (v && *v) {
      o->from = 1;
      if (o->type != OPT_LIST) {
        o->value = v;
        continue;
      }
      /* Split a private copy: the environment stays as it was. */
      char *copy = strdup(v), *save = NULL;
      if (!copy)
        return -1;
      free(o->owned);
      o->owned = copy;
      for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save))
        if (list_add(o, t) < 0)
          return -1;
      continue;
    }
    if (o->type == OPT_LIST) {
      if (o->def)
        list_add(o, o->def);
    } else {
      o->value = o->def;
    }
  }
  return 0;
}

int opt_parse(struct opt *opts, int argc, char **argv, const char *usage)
{
  int npos = 0;

  for (int i = 1; i < argc; i++) {
    char *arg = argv[i], *eq;
    struct opt *o;
    char name[64];

    if (!strcmp(arg, "--")) {
      while (++i < argc)
        argv[1 + npos++] = argv[i];
      break;
    }
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      opt_usage(opts, usage);
      return -2;
    }
    if (strncmp(arg, "--", 2) || !arg[2]) {
      argv[1 + npos++] = arg;
      continue;
    }
    eq = strchr(arg + 2, '=');
    snprintf(name, sizeof name, "%.*s",
             (int)(eq ? eq - arg - 2 : (long)strlen(arg + 2)), arg + 2);
    o = opt_find(opts, name);
    if (!o) {
      fprintf(stderr, "unknown option --%s (try --help)\n", name);
      return -1;
    }
    if (o->type == OPT_BOOL) {
      o->value = eq ? eq + 1 : "true";
      o->count = 1;
      o->from = 2;
      continue;
    }
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!v) {
      fprintf(stderr, "option --%s needs a value\n", name);
      return -1;
    }
    if (o->type == OPT_LIST) {
      if (o->from != 2)
        o->count = 0;         /* the command line replaces env/default */
      o->from = 2;
      if (list_add(o, v) < 0)
        return -1;
    } else {
      o->value = v;
      o->from = 2;
    }
  }
  if (opt_fallbacks(opts) < 0)
    return -1;
  return npos;
}

void opt_free(struct opt *opts)
{
  for (; opts && opts->name; opts++) {
    free(opts->owned);
    opts->owned = NULL;
  }
}

void opt_usage(const struct opt *opts, const char *usage)
{
  printf("%s\n", usage);
  if (opts && opts->name)
    printf("\noptions (each also read from NANO_<NAME>; a flag wins):\n");
  for (; opts && opts->name; opts++) {
    char flag[64];
    snprintf(flag, sizeof flag, "--%s%s", opts->name,
             opts->type == OPT_BOOL ? "" : " V");
    printf("  %-22s %s", flag, opts->help ? opts->help : "");
    if (opts->def)
      printf(" [%s]", opts->def);
    printf("\n");
  }
}

#define DURATION_MAX_MS (365LL * 24 * 3600 * 1000)

long long parse_duration_ms(const char *s)
{
  char *end;
  long long v, unit;

  if (!s || !isdigit((unsigned char)*s))
    return -1;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno || v < 0)
    return -1;
  if (!*end || !strcmp(end, "ms"))
    unit = 1;
  else if (!strcmp(end, "s"))
    unit = 1000;
  else if (!strcmp(end, "m"))
    unit = 60 * 1000;
  else if (!strcmp(end, "h"))
    unit = 3600 * 1000;
  else if (!strcmp(end, "d"))
    unit = 24 * 3600 * 1000;
  else
    return -1;
  /* The limit is on the duration, after its unit: 8761h is over a year. */
  if (v > DURATION_MAX_MS / unit)
    return -1;
  return v * unit;
}

long long parse_size(const char *s, long long min, long long max)
{
  char *end;
  long long v;

  if (!s || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno || v < 0 || v > (1LL << 40))
    return -1;
  if (*end == 'k' || *end == 'K')
    v *= 1024, end++;
  else if (*end == 'M')
    v *= 1024 * 1024, end++;
  if (*end || v < min || v > max)
    return -1;
  return v;
}

int opt_duration(struct opt *opts, const char *name, long long *ms)
{
  const char *v = opt_str(opts, name);
  long long d = parse_duration_ms(v);
  if (d < 0) {
    fprintf(stderr, "--%s: bad duration '%s' (use e.g. 250ms, 3s, 5m)\n",
            name, v ? v : "");
    return -1;
  }
  *ms = d;
  return 0;
}

/* ---- time ----------------------------------------------------------- */

uint64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t wall_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *rfc3339(uint64_t epoch_ms, char *buf, size_t size)
{
  time_t t = (time_t)(epoch_ms / 1000);
  struct tm tm;
  int ms = (int)(epoch_ms % 1000);

  gmtime_r(&t, &tm);
  if (ms)
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  else
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (timegm() is not in C11 and musl's is fine, but this keeps it exact
 * and free of the TZ environment). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* n decimal digits at s (no sign, no space: sscanf's %d takes both) */
static int digits_at(const char *s, int n, int *out)
{
  int v = 0;

  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* The first instant RFC 3339's four-digit years cannot write. */
#define RFC3339_END_MS 253402300800000LL   /* 10000-01-01T00:00:00Z */

int rfc3339_parse(const char *s, int64_t *epoch_ms)
{
  int y, mo, d, h, mi, sec;
  int64_t ms = 0, t;
  static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  /* YYYY-MM-DDTHH:MM:SS, each field its exact number of digits */
  if (!s || strlen(s) < 19 || digits_at(s, 4, &y) || s[4] != '-' ||
      digits_at(s + 5, 2, &mo) || s[7] != '-' || digits_at(s + 8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't') || digits_at(s + 11, 2, &h) || s[13] != ':' ||
      digits_at(s + 14, 2, &mi) || s[16] != ':' || digits_at(s + 17, 2, &sec))
    return -1;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  /* Seconds 00-59.  RFC 3339 has :60 for a leap second (at 23:59:60 UTC,
   * and only then), but times here are POSIX times, which have no leap
   * seconds: 23:59:60 could only be stored as the next day's 00:00:00,
   * another instant than the one written.  No clock nano runs on shows
   * one, and no meeting starts in one, so it is refused, at any minute. */
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
      (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
    return -1;
  s += 19;
  if (*s == '.') {
    int digits = 0;
    for (s++; isdigit((unsigned char)*s); s++, digits++)
      if (digits < 3)
        ms = ms * 10 + (*s - '0');
    if (!digits)
      return -1;
    for (; digits < 3; digits++)
      ms *= 10;
  }
  int64_t offset_s = 0;
  if (*s == 'Z' || *s == 'z') {
    s++;
  } else if (*s == '+' || *s == '-') {
    int oh, om;
    if (digits_at(s + 1, 2, &oh) || s[3] != ':' || digits_at(s + 4, 2, &om) ||
        oh > 23 || om > 59)
      return -1;
    offset_s = (oh * 3600 + om * 60) * (*s == '+' ? 1 : -1);
    s += 6;
  } else {
    return -1;
  }
  if (*s)
    return -1;
  t = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 +
        mi * 60 + sec - offset_s) * 1000) + ms;
  /* An offset can carry 9999-12-31 into year 10000, which rfc3339()
   * could not write back as a time this parser reads, or 1970-01-01
   * back into 1969. */
  if (t < 0 || t >= RFC3339_END_MS)
    return -1;
  *epoch_ms = t;
  return 0;
}
