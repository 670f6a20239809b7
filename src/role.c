/* role.c - the start and end every role shares (see role.h). */
#include "role.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The bounds of ROLE_COMMON_OPTS, checked by role_options before any
 * port is bound and given to the server by role_serve. */
static struct server_limits role_limits = SERVER_LIMITS_DEFAULT;

/* "4096", "64k", "1M" -> bytes in [min, max]; -1 when malformed. */
static long long parse_size(const char *s, long long min, long long max)
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

static int limit_opt(struct opt *opts, const char *name, long long min, long long max,
                     long long *out)
{
  const char *v = opt_str(opts, name);
  long long n;

  if (!v)
    return 0;
  n = parse_size(v, min, max);
  if (n < 0) {
    fprintf(stderr, "--%s: '%s' is not a number from %lld to %lld\n", name, v, min, max);
    return -1;
  }
  *out = n;
  return 0;
}

static int limits_from_opts(struct opt *opts, struct server_limits *l)
{
  long long body = 0, uploads = l->max_uploads, obs = l->max_observers,
            obs_res = l->max_observers_resource, timeout, refresh;

  if (limit_opt(opts, "max-body", 16, 64LL * 1024 * 1024, &body) < 0 ||
      limit_opt(opts, "max-uploads", 0, 64, &uploads) < 0 ||
      limit_opt(opts, "max-observers", 0, 100000, &obs) < 0 ||
      limit_opt(opts, "max-observers-resource", 0, 100000, &obs_res) < 0 ||
      opt_duration(opts, "upload-timeout", &timeout) < 0 ||
      opt_duration(opts, "observe-refresh", &refresh) < 0)
    return -1;
  if (timeout < 100 || refresh < 100) {
    fprintf(stderr, "--upload-timeout and --observe-refresh must be at least 100ms\n");
    return -1;
  }
  l->max_body = (size_t)body;
  l->max_uploads = (int)uploads;
  l->max_observers = (int)obs;
  l->max_observers_resource = (int)obs_res;
  l->upload_timeout_ms = (uint64_t)timeout;
  l->observe_refresh_ms = (uint64_t)refresh;
  return 0;
}

int role_options(const char *role, struct opt *opts, int argc, char **argv,
                 const char *usage)
{
  int npos = opt_parse(opts, argc, argv, usage);
  int level;

  if (npos == -2 || npos < 0 || npos > 0) {
    if (npos > 0)
      fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", role, argv[1]);
    opt_free(opts);
    return npos == -2 ? 0 : 2;
  }
  level = log_level_parse(opt_str(opts, "log-level"));
  if (level < 0) {
    fprintf(stderr, "%s: --log-level must be error, warn, info or debug\n", role);
    opt_free(opts);
    return 2;
  }
  if (opt_find(opts, "max-uploads") && limits_from_opts(opts, &role_limits) < 0) {
    opt_free(opts);
    return 2;
  }
  log_init(role, level);
  return -1;
}

int role_serve(const char *role, struct opt *opts, struct nano_server **out)
{
  *out = server_new(role, opt_str(opts, "listen"));
  if (!*out || server_set_limits(*out, &role_limits) < 0) {
    server_free(*out);
    opt_free(opts);
    return 1;
  }
  client_init(server_ctx(*out));
  loop_init(server_ctx(*out));
  log_info("version=%s pid=%d started", NANO_VERSION, (int)getpid());
  return -1;
}

int role_start(const char *role, struct opt *opts, int argc, char **argv,
               const char *usage, struct nano_server **out)
{
  int rc = role_options(role, opts, argc, argv, usage);

  *out = NULL;
  if (rc >= 0)
    return rc;
  return role_serve(role, opts, out);
}

void role_finish(struct nano_server *s, struct opt *opts)
{
  server_free(s);
  coap_cleanup();
  opt_free(opts);
}
