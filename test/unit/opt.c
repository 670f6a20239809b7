/* opt.c - unit tests of options, their NANO_* fallbacks, durations and
 * RFC 3339 times (src/opt.c). */
#include "nano.h"
#include "tap.h"

#include <stdlib.h>

#define OPTS(o) struct opt o[] = { \
    { "listen", OPT_STR, "[::]:5683", "address" }, \
    { "log-level", OPT_STR, "info", "level" }, \
    { "json", OPT_BOOL, NULL, "machine output" }, \
    { "route", OPT_LIST, NULL, "ROOM=L1,L2" }, \
    { 0 } }

static int parse(struct opt *o, char **argv)
{
  int argc = 0;
  while (argv[argc])
    argc++;
  return opt_parse(o, argc, argv, "usage: test");
}

int main(void)
{
  int64_t t;
  char buf[40];

  plan(67);
  unsetenv("NANO_LISTEN");
  unsetenv("NANO_LOG_LEVEL");
  unsetenv("NANO_ROUTE");
  unsetenv("NANO_JSON");

  {
    OPTS(o);
    char *argv[] = { "x", "pos1", NULL };
    is_int(parse(o, argv), 1, "one positional argument");
    is_str(opt_str(o, "listen"), "[::]:5683", "default when nothing is set");
    is_int(opt_find(o, "listen")->from, 0, "source is the default");
    ok(!opt_bool(o, "json"), "unset bool is false");
  }
  {
    OPTS(o);
    char *argv[] = { "x", NULL };
    setenv("NANO_LISTEN", "127.0.0.1:6000", 1);
    setenv("NANO_LOG_LEVEL", "debug", 1);
    parse(o, argv);
    is_str(opt_str(o, "listen"), "127.0.0.1:6000", "environment beats the default");
    is_str(opt_str(o, "log-level"), "debug", "dashes become underscores in NANO_*");
  }
  {
    OPTS(o);
    char *argv[] = { "x", "--listen", "127.0.0.2:7000", "a", "--log-level=warn", "b", NULL };
    is_int(parse(o, argv), 2, "positionals around flags");
    is_str(argv[1], "a", "first positional moved to front");
    is_str(argv[2], "b", "second positional moved to front");
    is_str(opt_str(o, "listen"), "127.0.0.2:7000", "the flag beats the environment");
    is_str(opt_str(o, "log-level"), "warn", "--name=value form");
    is_int(opt_find(o, "listen")->from, 2, "source is the command line");
  }
  {
    OPTS(o);
    char *argv[] = { "x", "--json", "--route", "R1=1,2", "--route", "R2=3", NULL };
    setenv("NANO_ROUTE", "R9=9;R8=8", 1);
    parse(o, argv);
    ok(opt_bool(o, "json"), "bool flag without a value");
    is_int(opt_find(o, "route")->count, 2, "repeated list flag, env list replaced");
    is_str(opt_find(o, "route")->list[1], "R2=3", "list keeps order");
  }
  {
    OPTS(o);
    char *argv[] = { "x", NULL };
    parse(o, argv);
    is_int(opt_find(o, "route")->count, 2, "list from the environment split on ;");
    is_str(opt_find(o, "route")->list[0], "R9=9", "first list item from env");
    unsetenv("NANO_ROUTE");
    opt_free(o);
  }
  {
    OPTS(o);
    char *argv[] = { "x", "--nope", NULL };
    is_int(parse(o, argv), -1, "unknown option is a usage error");
  }
  {
    OPTS(o);
    char *argv[] = { "x", "--listen", NULL };
    is_int(parse(o, argv), -1, "missing value is a usage error");
  }
  {
    OPTS(o);
    char *argv[] = { "x", "--", "--listen", NULL };
    is_int(parse(o, argv), 1, "-- ends the options");
  }

  is_int(parse_duration_ms("250ms"), 250, "250ms");
  is_int(parse_duration_ms("3s"), 3000, "3s");
  is_int(parse_duration_ms("5m"), 300000, "5m");
  is_int(parse_duration_ms("42"), 42, "bare number is ms");
  is_int(parse_duration_ms("3x"), -1, "bad suffix");
  is_int(parse_duration_ms("-1s"), -1, "negative");
  is_int(parse_duration_ms(""), -1, "empty");
  /* README: a duration is at most a year, counted after its unit */
  is_int(parse_duration_ms("365d"), 365LL * 86400000, "365d is the longest duration");
  is_int(parse_duration_ms("8760h"), 365LL * 86400000, "8760h is a year");
  is_int(parse_duration_ms("8761h"), -1, "8761h is over a year: refused");
  is_int(parse_duration_ms("366d"), -1, "366d refused");
  is_int(parse_duration_ms("525601m"), -1, "525601m refused");
  is_int(parse_duration_ms("31536001s"), -1, "31536001s refused");
  is_int(parse_duration_ms("31536000001"), -1, "a year and 1 ms refused");
  is_int(parse_duration_ms("9223372036854775807d"), -1, "no overflow past the unit");

  ok(rfc3339_parse("2026-11-27T13:00:00Z", &t) == 0 && t == 1795784400000LL,
     "RFC 3339 UTC parses to epoch ms");
  ok(rfc3339_parse("2026-11-27T14:00:00.250+01:00", &t) == 0 && t == 1795784400250LL,
     "offset and fraction");
  ok(rfc3339_parse("2026-02-30T00:00:00Z", &t) < 0, "Feb 30 refused");
  ok(rfc3339_parse("2026-02-29T00:00:00Z", &t) < 0, "Feb 29 of a common year refused");
  ok(rfc3339_parse("2028-02-29T00:00:00Z", &t) == 0, "Feb 29 of a leap year");
  ok(rfc3339_parse("2026-11-27 13:00:00Z", &t) < 0, "space instead of T refused");
  ok(rfc3339_parse("2026-11-27T13:00:00", &t) < 0, "missing zone refused");
  /* what make fuzz found: sscanf's %d took a sign or a space in a field,
   * and a leap second or an offset carried 9999-12-31 into year 10000 */
  ok(rfc3339_parse("9900-12-+1T23:59:59z", &t) < 0, "a sign inside a field refused");
  ok(rfc3339_parse("2026-11-27T13:00:00+-1:-5", &t) < 0, "signs inside the offset refused");
  ok(rfc3339_parse("2026-11- 7T13:00:00Z", &t) < 0, "a space inside a field refused");
  ok(rfc3339_parse("9999-12-31T23:59:60.9Z", &t) < 0, "a leap second into year 10000 refused");
  ok(rfc3339_parse("9999-12-31T23:30:00-01:00", &t) < 0, "an offset into year 10000 refused");
  ok(rfc3339_parse("9999-12-31T23:59:59.999Z", &t) == 0 && t == 253402300799999LL,
     "the last millisecond of 9999");
  ok(rfc3339_parse("2026-11-27t13:00:00Z", &t) == 0, "a lower-case t (RFC 3339 5.6)");
  ok(rfc3339_parse("2026-11-27t13:00:00z", &t) == 0 && t == 1795784400000LL,
     "lower-case t and z");
  /* README: from 1970 to 9999 in UTC, whatever the offset */
  ok(rfc3339_parse("1970-01-01T00:00:00Z", &t) == 0 && t == 0, "the epoch");
  ok(rfc3339_parse("1970-01-01T00:00:00+01:00", &t) < 0,
     "1970-01-01T00:00:00+01:00 is 1969 in UTC: refused");
  ok(rfc3339_parse("1970-01-01T00:59:59.999+01:00", &t) < 0, "the last ms of 1969, by offset");
  ok(rfc3339_parse("1970-01-01T01:00:00+01:00", &t) == 0 && t == 0, "the epoch, by offset");
  ok(rfc3339_parse("1969-12-31T23:30:00-01:00", &t) < 0, "a year before 1970 refused");
  ok(rfc3339_parse("9999-12-31T23:00:00-05:00", &t) < 0,
     "9999-12-31T23:00:00-05:00 is year 10000 in UTC: refused");
  ok(rfc3339_parse("9999-12-31T23:59:59+01:00", &t) == 0 && t == 253402297199000LL,
     "a time in 9999 by a positive offset");
  ok(rfc3339_parse("2026-03-01T00:30:00+01:00", &t) == 0 && t == 1772321400000LL,
     "an offset that crosses a month (and Feb 28)");
  ok(rfc3339_parse("2026-11-27T08:00:00-05:00", &t) == 0 && t == 1795784400000LL,
     "a negative offset");
  ok(rfc3339_parse("2026-11-27T13:00:00-00:00", &t) == 0 && t == 1795784400000LL,
     "-00:00 (offset unknown) is UTC");
  ok(rfc3339_parse("2026-11-27T13:00:00+24:00", &t) < 0, "offset hour 24 refused");
  ok(rfc3339_parse("2026-+3-01T00:00:00Z", &t) < 0, "2026-+3-01 refused");
  /* README: no leap seconds */
  ok(rfc3339_parse("2026-11-27T13:05:60Z", &t) < 0, ":60 at 13:05 refused");
  ok(rfc3339_parse("2016-12-31T23:59:60Z", &t) < 0, "a leap second (23:59:60 UTC) refused");
  ok(rfc3339_parse("2026-11-27T13:05:59.999Z", &t) == 0, ":59.999 is fine");
  is_str(rfc3339(1795784400000ULL, buf, sizeof buf), "2026-11-27T13:00:00Z",
         "formats whole seconds");
  is_str(rfc3339(1795784400250ULL, buf, sizeof buf), "2026-11-27T13:00:00.250Z",
         "formats milliseconds");
  return done_testing();
}
