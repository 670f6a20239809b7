/* role.c - the start and end every role shares (see role.h). */
#include "role.h"

#include <stdio.h>
#include <unistd.h>

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
  log_init(role, level);
  return -1;
}

int role_serve(const char *role, struct opt *opts, struct nano_server **out)
{
  *out = server_new(role, opt_str(opts, "listen"));
  if (!*out) {
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
