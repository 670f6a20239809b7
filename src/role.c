/* role.c - the start and end every role shares (see role.h). */
#include "role.h"
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The bounds of ROLE_COMMON_OPTS, checked by role_options before any
 * port is bound and given to the server by role_serve. */
static struct server_limits role_limits = SERVER_LIMITS_DEFAULT;

/* Keys and identity (--keys, --identity, --insecure) and the access
 * table, also checked before any port is bound. */
#define DEFAULT_KEYS "/run/secrets/nano-keys"
static const struct access_rule *role_access;
static struct keyring role_keys;
static char role_id[KEY_ID_MAX + 1];

void role_set_access(const struct access_rule *rules)
{
  role_access = rules;
}

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
    if (npos == -2 && opt_find(opts, "keys"))
      access_print(stdout, role_access);
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
  if (opt_find(opts, "keys") && keys_from_opts(role, opts) < 0) {
    opt_free(opts);
    return 2;
  }
  log_init(role, level);
  return -1;
}

int role_serve(const char *role, struct opt *opts, struct nano_server **out)
{
  *out = server_new_keys(role, opt_str(opts, "listen"), &role_keys);
  if (!*out || server_set_limits(*out, &role_limits) < 0) {
    server_free(*out);
    keyring_free(&role_keys);
    opt_free(opts);
    return 1;
  }
  server_set_access(*out, role_access);
  client_init(server_ctx(*out));
  loop_init(server_ctx(*out));
  log_info("version=%s pid=%d started", NANO_VERSION, (int)getpid());
  if (role_keys.n)
    log_info("identity=%s keys=%d dtls", role_id, role_keys.n);
  else
    log_warn("insecure: plain CoAP without identities; anyone on the network may "
             "use every resource of this role");
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
  keyring_free(&role_keys);
  coap_cleanup();
  opt_free(opts);
}
