/* resolve.h - host name lookups off the role's loop.
 *
 * getaddrinfo() blocks: when a Swarm service's node is down its name
 * leaves Swarm's DNS, Docker forwards it upstream and, without an answer,
 * musl's resolver waits its 5 s timeout (times its attempts).  Inside the
 * role's only loop that stopped /health and every peer for > 10 s.  So
 * one worker thread does the lookups, and nothing else (no libcoap, no
 * cJSON, no log); the loop learns of a result through a pipe it polls,
 * and the callback runs on the loop.
 *
 *   resolve_set_callback(on_resolved);
 *   resolve_start("ae");        // 0: on_resolved("ae", ...) runs later
 *
 * A name already being looked up is not queued twice; at most
 * RESOLVE_MAX names are outstanding.  The worker is detached: a lookup
 * hanging for seconds never delays the process's exit.
 */
#ifndef NANO_RESOLVE_H
#define NANO_RESOLVE_H

#include <coap3/coap.h>

#define RESOLVE_MAX 8

/* addr (port 0) when ok; otherwise err is "cannot resolve 'HOST': WHY". */
typedef void (*resolve_fn)(const char *host, int ok, const coap_address_t *addr,
                           const char *err);

void resolve_set_callback(resolve_fn fn);
/* Ask for host's address.  0 when asked (or already being asked); -1
 * when too many lookups are outstanding or the worker cannot start. */
int resolve_start(const char *host);

#endif
