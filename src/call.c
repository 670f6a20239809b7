/* call.c - requests to a peer role that outlive the peer being down
 * (call.h).  A peer is up, down or unknown (never asked yet); only a down
 * peer has a probe timer, and only calls to a down peer are parked.
 */
#include "call.h"
#include "json.h"
#include "loop.h"
#include "nano.h"
#include "uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PEER_UNKNOWN = -1, PEER_DOWN = 0, PEER_UP = 1 };

struct call {
  struct peer *peer;
  int method;
  char *path;
  uint8_t *body;
  size_t len;
  call_body_fn make;              /* the body anew for each attempt, or NULL */
  unsigned timeout_ms;
  int attempts;
  int parked;
  int queued;                     /* waiting for a serial peer's turn */
  unsigned req;                   /* the attempt in flight, or 0 */
  struct loop_timer *retry;       /* the next attempt after a 5.xx */
  struct loop_timer *give_up;
  client_fn fn;
  void *arg;
  struct call *prev, *next;
};

struct peer {
  coap_context_t *ctx;
  char name[64];
  char base[256];
  unsigned timeout_ms;
  unsigned backoff_base, backoff_max;
  int state;
  uint64_t since;                 /* wall ms of the last state change */
  unsigned long requests, failures;
  struct call *calls, *last;      /* oldest first */
  int serial;                     /* one call in flight at a time */
  int closing;
  struct call *busy;              /* a serial peer's call in flight */
  struct loop_timer *probe_timer;
  unsigned probe_req;
  int probe_attempts;
  unsigned watch_ms;              /* GET /health this often; 0: only when down */
  uint64_t started_est;           /* wall ms the peer started, from uptime_ms */
  unsigned long restarts;
  void (*on_up)(struct peer *, void *);
  void *on_up_arg;
  void (*on_restart)(struct peer *, void *);
  void *on_restart_arg;
  void (*on_retry)(struct peer *, const char *, unsigned, void *);
  void *on_retry_arg;
};

/* of the peers made from now on */
static unsigned default_base = 250, default_max = 2000;

void call_set_backoff(unsigned base_ms, unsigned max_ms)
{
  default_base = base_ms ? base_ms : 1;
  default_max = max_ms < default_base ? default_base : max_ms;
}

void peer_set_backoff(struct peer *p, unsigned base_ms, unsigned max_ms)
{
  p->backoff_base = base_ms ? base_ms : 1;
  p->backoff_max = max_ms < p->backoff_base ? p->backoff_base : max_ms;
}

/* The wait before try number attempts + 1: base, doubling up to the cap. */
static unsigned backoff(const struct peer *p, int attempts)
{
  uint64_t ms = p->backoff_base;
  for (int i = 1; i < attempts && ms < p->backoff_max; i++)
    ms *= 2;
  return ms > p->backoff_max ? p->backoff_max : (unsigned)ms;
}

/* The peer is to be tried again in ms: tell the role (its log, counters). */
static void note_retry(struct peer *p, const char *why, unsigned ms)
{
  if (p->on_retry)
    p->on_retry(p, why, ms, p->on_retry_arg);
}

int call_code_is_final(int code)
{
  if (code < 0)
    return 0;
  if (code / 100 == 5)
    return code == 501 || code == 505;   /* will never work: say so */
  return 1;
}

static void call_send(struct call *c);

/* ---- peers ------------------------------------------------------------ */

struct peer *peer_new(coap_context_t *ctx, const char *name, const char *base)
{
  struct nano_uri u;
  char err[160];
  struct peer *p;
  size_t n;

  if (!base || uri_parse(base, &u, err, sizeof err) < 0) {
    log_error("peer=%s uri=%s %s", name, base ? base : "", base ? err : "missing");
    return NULL;
  }
  p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->ctx = ctx;
  p->timeout_ms = 3000;
  p->backoff_base = default_base;
  p->backoff_max = default_max;
  p->state = PEER_UNKNOWN;
  p->since = wall_ms();
  snprintf(p->name, sizeof p->name, "%s", name);
  snprintf(p->base, sizeof p->base, "%s", base);
  n = strlen(p->base);
  while (n > 0 && p->base[n - 1] == '/')
    p->base[--n] = '\0';
  return p;
}

void peer_set_timeout(struct peer *p, unsigned timeout_ms)
{
  p->timeout_ms = timeout_ms ? timeout_ms : 3000;
}

const char *peer_base(const struct peer *p) { return p->base; }

void peer_set_serial(struct peer *p, int serial)
{
  p->serial = serial;
}

void peer_on_up(struct peer *p, void (*fn)(struct peer *, void *), void *arg)
{
  p->on_up = fn;
  p->on_up_arg = arg;
}

void peer_on_restart(struct peer *p, void (*fn)(struct peer *, void *), void *arg)
{
  p->on_restart = fn;
  p->on_restart_arg = arg;
}

void peer_on_retry(struct peer *p, void (*fn)(struct peer *, const char *, unsigned, void *),
                   void *arg)
{
  p->on_retry = fn;
  p->on_retry_arg = arg;
}

cJSON *peer_json(const struct peer *p)
{
  cJSON *o = cJSON_CreateObject();
  char ts[40];
  int parked = 0;

  for (struct call *c = p->calls; c; c = c->next)
    parked += c->parked + c->queued;
  cJSON_AddStringToObject(o, "uri", p->base);
  cJSON_AddStringToObject(o, "state", p->state == PEER_UP ? "up" :
                          p->state == PEER_DOWN ? "down" : "unknown");
  cJSON_AddStringToObject(o, "since", rfc3339(p->since, ts, sizeof ts));
  cJSON_AddNumberToObject(o, "requests", (double)p->requests);
  cJSON_AddNumberToObject(o, "failures", (double)p->failures);
  cJSON_AddNumberToObject(o, "parked", parked);
  cJSON_AddNumberToObject(o, "restarts", (double)p->restarts);
  return o;
}

static void peer_mark_up(struct peer *p)
{
  int was_down = p->state == PEER_DOWN;

  if (p->state != PEER_UP) {
    p->state = PEER_UP;
    p->since = wall_ms();
  }
  if (!was_down)
    return;
  if (!p->watch_ms) {
    loop_cancel(p->probe_timer);
    p->probe_timer = NULL;
  }
  log_info("peer=%s uri=%s up again", p->name, p->base);
  /* Sending never calls back synchronously (a failed send parks the call
   * again), so the list stays as it is while we walk it. */
  for (struct call *c = p->calls; c; c = c->next)
    if (c->parked) {
      c->parked = 0;
      call_send(c);
    }
  if (p->on_up)
    p->on_up(p, p->on_up_arg);
}

static void probe_send(void *arg);
static void peer_mark_down(struct peer *p, const char *why);
static void probe_failed(struct peer *p, const char *why);

static void probe_schedule(struct peer *p, unsigned ms)
{
  loop_cancel(p->probe_timer);
  p->probe_timer = loop_after(ms, probe_send, p);
}

/* The peer's start time from the uptime_ms of its /health: a later start
 * than the one seen before means it restarted (and lost what it held in
 * memory), even when no request to it ever failed in between. */
static void note_uptime(struct peer *p, const uint8_t *body, size_t len)
{
  struct jerr err;
  long long up;
  cJSON *o = json_parse_object(body, len, 4096, &err);
  uint64_t started;

  if (!o)
    return;
  if (json_get_int(o, "uptime_ms", JSON_REQUIRED, 0, 1LL << 50, &up, &err) == 0) {
    started = wall_ms() - (uint64_t)up;
    if (p->started_est && started > p->started_est + 1500) {
      p->restarts++;
      log_warn("peer=%s uri=%s restarted", p->name, p->base);
      p->started_est = started;
      if (p->on_restart)
        p->on_restart(p, p->on_restart_arg);
    }
    p->started_est = started;
  }
  cJSON_Delete(o);
}

/* Why a request failed: client.c's reason when it gave one (a name
 * that did not resolve), else "timeout", "unreachable"... */
static const char *failure_text(int code, const uint8_t *body, size_t len, char *buf,
                                size_t size)
{
  if (!len)
    return client_code_text(code, buf, size);
  snprintf(buf, size, "%.*s", (int)len, (const char *)body);
  return buf;
}

static void probe_answer(void *arg, int code, const uint8_t *body, size_t len)
{
  struct peer *p = arg;
  char buf[320];

  p->probe_req = 0;
  if (code > 0) {
    /* Any answer, even 5.03 "degraded", means the role is there. */
    p->probe_attempts = 0;
    if (p->watch_ms)
      probe_schedule(p, p->watch_ms);
    peer_mark_up(p);
    note_uptime(p, body, len);
    return;
  }
  probe_failed(p, p->state != PEER_DOWN && !len ? "health check failed" :
                 failure_text(code, body, len, buf, sizeof buf));
}

/* A probe got no answer or could not be sent: a peer that was up is down
 * now; one that was down already is asked again after a longer wait. */
static void probe_failed(struct peer *p, const char *why)
{
  unsigned ms;

  if (p->state != PEER_DOWN) {
    p->failures++;
    peer_mark_down(p, why);
    return;
  }
  ms = backoff(p, ++p->probe_attempts);
  probe_schedule(p, ms);
  note_retry(p, why, ms);
}

static void probe_send(void *arg)
{
  struct peer *p = arg;
  struct client_opts o = { p->timeout_ms < 1000 ? p->timeout_ms : 1000, 0, 0, -1 };
  char uri[300];
  const char *err = NULL;

  p->probe_timer = NULL;
  if (p->probe_req)
    return;
  snprintf(uri, sizeof uri, "%s/health", p->base);
  p->probe_req = client_request(p->ctx, COAP_REQUEST_GET, uri, NULL, 0, &o,
                                probe_answer, p, &err);
  if (!p->probe_req) {
    log_debug("peer=%s probe not sent: %s", p->name, err ? err : "?");
    probe_failed(p, err ? err : "cannot send");
  }
}

void peer_watch(struct peer *p, unsigned interval_ms)
{
  p->watch_ms = interval_ms;
  /* Not at once: roles started together need a moment to listen. */
  if (interval_ms)
    probe_schedule(p, interval_ms);
}

static void peer_mark_down(struct peer *p, const char *why)
{
  if (p->state == PEER_DOWN)
    return;
  p->state = PEER_DOWN;
  p->since = wall_ms();
  /* the first probe after backoff(1), the next after backoff(2)... */
  p->probe_attempts = 1;
  log_warn("peer=%s uri=%s down (%s); calls wait for it", p->name, p->base, why);
  if (!p->probe_req) {
    probe_schedule(p, backoff(p, 1));
    note_retry(p, why, backoff(p, 1));
  }
}

void peer_free(struct peer *p)
{
  if (!p)
    return;
  p->closing = 1;
  while (p->calls)
    call_cancel(p->calls);
  loop_cancel(p->probe_timer);
  if (p->probe_req)
    client_cancel(p->probe_req);
  free(p);
}

/* ---- calls ------------------------------------------------------------ */

static void call_unlink(struct call *c)
{
  if (c->prev)
    c->prev->next = c->next;
  else
    c->peer->calls = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    c->peer->last = c->prev;
}

/* A serial peer's turn is over: the oldest queued call goes next. */
static void peer_next(struct peer *p)
{
  if (p->busy || p->closing)
    return;
  for (struct call *c = p->calls; c; c = c->next)
    if (c->queued) {
      c->queued = 0;
      call_send(c);
      if (p->busy || p->state == PEER_DOWN)
        return;
    }
}

static void call_free(struct call *c)
{
  struct peer *p = c->peer;

  if (c->req)
    client_cancel(c->req);
  loop_cancel(c->retry);
  loop_cancel(c->give_up);
  call_unlink(c);
  free(c->path);
  free(c->body);
  free(c);
  if (p->busy == c) {
    p->busy = NULL;
    peer_next(p);
  }
}

void call_cancel(struct call *c)
{
  if (c)
    call_free(c);
}

int call_attempts(const struct call *c)
{
  return c->attempts;
}

int call_in_flight(const struct call *c)
{
  return c && c->req;
}

static void call_finish(struct call *c, int code, const uint8_t *body, size_t len)
{
  client_fn fn = c->fn;
  void *arg = c->arg;

  c->req = 0;
  call_free(c);
  fn(arg, code, body, len);
}

static void call_retry(void *arg)
{
  struct call *c = arg;
  c->retry = NULL;
  call_send(c);
}

/* A call_build call whose maker found nothing to send: over, from the
 * loop (never from inside call_build or a peer's walk of its calls). */
static void call_nothing(void *arg)
{
  struct call *c = arg;
  struct peer *p = c->peer;

  c->retry = NULL;
  call_finish(c, CALL_NOTHING, NULL, 0);
  peer_next(p);
}

static void call_gave_up(void *arg)
{
  struct call *c = arg;
  c->give_up = NULL;
  log_warn("peer=%s path=%s gave up after %d attempts", c->peer->name, c->path,
           c->attempts);
  call_finish(c, CLIENT_TIMEOUT, NULL, 0);
}

static void call_park(struct call *c, const char *why)
{
  c->parked = 1;
  peer_mark_down(c->peer, why);
}

static void call_answer(void *arg, int code, const uint8_t *body, size_t len)
{
  struct call *c = arg;
  struct peer *p = c->peer;
  char buf[320];

  c->req = 0;
  if (p->busy == c)
    p->busy = NULL;             /* the turn is over whatever happens next */
  if (code > 0)
    peer_mark_up(p);
  if (call_code_is_final(code)) {
    call_finish(c, code, body, len);
    peer_next(p);
    return;
  }
  c->peer->failures++;
  log_debug("peer=%s path=%s attempt=%d %s", c->peer->name, c->path, c->attempts,
            client_code_text(code, buf, sizeof buf));
  if (code < 0) {
    call_park(c, failure_text(code, body, len, buf, sizeof buf));
  } else {
    unsigned ms = backoff(p, c->attempts);
    c->retry = loop_after(ms, call_retry, c);
    note_retry(p, client_code_text(code, buf, sizeof buf), ms);
  }
  peer_next(p);
}

static void call_send(struct call *c)
{
  struct peer *p = c->peer;
  struct client_opts o = { c->timeout_ms ? c->timeout_ms : p->timeout_ms, 0, 0, -1 };
  const char *err = NULL;
  char *uri;

  if (p->state == PEER_DOWN) {
    c->parked = 1;
    return;
  }
  if (p->serial && p->busy && p->busy != c) {
    c->queued = 1;
    return;
  }
  if (c->make) {
    char *body = NULL;
    size_t len = 0;
    int rc = c->make(c->arg, &body, &len);
    if (rc > 0) {
      c->retry = loop_after(0, call_nothing, c);
      return;
    }
    if (rc < 0) {
      unsigned ms = backoff(p, ++c->attempts);
      c->retry = loop_after(ms, call_retry, c);
      note_retry(p, "out of memory", ms);
      return;
    }
    free(c->body);
    c->body = (uint8_t *)body;
    c->len = len;
  }
  if (asprintf(&uri, "%s/%s", p->base, c->path) < 0) {
    c->retry = loop_after(backoff(p, ++c->attempts), call_retry, c);
    return;
  }
  c->attempts++;
  p->requests++;
  c->req = client_request(p->ctx, c->method, uri, c->body, c->len, &o, call_answer, c,
                          &err);
  free(uri);
  if (!c->req) {
    /* A name that does not resolve (a Swarm service not there yet) is a
     * peer that is down, not a reason to drop the call. */
    p->failures++;
    call_park(c, err ? err : "cannot send");
    return;
  }
  if (p->serial)
    p->busy = c;
}

/* A call in p's list, not yet sent; NULL when out of memory. */
static struct call *call_new(struct peer *p, int method, const char *path,
                             const void *body, size_t len, const struct call_opts *o,
                             client_fn fn, void *arg)
{
  struct call *c = calloc(1, sizeof *c);

  if (!c)
    return NULL;
  c->path = strdup(path);
  if (len) {
    c->body = malloc(len);
    if (c->body)
      memcpy(c->body, body, len);
  }
  if (!c->path || (len && !c->body)) {
    free(c->path);
    free(c->body);
    free(c);
    return NULL;
  }
  c->peer = p;
  c->method = method;
  c->len = len;
  c->fn = fn;
  c->arg = arg;
  c->timeout_ms = o ? o->timeout_ms : 0;
  c->prev = p->last;
  if (p->last)
    p->last->next = c;
  else
    p->calls = c;
  p->last = c;
  if (o && o->give_up_ms)
    c->give_up = loop_after(o->give_up_ms, call_gave_up, c);
  return c;
}

struct call *call_start(struct peer *p, int method, const char *path,
                        const void *body, size_t len, const struct call_opts *o,
                        client_fn fn, void *arg)
{
  struct call *c = call_new(p, method, path, body, len, o, fn, arg);

  if (c)
    call_send(c);
  return c;
}

struct call *call_build(struct peer *p, int method, const char *path, call_body_fn make,
                        const struct call_opts *o, client_fn fn, void *arg)
{
  struct call *c = call_new(p, method, path, NULL, 0, o, fn, arg);

  if (c) {
    c->make = make;
    call_send(c);
  }
  return c;
}

struct call *call_json(struct peer *p, int method, const char *path, const cJSON *body,
                       const struct call_opts *o, client_fn fn, void *arg)
{
  char *s = body ? json_print(body) : NULL;
  struct call *c;

  if (body && !s)
    return NULL;
  c = call_start(p, method, path, s, s ? strlen(s) : 0, o, fn, arg);
  free(s);
  return c;
}
