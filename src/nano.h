/* nano.h - what every applet and core module of nano shares.
 *
 * The core is a handful of small modules, one concern each:
 *   log.c     one line per event on stderr: time level role message key=value
 *   opt.c     flags with NANO_* environment fallbacks (a flag given wins)
 *   json.c    cJSON helpers that check types and sizes
 *   wire.c    the wire contract: limits and the one validator of ids,
 *             names, rooms and locations
 *   uri.c     coap:// URIs to addresses, paths and queries
 *   loop.c    the one event loop of a role: libcoap I/O, other fds, timers,
 *             signals
 *   server.c  a role's CoAP server: endpoints, resources, common resources
 *   client.c  asynchronous CoAP requests with a deadline
 */
#ifndef NANO_H
#define NANO_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>

#ifndef NANO_VERSION
#define NANO_VERSION "0.1.0"
#endif

/* ---- applets (applets.c) ------------------------------------------- */

/* A role serves CoAP and runs until stopped; role_main (role.c) runs its
 * lifecycle from the descriptor.  A tool is a command with its own main. */
enum applet_kind { APPLET_ROLE, APPLET_TOOL };

struct role;

struct applet {
  const char *name;
  enum applet_kind kind;
  const char *help;               /* one line */
  const struct role *role;        /* a role's options, start and stop */
  int (*main)(int argc, char **argv);   /* a tool's entry point */
};

extern const struct applet applets[];
const struct applet *applet_find(const char *name);
const char *applet_name_of(const char *argv0);
/* Run applet a with argv[0] its name: the exit code. */
int applet_run(const struct applet *a, int argc, char **argv);
/* nano stack without the file: a building description (json, len bytes)
 * checked and printed to out as the stack file (what 0), its sim override
 * (1) or each secret's identities (2); 0, or -1 with why in err. */
int stack_print(const char *json, size_t len, int what, FILE *out, char *err, size_t errsize);

/* ---- logging (log.c) ------------------------------------------------ */

enum { NLOG_ERROR, NLOG_WARN, NLOG_INFO, NLOG_DEBUG };

void log_init(const char *role, int level);
int log_level_parse(const char *name);     /* -1 if unknown */
int log_level(void);
void log_msg(int level, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(NLOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(NLOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(NLOG_INFO, __VA_ARGS__)
#define log_debug(...) \
  do { if (log_level() >= NLOG_DEBUG) log_msg(NLOG_DEBUG, __VA_ARGS__); } while (0)

/* A bound that is hit is logged (warn) once a minute, with how often it
 * was hit since: never once per datagram or connection. */
struct bound_log {
  uint64_t next_ms;
  unsigned long skipped;
};
void log_bound(struct bound_log *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* ---- options (opt.c) ------------------------------------------------ */

enum opt_type { OPT_STR, OPT_BOOL, OPT_LIST };

#define OPT_LIST_MAX 16

struct opt {
  const char *name;       /* "listen" for --listen and NANO_LISTEN */
  enum opt_type type;
  const char *def;        /* default value, or NULL */
  const char *help;
  /* filled by opt_parse: */
  const char *value;      /* command line, else environment, else def */
  const char *list[OPT_LIST_MAX];
  int count;              /* list entries, or 1 if a bool flag was set */
  int from;               /* 0 default, 1 environment, 2 command line */
  char *owned;            /* a split copy of the environment list */
};

/* Parse argv[1..] into opts; positional arguments are moved to the front
 * of argv[1..] and their count returned.  Returns -1 (message already
 * printed) on a usage error, -2 when --help was asked for. */
int opt_parse(struct opt *opts, int argc, char **argv, const char *usage);
void opt_usage(const struct opt *opts, const char *usage);
void opt_free(struct opt *opts);     /* what opt_parse allocated */
struct opt *opt_find(struct opt *opts, const char *name);
const char *opt_str(struct opt *opts, const char *name);
int opt_bool(struct opt *opts, const char *name);
/* "250ms", "3s", "5m", "2h", "30d", or plain milliseconds -> ms; -1 when
 * malformed or longer than a year (365d, 8760h). */
long long parse_duration_ms(const char *s);
/* "4096", "64k", "1M" -> bytes in [min, max]; -1 when malformed. */
long long parse_size(const char *s, long long min, long long max);
/* Duration option; exits the parse with -1 (and a message) if malformed. */
int opt_duration(struct opt *opts, const char *name, long long *ms);

/* ---- time ------------------------------------------------------------ */

uint64_t now_ms(void);          /* monotonic */
uint64_t wall_ms(void);         /* since the epoch */
/* RFC 3339 UTC "2026-11-27T13:00:00.123Z" into buf (>= 32 bytes). */
char *rfc3339(uint64_t epoch_ms, char *buf, size_t size);
/* Parse RFC 3339 ("...Z" or "+hh:mm", optional fraction; 'T' and 'Z' in
 * either case) -> epoch ms.  -1 for an instant before 1970-01-01T00:00:00Z
 * or from 10000-01-01T00:00:00Z on, and for a leap second (:60): times
 * here are POSIX times, which have none. */
int rfc3339_parse(const char *s, int64_t *epoch_ms);

#endif
