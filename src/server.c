/* server.c - a role's CoAP server on libcoap (see server.h).
 *
 * libcoap owns the sockets, parsing, deduplication, block-wise transfer
 * (RFC 7959, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY: a handler
 * sees whole bodies) and observe (RFC 7641).  This file adds routing to
 * plain C handlers, JSON answers with {"error"} on failure, limits on
 * what a request may carry, and the resources every role has.
 */
#include "server.h"
#include "nano.h"
#include "uri.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ROUTES 48

struct route {
  struct nano_server *srv;
  char path[128];             /* without the trailing slash and star */
  int prefix;                 /* 1: matches path + "/" + tail;
                                 -1: the dispatcher of all prefix routes */
  nano_handler fn[4];         /* GET, POST, PUT, DELETE */
  void *arg;
};

/* A request answered later (req_defer); libcoap's coap_async holds a
 * pointer to it as app data until the second call of the handler. */
struct defer {
  void *arg;
  coap_async_t *async;
  struct defer *next;
};

struct nano_server {
  coap_context_t *ctx;
  char role[32];
  char rt[48];                /* "\"nano.ROLE\"" as link-format wants it */
  size_t max_body;
  uint64_t started_ms;
  uint64_t requests, by_class[6];
  struct route routes[MAX_ROUTES];
  int nroutes;
  coap_resource_t *unknown;   /* libcoap's unknown resource ... */
  struct route unknown_route; /* ... whose userdata picks a prefix route */
  void (*stats_hook)(cJSON *, void *);
  void *stats_arg;
  int (*health_hook)(cJSON *, void *);
  void *health_arg;
  struct defer *defers;       /* deferred, not answered yet */
};

/* ---- libcoap's log into ours ---------------------------------------- */

static void coap_log_to_ours(coap_log_t level, const char *message)
{
  char line[512];
  size_t n;

  snprintf(line, sizeof line, "%s", message);
  n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
    line[--n] = '\0';
  log_msg(level <= LOG_ERR ? NLOG_ERROR : level <= LOG_WARNING ? NLOG_WARN :
          NLOG_DEBUG, "libcoap: %s", line);
}

static void coap_log_setup(void)
{
  coap_set_log_handler(coap_log_to_ours);
  coap_set_log_level(log_level() >= NLOG_DEBUG ? LOG_DEBUG :
                     log_level() >= NLOG_WARN ? LOG_WARNING : LOG_ERR);
}

/* ---- replies ----------------------------------------------------------- */

static void count_reply(struct nano_req *r, int code)
{
  r->code = code;
  if (code / 100 < 6)
    r->srv->by_class[code / 100]++;
}

static void free_large(coap_session_t *session, void *app_ptr)
{
  (void)session;
  free(app_ptr);
}

void req_reply(struct nano_req *r, int code, uint16_t format, const void *data,
               size_t len)
{
  if (r->code) {
    log_warn("path=%s second reply %d ignored", r->path, code);
    return;
  }
  count_reply(r, code);
  coap_pdu_set_code(r->response, COAP_RESPONSE_CODE(code));
  if (!len)
    return;
  if (code / 100 != 2) {
    /* Error bodies are short; adding them plainly keeps error answers off
     * libcoap 4.3.1's large-response path, which mishandles an error
     * answer to an Observe request. */
    uint8_t buf[4];
    coap_add_option(r->response, COAP_OPTION_CONTENT_FORMAT,
                    coap_encode_var_safe(buf, sizeof buf, format), buf);
    coap_add_data(r->response, len, data);
    return;
  }
  void *copy = malloc(len);
  if (!copy) {
    coap_pdu_set_code(r->response, COAP_RESPONSE_CODE(500));
    return;
  }
  memcpy(copy, data, len);
  /* libcoap 4.3.1 leaves Content-Format out when it is 0 (text/plain);
   * say it, so a client knows the body is text.  Every block carries the
   * options of this first response. */
  if (format == COAP_MEDIATYPE_TEXT_PLAIN)
    coap_add_option(r->response, COAP_OPTION_CONTENT_FORMAT, 0, NULL);
  /* Block2 when the body does not fit one datagram; copy is freed by
   * libcoap through free_large once the last block went out. */
  if (!coap_add_data_large_response(r->resource, r->session, r->request,
                                    r->response, r->query, format, -1, 0, len,
                                    copy, free_large, copy)) {
    free(copy);
    coap_pdu_set_code(r->response, COAP_RESPONSE_CODE(500));
  }
}

void req_reply_json(struct nano_req *r, int code, cJSON *obj)
{
  char *s = obj ? json_print(obj) : NULL;

  cJSON_Delete(obj);
  if (obj && !s) {
    req_reply_error(r, 500, "out of memory");
    return;
  }
  req_reply(r, code, COAP_MEDIATYPE_APPLICATION_JSON, s, s ? strlen(s) : 0);
  free(s);
}

void req_reply_error(struct nano_req *r, int code, const char *fmt, ...)
{
  char msg[256];
  char *s;
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  s = json_error_body(msg);
  log_debug("path=%s code=%d error=\"%s\"", r->path, code, msg);
  req_reply(r, code, COAP_MEDIATYPE_APPLICATION_JSON, s ? s : "", s ? strlen(s) : 0);
  free(s);
}

cJSON *req_json(struct nano_req *r)
{
  struct jerr err;
  cJSON *obj = json_parse_object(r->body, r->body_len, r->srv->max_body, &err);
  if (!obj)
    req_reply_error(r, 400, "%s", err.msg);
  return obj;
}

int req_query(struct nano_req *r, const char *name, char *buf, size_t size)
{
  size_t nlen = strlen(name);
  const char *q, *end;

  if (!r->query || !r->query->length)
    return 0;
  q = (const char *)r->query->s;
  end = q + r->query->length;
  /* coap_get_query() joins the Uri-Query options with '&' */
  while (q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    const char *stop = amp ? amp : end;
    if ((size_t)(stop - q) > nlen && !memcmp(q, name, nlen) && q[nlen] == '=') {
      size_t vlen = (size_t)(stop - q) - nlen - 1;
      if (vlen >= size)
        return -1;
      memcpy(buf, q + nlen + 1, vlen);
      buf[vlen] = '\0';
      return 1;
    }
    q = stop + 1;
  }
  return 0;
}

/* ---- deferred answers ------------------------------------------------ */

int req_defer(struct nano_req *r, uint64_t ms, void *arg)
{
  struct defer *d;
  coap_async_t *a;
  /* 0 would mean "wait forever" to libcoap */
  coap_tick_t delay = (coap_tick_t)(ms ? ms : 1) * COAP_TICKS_PER_SECOND / 1000;

  if (r->code || r->deferring || r->deferred) {
    log_error("path=%s req_defer after an answer or a deferral", r->path);
    return -1;
  }
  if (!coap_async_is_supported()) {
    req_reply_error(r, 500, "this libcoap cannot answer later (no async support)");
    return -1;
  }
  d = calloc(1, sizeof *d);
  if (!d) {
    req_reply_error(r, 500, "out of memory");
    return -1;
  }
  /* NULL when a request with the same token is already waiting */
  a = coap_register_async(r->session, r->request, delay ? delay : 1);
  if (!a) {
    free(d);
    req_reply_error(r, 503, "cannot answer this request later");
    return -1;
  }
  d->arg = arg;
  d->async = a;
  d->next = r->srv->defers;
  r->srv->defers = d;
  coap_async_set_app_data(a, d);
  r->deferring = 1;
  return 0;
}

int server_deferred(struct nano_server *s)
{
  int n = 0;
  for (struct defer *d = s->defers; d; d = d->next)
    n++;
  return n;
}

void server_answer_deferred(struct nano_server *s)
{
  for (struct defer *d = s->defers; d; d = d->next)
    coap_async_trigger(d->async);
}

static void defer_unlink(struct nano_server *s, struct defer *d)
{
  for (struct defer **pp = &s->defers; *pp; pp = &(*pp)->next)
    if (*pp == d) {
      *pp = d->next;
      return;
    }
}

/* libcoap runs the handler again for a deferred request when its time
 * is up.  A client's retransmission that arrives just after that time,
 * before libcoap's own call, gets the answer instead; libcoap's call that
 * follows finds the app data gone and its empty answer is dropped (an
 * empty NON is never sent). */
static int defer_resume(struct nano_server *s, coap_session_t *session,
                        const coap_pdu_t *request, coap_pdu_t *response,
                        struct nano_req *req)
{
  coap_async_t *a = coap_find_async(session, coap_pdu_get_token(request));
  struct defer *d;

  if (!a)
    return 0;
  d = coap_async_get_app_data(a);
  if (!d) {
    coap_pdu_set_type(response, COAP_MESSAGE_NON);
    return -1;
  }
  coap_async_set_app_data(a, NULL);
  defer_unlink(s, d);
  req->deferred = 1;
  req->defer_arg = d->arg;
  free(d);
  return 1;
}

/* ---- dispatch -------------------------------------------------------- */

static int method_index(int method)
{
  switch (method) {
  case COAP_REQUEST_GET: return 0;
  case COAP_REQUEST_POST: return 1;
  case COAP_REQUEST_PUT: return 2;
  case COAP_REQUEST_DELETE: return 3;
  default: return -1;
  }
}

static struct route *match_prefix(struct nano_server *s, const char *path,
                                  const char **tail)
{
  struct route *best = NULL;
  size_t bestlen = 0;

  for (int i = 0; i < s->nroutes; i++) {
    struct route *rt = &s->routes[i];
    size_t n = strlen(rt->path);
    if (rt->prefix > 0 && !strncmp(path, rt->path, n) && path[n] == '/' && path[n + 1] &&
        n + 1 > bestlen) {
      best = rt;
      bestlen = n + 1;
    }
  }
  *tail = best ? path + bestlen : "";
  return best;
}

static void dispatch(coap_resource_t *resource, coap_session_t *session,
                     const coap_pdu_t *request, const coap_string_t *query,
                     coap_pdu_t *response)
{
  struct route *rt = coap_resource_get_userdata(resource);
  struct nano_server *s;
  struct nano_req req;
  coap_string_t *uri_path = coap_get_uri_path(request);
  char path[256] = "";
  size_t total = 0, offset = 0;
  int mi, rc;

  memset(&req, 0, sizeof req);
  if (!rt) {
    coap_delete_string(uri_path);
    coap_pdu_set_code(response, COAP_RESPONSE_CODE(500));
    return;
  }
  s = rt->srv;
  req.srv = s;
  req.resource = resource;
  req.session = session;
  req.request = request;
  req.query = query;
  req.response = response;
  req.method = coap_pdu_get_code(request);
  req.path = path;
  req.tail = "";
  rc = defer_resume(s, session, request, response, &req);
  if (rc < 0) {
    coap_delete_string(uri_path);
    return;
  }
  if (!rc)
    s->requests++;          /* a deferred request counts once */
  if (uri_path && uri_path->length < sizeof path) {
    memcpy(path, uri_path->s, uri_path->length);
    path[uri_path->length] = '\0';
  }
  coap_delete_string(uri_path);

  if (rt->prefix < 0) {
    rt = match_prefix(s, path, &req.tail);
    if (!rt) {
      req_reply_error(&req, 404, "no resource /%s", path);
      return;
    }
  }
  req.arg = rt->arg;
  mi = method_index(req.method);
  if (mi < 0 || !rt->fn[mi]) {
    req_reply_error(&req, 405, "method not allowed on /%s", path);
    return;
  }
  if (coap_get_data_large(request, &req.body_len, &req.body, &offset, &total) &&
      (offset != 0 || req.body_len != total)) {
    req_reply_error(&req, 408, "incomplete block-wise body");
    return;
  }
  if (req.body_len > s->max_body) {
    req_reply_error(&req, 413, "payload of %zu bytes exceeds the limit of %zu",
                    req.body_len, s->max_body);
    return;
  }
  rt->fn[mi](&req);
  if (req.deferring && !req.code) {
    log_debug("method=%d path=%s deferred", req.method, path);
    return;
  }
  if (!req.code) {
    log_error("path=%s handler gave no answer", path);
    req_reply_error(&req, 500, "no answer");
  }
  log_debug("method=%d path=%s code=%d", req.method, path, req.code);
}

/* ---- routes ------------------------------------------------------------ */

static coap_resource_t *make_resource(struct nano_server *s, const char *path,
                                      int flags)
{
  coap_str_const_t *p = coap_new_str_const((const uint8_t *)path, strlen(path));
  coap_resource_t *r;

  if (!p)
    return NULL;
  r = coap_resource_init(p, flags | COAP_RESOURCE_FLAGS_RELEASE_URI);
  if (!r) {
    coap_delete_str_const(p);
    return NULL;
  }
  coap_add_attr(r, coap_make_str_const("rt"),
                coap_make_str_const(s->rt), 0);
  return r;
}

coap_resource_t *server_route(struct nano_server *s, const char *path, int observable,
                              nano_handler get, nano_handler post, nano_handler put,
                              nano_handler del, void *arg)
{
  static const coap_request_t methods[4] = {
    COAP_REQUEST_GET, COAP_REQUEST_POST, COAP_REQUEST_PUT, COAP_REQUEST_DELETE
  };
  nano_handler fns[4] = { get, post, put, del };
  size_t len = strlen(path);
  struct route *rt;
  coap_resource_t *r;

  if (s->nroutes == MAX_ROUTES || len >= sizeof rt->path) {
    log_error("path=%s cannot add route", path);
    return NULL;
  }
  rt = &s->routes[s->nroutes];
  memset(rt, 0, sizeof *rt);
  rt->srv = s;
  rt->arg = arg;
  memcpy(rt->fn, fns, sizeof fns);
  rt->prefix = len >= 2 && !strcmp(path + len - 2, "/*");
  snprintf(rt->path, sizeof rt->path, "%.*s", (int)(rt->prefix ? len - 2 : len), path);

  if (rt->prefix) {
    /* All prefix routes share libcoap's one unknown-resource handler,
     * which then picks the longest matching prefix. */
    if (!s->unknown) {
      s->unknown = coap_resource_unknown_init(dispatch);
      if (!s->unknown)
        return NULL;
      for (int i = 0; i < 4; i++)
        coap_register_request_handler(s->unknown, methods[i], dispatch);
      s->unknown_route.srv = s;
      s->unknown_route.prefix = -1;
      coap_resource_set_userdata(s->unknown, &s->unknown_route);
      coap_add_resource(s->ctx, s->unknown);
    }
    s->nroutes++;
    return s->unknown;
  }
  r = make_resource(s, rt->path, 0);
  if (!r)
    return NULL;
  for (int i = 0; i < 4; i++)
    if (fns[i])
      coap_register_request_handler(r, methods[i], dispatch);
  if (observable)
    coap_resource_set_get_observable(r, 1);   /* libcoap adds ;obs */
  coap_resource_set_userdata(r, rt);
  coap_add_resource(s->ctx, r);
  s->nroutes++;
  return r;
}

void server_notify(coap_resource_t *r)
{
  if (r)
    coap_resource_notify_observers(r, NULL);
}

/* ---- common resources ----------------------------------------------- */

static long proc_status_kb(const char *key)
{
  char line[256];
  long v = -1;
  size_t n = strlen(key);
  FILE *f = fopen("/proc/self/status", "r");

  if (!f)
    return -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, n) && line[n] == ':') {
      v = strtol(line + n + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static void get_health(struct nano_req *r)
{
  struct nano_server *s = r->srv;
  cJSON *o = cJSON_CreateObject();
  int ok = 1;

  if (!o) {
    req_reply_error(r, 500, "out of memory");
    return;
  }
  if (s->health_hook)
    ok = s->health_hook(o, s->health_arg);
  cJSON_AddStringToObject(o, "status", ok ? "ok" : "degraded");
  cJSON_AddStringToObject(o, "role", s->role);
  cJSON_AddNumberToObject(o, "uptime_ms", (double)(now_ms() - s->started_ms));
  req_reply_json(r, ok ? 205 : 503, o);
}

static void get_stats(struct nano_req *r)
{
  struct nano_server *s = r->srv;
  cJSON *o = cJSON_CreateObject();

  if (!o) {
    req_reply_error(r, 500, "out of memory");
    return;
  }
  cJSON_AddStringToObject(o, "role", s->role);
  cJSON_AddStringToObject(o, "version", NANO_VERSION);
  cJSON_AddNumberToObject(o, "pid", (double)getpid());
  cJSON_AddNumberToObject(o, "uptime_ms", (double)(now_ms() - s->started_ms));
  cJSON_AddNumberToObject(o, "requests", (double)s->requests);
  cJSON_AddNumberToObject(o, "responses_2xx", (double)s->by_class[2]);
  cJSON_AddNumberToObject(o, "responses_4xx", (double)s->by_class[4]);
  cJSON_AddNumberToObject(o, "responses_5xx", (double)s->by_class[5]);
  cJSON_AddNumberToObject(o, "rss_kb", (double)proc_status_kb("VmRSS"));
  cJSON_AddNumberToObject(o, "peak_rss_kb", (double)proc_status_kb("VmHWM"));
  if (s->stats_hook)
    s->stats_hook(o, s->stats_arg);
  req_reply_json(r, 205, o);
}

/* ---- endpoints ------------------------------------------------------ */

/* libcoap sets SO_REUSEADDR on its UDP sockets, and Linux lets two such
 * sockets share a port: a second role on a busy port would start and
 * silently receive nothing.  A probe bind without SO_REUSEADDR fails
 * with EADDRINUSE in that case, so the user gets a clear error. */
static int port_is_free(const coap_address_t *addr)
{
  int fd = socket(addr->addr.sa.sa_family, SOCK_DGRAM, 0);
  int ok, off = 0;

  if (fd < 0)
    return -1;
  if (addr->addr.sa.sa_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  ok = bind(fd, &addr->addr.sa, addr->size) == 0;
  int saved = errno;
  close(fd);
  errno = saved;
  return ok ? 1 : 0;
}

static int listen_one(struct nano_server *s, const char *spec, int quiet)
{
  char host[256], err[256], text[80];
  uint16_t port;
  coap_address_t addr;

  if (hostport_parse(spec, host, sizeof host, &port, err, sizeof err) < 0 ||
      uri_resolve(host, port, 1, &addr, err, sizeof err) < 0) {
    log_error("listen=%s %s", spec, err);
    return -1;
  }
  addr_text(&addr, text, sizeof text);
  if (port_is_free(&addr) != 1) {
    if (!quiet)
      log_error("listen=%s cannot bind: %s", text,
                errno == EADDRINUSE ? "address already in use" : strerror(errno));
    return -1;
  }
  if (!coap_new_endpoint(s->ctx, &addr, COAP_PROTO_UDP)) {
    if (!quiet)
      log_error("listen=%s cannot create endpoint", text);
    return -1;
  }
  log_info("listen=%s", text);
  return 0;
}

static int listen_all(struct nano_server *s, const char *spec)
{
  char buf[512], *save = NULL;

  if (!spec || !*spec) {
    /* [::] is dual-stack (libcoap clears IPV6_V6ONLY), so it also takes
     * IPv4; a host or container without IPv6 gets 0.0.0.0. */
    if (listen_one(s, "[::]:5683", 1) == 0)
      return 0;
    return listen_one(s, "0.0.0.0:5683", 0);
  }
  if (strlen(spec) >= sizeof buf) {
    log_error("listen address list too long");
    return -1;
  }
  strcpy(buf, spec);
  for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (listen_one(s, t, 0) < 0)
      return -1;
  return 0;
}

struct nano_server *server_new(const char *role, const char *listen_spec)
{
  struct nano_server *s = calloc(1, sizeof *s);

  if (!s)
    return NULL;
  snprintf(s->role, sizeof s->role, "%s", role);
  snprintf(s->rt, sizeof s->rt, "\"nano.%s\"", role);
  s->max_body = SERVER_DEFAULT_MAX_BODY;
  s->started_ms = now_ms();
  coap_startup();
  coap_log_setup();
  s->ctx = coap_new_context(NULL);
  if (!s->ctx) {
    free(s);
    return NULL;
  }
  coap_context_set_block_mode(s->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  /* Bound the per-peer state a flood of new source ports can create. */
  coap_context_set_max_idle_sessions(s->ctx, 256);
  if (listen_all(s, listen_spec) < 0) {
    coap_free_context(s->ctx);
    free(s);
    return NULL;
  }
  server_route(s, "health", 0, get_health, NULL, NULL, NULL, NULL);
  server_route(s, "stats", 0, get_stats, NULL, NULL, NULL, NULL);
  return s;
}

void server_free(struct nano_server *s)
{
  if (!s)
    return;
  coap_free_context(s->ctx);
  while (s->defers) {
    struct defer *d = s->defers;
    s->defers = d->next;
    free(d);
  }
  free(s);
}

coap_context_t *server_ctx(struct nano_server *s)
{
  return s->ctx;
}

void server_set_max_body(struct nano_server *s, size_t max)
{
  s->max_body = max;
}

void server_set_stats_hook(struct nano_server *s, void (*hook)(cJSON *, void *),
                           void *arg)
{
  s->stats_hook = hook;
  s->stats_arg = arg;
}

void server_set_health_hook(struct nano_server *s, int (*hook)(cJSON *, void *),
                            void *arg)
{
  s->health_hook = hook;
  s->health_arg = arg;
}
