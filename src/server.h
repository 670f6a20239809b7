/* server.h - a role's CoAP server: endpoints, routes, common resources.
 *
 *   struct nano_server *s = server_new("pd", opt_str(opts, "listen"));
 *   server_route(s, "presence", 1, get_presence, NULL, NULL, NULL, st);
 *   loop_run();  ...  server_free(s);
 *
 *   static void get_events(struct nano_req *r)       (a handler)
 *   {
 *     long long limit;
 *     if (req_query_int(r, "limit", 100, 1, 1000, &limit) < 0)
 *       return;                                      (4.00 answered)
 *     ...
 *     req_reply_json(r, 205, obj);
 *   }
 *
 * Every server answers GET /.well-known/core (libcoap's, with rt="nano.ROLE"
 * on each resource), GET /health and GET /stats.  A path ending in a slash
 * and a star is a prefix route: "participants/" plus star gets
 * participants/alice with req->tail = "alice".
 */
#ifndef NANO_SERVER_H
#define NANO_SERVER_H

#include <coap3/coap.h>
#include <stdio.h>
#include "json.h"

struct nano_server;

/* The block mode of a role's context: libcoap does Block2 and the
 * Block1 handshake, server.c reassembles uploads within its bounds. */
#define SERVER_BLOCK_MODE COAP_BLOCK_USE_LIBCOAP

struct nano_req {
  struct nano_server *srv;
  coap_resource_t *resource;
  coap_session_t *session;
  const coap_pdu_t *request;
  const coap_string_t *query;
  coap_pdu_t *response;
  int method;                 /* COAP_REQUEST_GET, ... */
  const char *path;           /* "participants/alice" */
  const char *tail;           /* "alice" on a prefix route, else "" */
  const uint8_t *body;
  size_t body_len;
  void *arg;                  /* given to server_route() */
  int code;                   /* the answer's code once replied, e.g. 205 */
  int deferred;               /* 1: the second call after req_defer() */
  void *defer_arg;            /* what was given to req_defer() */
  int deferring;              /* internal: req_defer() was called */
  const char *identity;       /* the caller's DTLS identity; NULL: plain */
};

typedef void (*nano_handler)(struct nano_req *req);

#define SERVER_DEFAULT_MAX_BODY (64 * 1024)

/* What one role lets its network cost it.  Each is a flag of every role
 * (role.h: ROLE_LIMIT_OPTS); 0 in max_body keeps the role's own default
 * (server_set_max_body).  See the README's "Bounds" section. */
struct server_limits {
  size_t max_body;            /* largest request body, bytes (4.13 past it) */
  int max_uploads;            /* block-wise uploads in progress at once */
  uint64_t upload_timeout_ms; /* an unfinished upload is dropped after it */
  int max_observers;          /* Observe registrations of the role */
  int max_observers_resource; /* ... and of one resource */
  uint64_t observe_refresh_ms;/* confirmable re-notification of every
                                 observer, so dead ones are found */
  int max_held;               /* answers libcoap holds for block-wise
                                 fetching (and 16 MB of them) */
};
#define SERVER_LIMITS_DEFAULT { 0, 4, 10000, 64, 32, 60000, 4096 }

/* Listen on spec ("HOST:PORT[,HOST:PORT...]", NULL for the default
 * [::]:5683, which is dual-stack, or 0.0.0.0:5683 without IPv6).  NULL
 * with a message logged when an address cannot be bound. */
struct nano_server *server_new(const char *role, const char *listen_spec);
/* The same over DTLS with pre-shared keys: keys (which must outlive the
 * server) are who may connect, listen_spec defaults to [::]:5684, and a
 * plain endpoint on loopback port 5683 answers GET /health only. */
struct keyring;
struct nano_server *server_new_keys(const char *role, const char *listen_spec,
                                    const struct keyring *keys);

/* Who may do what, on a server with keys.  A request's method and path
 * are looked up in the role's table; the first rule whose methods and
 * path match decides by its identities.  GET /health (and libcoap's
 * /.well-known/core) are open to all; GET on everything is open to the
 * identities admin and admin-*.  Otherwise the answer is 4.01 without an
 * identity and 4.03 with one that has no right (logged once per identity
 * and path).  Words in methods and who are separated by spaces; a word
 * ending in '*' matches any suffix. */
struct access_rule {
  const char *methods;        /* "GET POST", or "*" */
  const char *path;           /* "auth", a prefix "meetings/" and a star, or "*" */
  const char *who;            /* "mcs", "pd-* bs-*", "admin admin-*" */
};
void server_set_access(struct nano_server *s, const struct access_rule *rules);
void access_print(FILE *out, const struct access_rule *rules);
void server_free(struct nano_server *s);
coap_context_t *server_ctx(struct nano_server *s);
/* The role's default largest body; a --max-body given by the user wins. */
void server_set_max_body(struct nano_server *s, size_t max);
int server_set_limits(struct nano_server *s, const struct server_limits *l);
/* hook(req, arg) runs before each handler (/health and /stats too; not
 * for a request refused before its handler): ae finishes its group
 * commit there before anything else reads or writes the database. */
void server_set_request_hook(struct nano_server *s,
                             void (*hook)(const struct nano_req *, void *), void *arg);
/* Extra fields for GET /stats and GET /health; hook adds to obj. */
void server_set_stats_hook(struct nano_server *s, void (*hook)(cJSON *obj, void *arg),
                           void *arg);
void server_set_health_hook(struct nano_server *s,
                            int (*hook)(cJSON *obj, void *arg), void *arg);

coap_resource_t *server_route(struct nano_server *s, const char *path, int observable,
                              nano_handler get, nano_handler post, nano_handler put,
                              nano_handler del, void *arg);
/* Tell observers of an observable route that its state changed. */
void server_notify(coap_resource_t *r);
/* A confirmable message of a server session failed (client.c's nack
 * handler passes them on): an observer that is gone is forgotten. */
void server_nack(coap_session_t *session, const coap_pdu_t *sent);

/* Answers; each request gets exactly one.  code is decimal: 205, 404... */
void req_reply(struct nano_req *r, int code, uint16_t format, const void *data,
               size_t len);
/* Takes ownership of obj (may be NULL for an empty body). */
void req_reply_json(struct nano_req *r, int code, cJSON *obj);
void req_reply_error(struct nano_req *r, int code, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
/* Answer later without blocking the loop: a "separate response" (RFC 7252
 * 5.2.2) through libcoap's coap_async.  Instead of replying, a handler
 * calls req_defer(r, ms, arg) and returns; a confirmable request is
 * acknowledged at once (so the client stops retransmitting), and after ms
 * milliseconds libcoap runs the same handler again for the same request,
 * with r->deferred = 1 and r->defer_arg = arg, and that call must reply.
 * Parse what the answer needs on the first call and keep it in arg: the
 * second call sees libcoap's copy of the request, which for a block-wise
 * body holds only its last block.  arg belongs to the caller (free it in
 * the second call; the server forgets deferred requests still waiting
 * when it is freed, so keep a list of args to free at exit).  Returns 0,
 * or -1 after answering 5.00 (out of memory, or a libcoap built without
 * async support), or -1 after 5.03 when 256 requests wait already.
 * Not for Observe registrations. */
int req_defer(struct nano_req *r, uint64_t ms, void *arg);
/* req_defer for an answer due within this turn of the loop (ae's group
 * commit): nothing is sent now, and the answer goes out piggybacked on
 * the ACK, two datagrams a request as for an answer made at once.  The
 * second call must come well before the client's first retransmission
 * (ACK_TIMEOUT, 2 s); a retransmission that comes first is answered, as
 * with req_defer. */
int req_hold(struct nano_req *r, uint64_t ms, void *arg);
/* Would an answer of len bytes to r that takes more than one datagram
 * be sent now?  libcoap holds such answers for their clients (8 s after
 * the last block); past --max-held of them or 16 MB, or a quarter of
 * either for r's peer (its session), req_reply answers 5.03 instead.  A
 * handler whose work is not undone by that (ae's decisions) asks first. */
int req_can_hold(const struct nano_req *r, size_t len);
/* Requests deferred and not yet answered. */
int server_deferred(struct nano_server *s);
/* Run the second call of every deferred request now instead of at its
 * time (at shutdown: answer with what there is, then loop_drain()). */
void server_answer_deferred(struct nano_server *s);
/* The same for the requests deferred with this arg only (the answer is
 * ready before the time given to req_defer); none if it was answered. */
void server_answer_deferred_arg(struct nano_server *s, const void *arg);

/* Add Max-Age (seconds) to the answer: when to ask again after a 5.03 or
 * 4.29.  Call before req_reply*(). */
void req_set_max_age(struct nano_req *r, unsigned secs);

/* The body as a JSON object, or NULL after answering 4.00 with why. */
cJSON *req_json(struct nano_req *r);
/* Value of query parameter name ("since" in ?since=4&limit=10) into buf;
 * 1 if present, 0 if absent, -1 if too long. */
int req_query(struct nano_req *r, const char *name, char *buf, size_t size);
/* Query parameter name as a decimal integer in [min, max] into *out
 * (def when the parameter is absent): 0, or -1 after answering 4.00
 * "query 'NAME' must be an integer in [MIN, MAX]".  Only digits: no sign,
 * no blanks, no exponent ("limit=1e3", "since=-1" are errors). */
int req_query_int(struct nano_req *r, const char *name, long long def, long long min,
                  long long max, long long *out);

#endif
