/* role.c - the one lifecycle of every role (see role.h). */
#include "role.h"
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The bounds of role_common_opts, checked by role_options before any
 * port is bound and given to the server by role_serve. */
static struct server_limits role_limits = SERVER_LIMITS_DEFAULT;

/* Keys and identity (--keys, --identity, --insecure), also checked
 * before any port is bound. */
#define DEFAULT_KEYS "/run/secrets/nano-keys"
static struct keyring role_keys;
static char role_id[KEY_ID_MAX + 1];

/* Every role's options, before its own (--help lists them first). */
const struct opt role_common_opts[] = {
  { "listen", OPT_STR, NULL, "HOST:PORT[,HOST:PORT] to serve CoAP on (default [::]:5683, or 0.0.0.0:5683 without IPv6)" },
  { "log-level", OPT_STR, "info", "error|warn|info|debug" },
  { "keys", OPT_STR, NULL, "keys file, IDENTITY HEXKEY lines: DTLS on 5684 (default /run/secrets/nano-keys when it exists)" },
  { "identity", OPT_STR, NULL, "this role's DTLS identity (default ROLE, pd/bs: ROLE-LOCATION, mrs: mrs-ROOM)" },
  { "insecure", OPT_BOOL, NULL, "plain CoAP without keys or identities (logged as a warning)" },
  { "max-body", OPT_STR, NULL, "largest request body, bytes (k, M: 64k, 1M; default: the role's own), 4.13 past it" },
  { "max-uploads", OPT_STR, "4", "block-wise uploads in progress at once (at most 64), 5.03 past it" },
  { "upload-timeout", OPT_STR, "10s", "an unfinished block-wise upload is dropped after this" },
  { "max-observers", OPT_STR, "64", "Observe registrations of the role, 5.03 past it" },
  { "max-observers-resource", OPT_STR, "32", "Observe registrations of one resource" },
  { "observe-refresh", OPT_STR, "60s", "every observer is notified (confirmable) this often, so the gone are dropped" },
  { "max-held", OPT_STR, "4096", "answers held for block-wise fetching (and 16 MB of them), 5.03 past it" },
  { 0 }
};
#define ROLE_COMMON_COUNT (sizeof role_common_opts / sizeof *role_common_opts - 1)

const char *role_identity(void)
{
  return role_keys.n ? role_id : NULL;
}

const struct psk *role_key(const char *identity)
{
  return keyring_find(&role_keys, identity, strlen(identity));
}

/* The default identity: the role, with its location or room (pd-entrance,
 * bs-R1, mrs-R1), as the stack names its services. */
void role_identity_of(const char *role, const char *where, char *buf, size_t size)
{
  if (where && *where)
    snprintf(buf, size, "%s-%s", role, where);
  else
    snprintf(buf, size, "%s", role);
}

static void default_identity(const char *role, struct opt *opts)
{
  role_identity_of(role, opt_find(opts, "location") ? opt_str(opts, "location") :
                   opt_find(opts, "room") ? opt_str(opts, "room") : NULL,
                   role_id, sizeof role_id);
}

static int keys_from_opts(const char *role, struct opt *opts)
{
  const char *path = opt_str(opts, "keys"), *id = opt_str(opts, "identity");
  int insecure = opt_bool(opts, "insecure");
  char err[300];
  const struct psk *me;

  if (!path && !insecure && access(DEFAULT_KEYS, R_OK) == 0)
    path = DEFAULT_KEYS;
  if (path && insecure) {
    fprintf(stderr, "%s: --insecure and a keys file (%s) together: choose one\n", role, path);
    return -1;
  }
  if (insecure) {
    client_set_psk(NULL, 1);
    return 0;
  }
  if (!path) {
    fprintf(stderr, "%s: no keys: give --keys FILE (or NANO_KEYS, or a secret at %s), "
            "or --insecure for plain CoAP (nano keys new makes keys)\n", role, DEFAULT_KEYS);
    return -1;
  }
  if (keyring_load(path, &role_keys, err, sizeof err) < 0) {
    fprintf(stderr, "%s: %s\n", role, err);
    return -1;
  }
  if (id)
    snprintf(role_id, sizeof role_id, "%s", id);
  else
    default_identity(role, opts);
  me = keyring_find(&role_keys, role_id, strlen(role_id));
  if (!me) {
    fprintf(stderr, "%s: identity '%s' has no line in %s (its own key signs its calls)\n",
            role, role_id, path);
    keyring_free(&role_keys);
    return -1;
  }
  client_set_psk(me, 1);
  return 0;
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
            obs_res = l->max_observers_resource, held = l->max_held, timeout, refresh;

  if (limit_opt(opts, "max-body", 16, 64LL * 1024 * 1024, &body) < 0 ||
      limit_opt(opts, "max-uploads", 0, 64, &uploads) < 0 ||
      limit_opt(opts, "max-observers", 0, 100000, &obs) < 0 ||
      limit_opt(opts, "max-observers-resource", 0, 100000, &obs_res) < 0 ||
      limit_opt(opts, "max-held", 0, 100000, &held) < 0 ||
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
  l->max_held = (int)held;
  l->upload_timeout_ms = (uint64_t)timeout;
  l->observe_refresh_ms = (uint64_t)refresh;
  return 0;
}

/* role_common_opts and then the role's own, as --help lists them: a
 * fresh copy that opt_parse may fill (NULL: out of memory). */
static struct opt *role_opts(const struct opt *own)
{
  size_t n = 0;
  struct opt *opts;

  while (own && own[n].name)
    n++;
  opts = calloc(ROLE_COMMON_COUNT + n + 1, sizeof *opts);
  if (!opts)
    return NULL;
  memcpy(opts, role_common_opts, ROLE_COMMON_COUNT * sizeof *opts);
  if (n)
    memcpy(opts + ROLE_COMMON_COUNT, own, n * sizeof *opts);
  return opts;
}

/* Options, logging, limits and keys.  -1 to go on, else the exit code:
 * 0 after --help, 2 on a usage error. */
static int role_options(const char *role, const struct role *r, struct opt *opts,
                        int argc, char **argv)
{
  int npos = opt_parse(opts, argc, argv, r->usage);
  int level;

  if (npos != 0) {
    if (npos > 0)
      fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", role, argv[1]);
    if (npos == -2)
      access_print(stdout, r->access);
    return npos == -2 ? 0 : 2;
  }
  level = log_level_parse(opt_str(opts, "log-level"));
  if (level < 0) {
    fprintf(stderr, "%s: --log-level must be error, warn, info or debug\n", role);
    return 2;
  }
  if (limits_from_opts(opts, &role_limits) < 0 || keys_from_opts(role, opts) < 0)
    return 2;
  log_init(role, level);
  return -1;
}

/* The server, with client and loop on its context; NULL when it cannot
 * start (the keys are freed then). */
static struct nano_server *role_serve(const char *role, const struct role *r,
                                      struct opt *opts)
{
  struct nano_server *s = server_new_keys(role, opt_str(opts, "listen"), &role_keys);

  if (!s || server_set_limits(s, &role_limits) < 0) {
    server_free(s);
    keyring_free(&role_keys);
    return NULL;
  }
  server_set_access(s, r->access);
  client_init(server_ctx(s));
  loop_init(server_ctx(s));
  log_info("version=%s pid=%d started", NANO_VERSION, (int)getpid());
  if (role_keys.n)
    log_info("identity=%s keys=%d dtls", role_id, role_keys.n);
  else
    log_warn("insecure: plain CoAP without identities; anyone on the network may "
             "use every resource of this role");
  return s;
}

static void role_finish(struct nano_server *s)
{
  server_free(s);
  keyring_free(&role_keys);
  coap_cleanup();
}

/* Bind, start, run until stopped, stop: the exit code. */
static int role_run(const char *name, const struct role *r, struct opt *opts)
{
  struct nano_server *s = role_serve(name, r, opts);
  int rc;

  if (!s)
    return 1;
  rc = r->start(s, opts);
  if (rc == 0) {
    loop_run();
    rc = r->stop(s);
  }
  role_finish(s);
  return rc;
}

int role_main(const char *name, const struct role *r, int argc, char **argv)
{
  struct opt *opts = role_opts(r->opts);
  int rc;

  if (!opts) {
    fprintf(stderr, "%s: out of memory\n", name);
    return 1;
  }
  rc = role_options(name, r, opts, argc, argv);
  if (rc < 0) {
    /* before the port is bound: a usage error starts nothing */
    rc = r->configure(opts);
    if (rc == 0)
      rc = role_run(name, r, opts);
    keyring_free(&role_keys);         /* when configure failed */
    if (r->cleanup)
      r->cleanup();
  }
  opt_free(opts);
  free(opts);
  return rc;
}
