/* call.h - requests to a peer role that outlive the peer being down:
 * every role's one way to deliver to another (mcs to ae, ug, mrs and bs;
 * mrs to ae; pd's presence and bs's reports to mcs).
 *
 *   struct peer *ae = peer_new(ctx, "ae", "coap://ae");
 *   struct call *c = call_start(ae, COAP_REQUEST_POST, "auth", body, len,
 *                               NULL, on_auth, arg);
 *   c = call_build(mcs, COAP_REQUEST_POST, "ble", report_body, NULL,
 *                  on_reported, arg);      (the body made at each attempt)
 *
 * A call is retried until it gets an answer that is not transient:
 *   - timeout / unreachable / a name that does not resolve: the peer is
 *     marked down, the call is parked on it, and only a probe
 *     (GET <peer>/health, bounded exponential backoff) talks to the dead
 *     peer; the moment the probe is answered every parked call is sent
 *     again.  So N waiting participants cost one probe, not N retries,
 *     and the flow resumes as soon as the peer is back.
 *   - 5.00, 5.02, 5.03, 5.04: the peer is alive but cannot do it now; the
 *     call alone retries after its own backoff (250 ms doubling up to the
 *     cap), the peer stays up.
 * The backoff is the peer's: peer_set_backoff gives each peer its own
 * first wait and cap (call_set_backoff the default of peers made after).
 * fn then runs exactly once with the final code (2.xx, 4.xx, 5.01, 5.05),
 * with CLIENT_TIMEOUT when the call's give_up_ms passed first, or with
 * CALL_NOTHING when its body maker found nothing left to send.  A caller
 * that no longer wants the answer cancels the call (fn never runs).
 */
#ifndef NANO_CALL_H
#define NANO_CALL_H

#include <cjson/cJSON.h>
#include <coap3/coap.h>
#include <stdint.h>

#include "client.h"

struct peer;
struct call;

/* The code of a call_build call whose maker had nothing left to send. */
#define CALL_NOTHING (-10)

struct call_opts {
  unsigned timeout_ms;        /* per attempt; 0: the peer's default */
  uint64_t give_up_ms;        /* 0: retry until cancelled */
};

/* The backoff of calls and probes: first retry after base_ms, doubling up
 * to max_ms.  call_set_backoff: of the peers made from now on (at first
 * 250 ms and 2 s); peer_set_backoff: of one peer. */
void call_set_backoff(unsigned base_ms, unsigned max_ms);

/* base is "coap://host[:port]" (a trailing slash is ignored); name is for
 * logs and /health ("ae", "mrs R1").  NULL if the URI is not coap://. */
struct peer *peer_new(coap_context_t *ctx, const char *name, const char *base);
void peer_free(struct peer *p);     /* cancels its calls */
void peer_set_timeout(struct peer *p, unsigned timeout_ms);
void peer_set_backoff(struct peer *p, unsigned base_ms, unsigned max_ms);
/* One call in flight at a time, the others wait their turn in order.
 * For a peer whose answers are large: libcoap 4.3.1 mixes up two
 * block-wise answers arriving at once on one session. */
void peer_set_serial(struct peer *p, int serial);
const char *peer_base(const struct peer *p);
/* Runs each time a down peer answers again (after its parked calls were
 * re-sent). */
void peer_on_up(struct peer *p, void (*fn)(struct peer *p, void *arg), void *arg);
/* Check GET <peer>/health every interval_ms even while it is up: keeps
 * the state in /health current and notices a restart (its uptime_ms
 * starting over), after which on_restart runs. */
void peer_watch(struct peer *p, unsigned interval_ms);
void peer_on_restart(struct peer *p, void (*fn)(struct peer *p, void *arg), void *arg);
/* Runs each time the peer is to be tried again after a failure: why is
 * "timeout", "unreachable", "5.03", a name that does not resolve...,
 * retry_ms the wait before the next try (a probe while the peer is down,
 * the call itself after a 5.xx).  For a role's own log and counters; fn
 * must not start or cancel calls. */
void peer_on_retry(struct peer *p,
                   void (*fn)(struct peer *p, const char *why, unsigned retry_ms, void *arg),
                   void *arg);
/* {"uri","state":"up|down|unknown","since","requests","failures","parked",
 *  "restarts"} */
cJSON *peer_json(const struct peer *p);

/* body is copied (may be NULL).  NULL only when out of memory. */
struct call *call_start(struct peer *p, int method, const char *path,
                        const void *body, size_t len, const struct call_opts *o,
                        client_fn fn, void *arg);
/* The same with a JSON body (not taken over). */
struct call *call_json(struct peer *p, int method, const char *path, const cJSON *body,
                       const struct call_opts *o, client_fn fn, void *arg);
/* A call whose body make(arg, &body, &len) writes anew before each
 * attempt (malloc'd, taken over), so that what is sent is what is true
 * then: a report of devices heard "last_seen_ms" ago, a queue's head.
 * make returns 0, 1 when there is nothing to send any more (fn then runs
 * with CALL_NOTHING, never from inside call_build), or -1 when it cannot
 * now (out of memory; tried again after the backoff). */
typedef int (*call_body_fn)(void *arg, char **body, size_t *len);
struct call *call_build(struct peer *p, int method, const char *path, call_body_fn make,
                        const struct call_opts *o, client_fn fn, void *arg);
void call_cancel(struct call *c);
int call_attempts(const struct call *c);
/* 1 while an attempt is on the wire (its answer may still come), 0 while
 * the call waits: parked on a down peer, for its retry or its turn. */
int call_in_flight(const struct call *c);
/* Is code a final answer (2.xx, 4.xx, 5.01, 5.05)? */
int call_code_is_final(int code);

#endif
