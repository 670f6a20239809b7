/* role.h - the one lifecycle of the six roles.
 *
 * A role is a descriptor, and one line in the applet table (applets.c):
 *
 *   static const struct opt pd_opts[] = { { "location", OPT_STR, ... }, { 0 } };
 *   const struct role pd_role = {
 *     pd_usage, pd_opts, pd_access, pd_configure, pd_start, pd_stop, NULL
 *   };
 *   ROLE(pd, "presence detection: ...")          in src/applets.c
 *
 * and role_main() does for every role, in this order:
 *   options   role_common_opts and the role's, with NANO_* fallbacks;
 *             --help prints the usage, the options and the access table
 *   configure the role checks its options: a usage error (2) starts nothing
 *   serve     the server binds (1 when it cannot), client and loop on it
 *   start     routes, hardware, peers (1 when it cannot)
 *   loop_run  until SIGTERM or SIGINT
 *   stop      the role's own ending (ae's backup, bs's deferred scans):
 *             its exit code
 *   finish    the server, the keys, libcoap
 *   cleanup   what the server's deferred answers may still point into
 * Exit codes: 0 (--help, a stop), 2 a usage error, 1 a start that failed.
 */
#ifndef NANO_ROLE_H
#define NANO_ROLE_H

#include "client.h"
#include "loop.h"
#include "nano.h"
#include "server.h"

/* What a role is to role_main.  A role keeps its state in its own file
 * (one role per process), so the hooks take only the options and the
 * server.  Each hook is called at most once. */
struct role {
  const char *usage;                  /* the first lines of --help */
  const struct opt *opts;             /* the role's own, after role_common_opts */
  const struct access_rule *access;   /* who may do what (server.h) */
  /* Before any port is bound: check and keep the options.  0 to go on,
   * else the exit code (2 a usage error, 1 e.g. out of memory). */
  int (*configure)(struct opt *opts);
  /* The server is bound: routes, hardware, peers, the start's log line.
   * 0 to run, 1 when the role cannot start (it undoes its own part). */
  int (*start)(struct nano_server *s, struct opt *opts);
  /* The loop has stopped: the role's own ending and its "stopped" line.
   * Returns the exit code.  The server is still there. */
  int (*stop)(struct nano_server *s);
  /* Optional, last of all, after the server is freed (its deferred
   * answers may point into the role's state), whenever configure was
   * called, also when it or the start failed. */
  void (*cleanup)(void);
};

/* The options of every role (--listen, --keys, ...), before its own;
 * a role's own option must not have one of their names. */
extern const struct opt role_common_opts[];

/* Run role NAME with argv[1..] as its command line: the whole lifecycle
 * above.  Returns the process's exit code. */
int role_main(const char *name, const struct role *r, int argc, char **argv);

/* The default identity of a role: ROLE, or ROLE-WHERE for one started
 * for a location or room (pd-entrance, bs-R1, mrs-R1). */
void role_identity_of(const char *role, const char *where, char *buf, size_t size);
/* The DTLS identity the role runs as, or NULL when --insecure. */
const char *role_identity(void);
/* The line of identity in the role's keys file, or NULL (no such line,
 * or --insecure). */
struct psk;
const struct psk *role_key(const char *identity);

#endif
