/* role.h - what every role's main does the same way.
 *
 *   struct opt opts[] = { ROLE_COMMON_OPTS, { "location", OPT_STR, ... }, { 0 } };
 *   struct nano_server *s;
 *   int rc = role_start("pd", opts, argc, argv, usage, &s);
 *   if (rc >= 0) return rc;          (--help: 0, usage/bind error: 2/1)
 *   server_route(s, ...);  ...  loop_run();  role_finish(s, opts);
 *
 * A role that checks its own options first (a usage error must exit 2
 * before any port is bound) calls the two halves itself:
 *   rc = role_options(...); check opts (return 2); rc = role_serve(...);
 */
#ifndef NANO_ROLE_H
#define NANO_ROLE_H

#include "client.h"
#include "loop.h"
#include "nano.h"
#include "server.h"

#define ROLE_COMMON_OPTS \
  { "listen", OPT_STR, NULL, "HOST:PORT[,HOST:PORT] to serve CoAP on (default [::]:5683, or 0.0.0.0:5683 without IPv6)" }, \
  { "log-level", OPT_STR, "info", "error|warn|info|debug" }, \
  { "keys", OPT_STR, NULL, "keys file, IDENTITY HEXKEY lines: DTLS on 5684 (default /run/secrets/nano-keys when it exists)" }, \
  { "identity", OPT_STR, NULL, "this role's DTLS identity (default ROLE, pd/bs: ROLE-LOCATION, mrs: mrs-ROOM)" }, \
  { "insecure", OPT_BOOL, NULL, "plain CoAP without keys or identities (logged as a warning)" }, \
  { "max-body", OPT_STR, NULL, "largest request body, bytes (k, M: 64k, 1M; default: the role's own), 4.13 past it" }, \
  { "max-uploads", OPT_STR, "4", "block-wise uploads in progress at once (at most 64), 5.03 past it" }, \
  { "upload-timeout", OPT_STR, "10s", "an unfinished block-wise upload is dropped after this" }, \
  { "max-observers", OPT_STR, "64", "Observe registrations of the role, 5.03 past it" }, \
  { "max-observers-resource", OPT_STR, "32", "Observe registrations of one resource" }, \
  { "observe-refresh", OPT_STR, "60s", "every observer is notified (confirmable) this often, so the gone are dropped" }

/* The role's access table (server.h), shown by --help and given to its
 * server; call before role_options/role_start. */
void role_set_access(const struct access_rule *rules);
/* The default identity of a role: ROLE, or ROLE-WHERE for one started
 * for a location or room (pd-entrance, bs-R1, mrs-R1). */
void role_identity_of(const char *role, const char *where, char *buf, size_t size);
/* The DTLS identity the role runs as, or NULL when --insecure. */
const char *role_identity(void);
/* The line of identity in the role's keys file, or NULL (no such line,
 * or --insecure). */
struct psk;
const struct psk *role_key(const char *identity);

/* Parse options, set up logging, the server (client and loop on the same
 * libcoap context).  Returns -1 when the role should go on with *out
 * set, else the exit code: 0 after --help, 2 on a usage error, 1 when
 * the server cannot start. */
int role_start(const char *role, struct opt *opts, int argc, char **argv,
               const char *usage, struct nano_server **out);
/* The first half: options and logging.  -1 to go on, else the exit code
 * (0 after --help, 2 on a usage error). */
int role_options(const char *role, struct opt *opts, int argc, char **argv,
                 const char *usage);
/* The second half: the server, with client and loop on its context.
 * -1 to go on with *out set, else 1 (opts are freed then). */
int role_serve(const char *role, struct opt *opts, struct nano_server **out);
void role_finish(struct nano_server *s, struct opt *opts);

#endif
