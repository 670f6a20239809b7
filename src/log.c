/* log.c - one line per event on stderr:
 *   2026-11-27T13:00:00.123Z info ae msg key=value ...
 * Roles are daemons under Docker, whose log driver timestamps and collects
 * stderr; one line per event keeps `docker service logs` greppable.
 */
#include "nano.h"

#include <stdio.h>
#include <string.h>

static const char *log_role = "nano";
static int log_max = NLOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *role, int level)
{
  if (role)
    log_role = role;
  if (level >= NLOG_ERROR && level <= NLOG_DEBUG)
    log_max = level;
}

int log_level(void)
{
  return log_max;
}

int log_level_parse(const char *name)
{
  for (int i = 0; name && i < 4; i++)
    if (!strcmp(name, level_names[i]))
      return i;
  return -1;
}

void log_msg(int level, const char *fmt, ...)
{
  char line[1024], ts[40];
  va_list ap;
  int n;

  if (level > log_max)
    return;
  n = snprintf(line, sizeof line, "%s %s %s ", rfc3339(wall_ms(), ts, sizeof ts),
               level_names[level], log_role);
  va_start(ap, fmt);
  if (n > 0 && n < (int)sizeof line)
    vsnprintf(line + n, sizeof line - n, fmt, ap);
  va_end(ap);
  /* One write per line, so lines of processes sharing stderr never mix;
   * newlines inside a message would break the one-line rule. */
  for (char *p = line; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ' ';
  fprintf(stderr, "%s\n", line);
}

void log_bound(struct bound_log *b, const char *fmt, ...)
{
  char msg[300];
  uint64_t now = now_ms();
  va_list ap;

  if (now < b->next_ms) {
    b->skipped++;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (b->skipped)
    log_warn("%s (and %lu more times in the last minute)", msg, b->skipped);
  else
    log_warn("%s", msg);
  b->next_ms = now + 60000;
  b->skipped = 0;
}
