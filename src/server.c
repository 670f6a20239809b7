/* server.c - a role's CoAP server on libcoap (see server.h).
 *
 * libcoap owns the sockets, parsing, deduplication, block-wise answers
 * (RFC 7959 Block2) and observe (RFC 7641).  This file adds routing to
 * plain C handlers, JSON answers with {"error"} on failure, the bounds of
 * what the network may cost a role (struct server_limits), and the
 * resources every role has.
 *
 * Uploads (Block1) are reassembled here, not by libcoap: its
 * COAP_BLOCK_SINGLE_BODY mode gathers a whole body before anyone may look
 * at it, and trusts Size1 for the buffer (4 GiB on a datagram's word).
 * Here a body is refused with 4.13 as soon as Size1 or the bytes received
 * pass --max-body, at most --max-uploads are in progress, and one left
 * unfinished is dropped after --upload-timeout.  A handler still sees
 * only whole bodies.
 *
 * Observe registrations are counted per resource and per role; past a
 * cap the answer is 5.03 (and libcoap drops the registration).  Every
 * notification is confirmable and every observer is notified again each
 * --observe-refresh, so one that is gone fails to acknowledge and is
 * forgotten, and its session with it.
 */
#include "server.h"
#include "keys.h"
#include "loop.h"
#include "nano.h"
#include "uri.h"
#include "wire.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ROUTES 48
#define MAX_UPLOADS 64          /* ceiling of --max-uploads */
#define MAX_DEFERRED 256        /* requests waiting for a later answer */
/* Answers libcoap sends block-wise stay with it, whole, until their last
 * block has gone and 8 s more (the client may ask again), or 93 s for a
 * client that stopped asking (coap_block.c, 4.3.5); it walks all of a
 * session's on every turn.  Unbounded, 16 clients reading a 66 KB list
 * made ae 133 MB in 5 s, and answers to POST /auth that take two blocks
 * cost 40% of its CPU after 4,700/s.  Past --max-held of them (4,096:
 * 512 a second held 8 s each; the 10,000-participant flow of
 * bench/b40-flow.sh needs about 1,600 of ae's meetings for the displays)
 * or MAX_HELD_BYTES, an answer that may take blocks is 5.03 (Max-Age
 * 2).  A body that leaves HELD_ROOM bytes of the session's largest
 * message for the header, token, options and libcoap's reserve (an Echo
 * option) always fits one datagram. */
#define MAX_HELD_BYTES (16u << 20)
/* One peer's session may hold a quarter of either bound, so that one
 * client asking in a loop does not turn every other one away. */
#define HELD_SHARE 4
#define HELD_ROOM 128

struct route {
  struct nano_server *srv;
  char path[128];             /* without the trailing slash and star */
  int prefix;                 /* 1: matches path + "/" + tail;
                                 -1: the dispatcher of all prefix routes */
  int observable;
  nano_handler fn[4];         /* GET, POST, PUT, DELETE */
  void *arg;
};

/* A request answered later (req_defer); libcoap's coap_async holds a
 * pointer to it as app data until the second call of the handler. */
struct defer {
  void *arg;
  coap_async_t *async;
  coap_mid_t mid;             /* req_hold: the request's, for the ACK */
  int on_ack;                 /* req_hold of a confirmable request */
  struct defer *next;
};

/* A block-wise upload being gathered, keyed by the peer's session, the
 * path and the Request-Tag (RFC 9175) as RFC 7959 says. */
struct upload {
  coap_session_t *session;    /* referenced while it lasts; NULL: free */
  char path[256];
  uint8_t rtag[8];
  size_t rtag_len;
  uint8_t *buf;
  size_t len, cap;
  uint64_t last_ms;
};

/* An Observe registration libcoap holds; ours only counts them. */
struct observer {
  coap_session_t *session;    /* NULL: a free slot */
  coap_resource_t *resource;
  uint8_t token[8];
  size_t token_len;
};

struct nano_server {
  coap_context_t *ctx;
  char role[32];
  char rt[48];                /* "\"nano.ROLE\"" as link-format wants it */
  size_t max_body;
  int max_body_set;           /* by --max-body: the role's default yields */
  struct server_limits lim;
  struct upload uploads[MAX_UPLOADS];
  struct loop_timer *upload_timer;
  struct observer *observers; /* lim.max_observers slots */
  struct loop_timer *refresh_timer;
  uint64_t refused_body, refused_uploads, refused_observers, refused_held;
  struct bound_log log_body, log_uploads, log_dropped, log_observers, log_deferred,
    log_held;
  int held;                   /* block-wise answers libcoap holds ... */
  size_t held_bytes;          /* ... and their bodies' bytes */
  const struct keyring *keys; /* DTLS with these keys; NULL: plain CoAP */
  coap_bin_const_t psk_reply; /* what psk_for() answers libcoap */
  const struct access_rule *access;
  struct denied { char identity[KEY_ID_MAX + 1]; char path[64]; } denied[64];
  int ndenied;
  uint64_t refused_access;
  struct bound_log log_unknown_id, log_denied;
  uint64_t started_ms;
  uint64_t requests, by_class[6];
  struct route routes[MAX_ROUTES];
  int nroutes;
  coap_resource_t *unknown;   /* libcoap's unknown resource ... */
  struct route unknown_route; /* ... whose userdata picks a prefix route */
  void (*stats_hook)(cJSON *, void *);
  void *stats_arg;
  int (*health_hook)(cJSON *, void *);
  void (*request_hook)(const struct nano_req *, void *);
  void *request_arg;
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
  log_msg(level <= COAP_LOG_ERR ? NLOG_ERROR : level <= COAP_LOG_WARN ? NLOG_WARN :
          NLOG_DEBUG, "libcoap: %s", line);
}

static void coap_log_setup(void)
{
  coap_set_log_handler(coap_log_to_ours);
  coap_set_log_level(log_level() >= NLOG_DEBUG ? COAP_LOG_DEBUG :
                     log_level() >= NLOG_WARN ? COAP_LOG_WARN : COAP_LOG_ERR);
}

/* ---- replies ----------------------------------------------------------- */

static void count_reply(struct nano_req *r, int code)
{
  r->code = code;
  if (code / 100 < 6)
    r->srv->by_class[code / 100]++;
}

/* What one peer's session holds.  The record lives while it holds any:
 * libcoap releases a session's answers after its DEL event. */
struct session_held {
  int n;
  size_t bytes;
};

/* A body handed to libcoap's block-wise machinery, counted against the
 * server's bounds, and its session's share, until libcoap lets go of it. */
struct held {
  struct nano_server *srv;
  struct session_held *sh;    /* NULL: fits one datagram, let go at once */
  size_t len;
  uint8_t data[];
};

static int may_take_blocks(const coap_session_t *session, size_t len)
{
  return len + HELD_ROOM > coap_session_max_pdu_size(session);
}

int req_can_hold(const struct nano_req *r, size_t len)
{
  const struct nano_server *s = r->srv;
  const struct session_held *sh = coap_session_get_app_data(r->session);
  int share = s->lim.max_held / HELD_SHARE;

  if (s->held >= s->lim.max_held || s->held_bytes + len > MAX_HELD_BYTES)
    return 0;
  return !sh || (sh->n < (share > 0 ? share : 1) &&
                 sh->bytes + len <= MAX_HELD_BYTES / HELD_SHARE);
}

static void free_large(coap_session_t *session, void *app_ptr)
{
  struct held *h = app_ptr;

  h->srv->held--;
  h->srv->held_bytes -= h->len;
  if (h->sh) {
    h->sh->n--;
    h->sh->bytes -= h->len;
    if (!h->sh->n) {
      coap_session_set_app_data(session, NULL);
      free(h->sh);
    }
  }
  free(h);
}

/* Count h against its session's share; -1 when out of memory. */
static int hold_in_session(coap_session_t *session, struct held *h)
{
  struct session_held *sh = coap_session_get_app_data(session);

  if (!sh) {
    if (!(sh = calloc(1, sizeof *sh)))
      return -1;
    coap_session_set_app_data(session, sh);
  }
  sh->n++;
  sh->bytes += h->len;
  h->sh = sh;
  return 0;
}

/* A 2.xx body, through libcoap's large-response path (Block2 when it
 * does not fit one datagram) and within the bounds on held answers. */
static void reply_body(struct nano_req *r, int code, uint16_t format, const void *data,
                       size_t len)
{
  struct nano_server *srv = r->srv;
  int blocks = may_take_blocks(r->session, len);
  struct held *h;

  if (blocks && !req_can_hold(r, len)) {
    srv->refused_held++;
    log_bound(&srv->log_held, "path=%s answer of %zu bytes refused: %d block-wise "
              "answers (%zu KB) wait for their clients, a quarter of the bound "
              "at most for one", r->path, len, srv->held, srv->held_bytes / 1024);
    req_set_max_age(r, 2);
    req_reply_error(r, 503, "busy: %d answers wait for their clients to fetch them, "
                    "try again later", srv->held);
    return;
  }
  h = malloc(sizeof *h + len);
  if (h) {
    h->srv = srv;
    h->sh = NULL;
    h->len = len;
  }
  if (!h || (blocks && hold_in_session(r->session, h) < 0)) {
    free(h);
    req_reply_error(r, 500, "out of memory");
    return;
  }
  count_reply(r, code);
  coap_pdu_set_code(r->response, COAP_RESPONSE_CODE(code));
  memcpy(h->data, data, len);
  srv->held++;
  srv->held_bytes += len;
  /* h belongs to libcoap from here on, also when the call fails: it has
   * released it through free_large already (and set the answer's code,
   * 4.00 for a block past the end), so freeing it here would free it
   * twice.  An answer that fits one datagram is released before the
   * call returns. */
  if (!coap_add_data_large_response(r->resource, r->session, r->request,
                                    r->response, r->query, format, -1, 0, len,
                                    h->data, free_large, h)) {
    int got = coap_pdu_get_code(r->response);
    srv->by_class[2]--;
    r->code = 0;
    count_reply(r, got ? (got >> 5) * 100 + (got & 0x1f) : 500);
    if (!got)
      coap_pdu_set_code(r->response, COAP_RESPONSE_CODE(500));
  }
}

void req_reply(struct nano_req *r, int code, uint16_t format, const void *data,
               size_t len)
{
  if (r->code) {
    log_warn("path=%s second reply %d ignored", r->path, code);
    return;
  }
  if (len && code / 100 == 2) {
    reply_body(r, code, format, data, len);
    return;
  }
  count_reply(r, code);
  coap_pdu_set_code(r->response, COAP_RESPONSE_CODE(code));
  if (!len)
    return;
  /* Error bodies are short and go in one datagram; libcoap's
   * large-response path would also make an error answer to an Observe
   * request a registration. */
  uint8_t buf[4];
  coap_add_option(r->response, COAP_OPTION_CONTENT_FORMAT,
                  coap_encode_var_safe(buf, sizeof buf, format), buf);
  coap_add_data(r->response, len, data);
}

void req_set_max_age(struct nano_req *r, unsigned secs)
{
  uint8_t buf[4];
  coap_add_option(r->response, COAP_OPTION_MAXAGE,
                  coap_encode_var_safe(buf, sizeof buf, secs), buf);
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

int req_query_int(struct nano_req *r, const char *name, long long def, long long min,
                  long long max, long long *out)
{
  char buf[24], *end;
  int rc = req_query(r, name, buf, sizeof buf);

  *out = def;
  if (rc == 0)
    return 0;
  if (rc > 0 && buf[0] >= '0' && buf[0] <= '9') {
    long long v;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (!errno && !*end && v >= min && v <= max) {
      *out = v;
      return 0;
    }
  }
  req_reply_error(r, 400, "query '%s' must be an integer in [%lld, %lld]", name, min, max);
  return -1;
}

/* ---- bounds ------------------------------------------------------------ */

static unsigned secs_of(uint64_t ms)
{
  return (unsigned)((ms + 999) / 1000);
}

/* ---- uploads (Block1) ---------------------------------------------------- */

static void upload_drop(struct upload *u)
{
  if (!u->session)
    return;
  coap_session_release(u->session);
  free(u->buf);
  memset(u, 0, sizeof *u);
}

static int uploads_expire(struct nano_server *s)
{
  uint64_t now = now_ms();
  int left = 0;

  for (int i = 0; i < MAX_UPLOADS; i++) {
    struct upload *u = &s->uploads[i];
    if (!u->session)
      continue;
    if (now - u->last_ms >= s->lim.upload_timeout_ms) {
      log_bound(&s->log_dropped, "path=%s unfinished upload of %zu bytes dropped "
                "after %u s", u->path, u->len, secs_of(s->lim.upload_timeout_ms));
      upload_drop(u);
    } else {
      left++;
    }
  }
  return left;
}

static void upload_timer_fn(void *arg)
{
  struct nano_server *s = arg;

  s->upload_timer = NULL;
  if (uploads_expire(s))
    s->upload_timer = loop_after(s->lim.upload_timeout_ms / 2 + 1, upload_timer_fn, s);
}

static struct upload *upload_find(struct nano_server *s, coap_session_t *session,
                                  const char *path, const uint8_t *rtag,
                                  size_t rtag_len)
{
  for (int i = 0; i < MAX_UPLOADS; i++) {
    struct upload *u = &s->uploads[i];
    if (u->session == session && u->rtag_len == rtag_len &&
        !memcmp(u->rtag, rtag, rtag_len) && !strcmp(u->path, path))
      return u;
  }
  return NULL;
}

static struct upload *upload_new(struct nano_server *s, coap_session_t *session,
                                 const char *path, const uint8_t *rtag,
                                 size_t rtag_len)
{
  struct upload *slot = NULL;
  int busy = 0;

  uploads_expire(s);
  for (int i = 0; i < MAX_UPLOADS; i++) {
    if (s->uploads[i].session)
      busy++;
    else if (!slot)
      slot = &s->uploads[i];
  }
  if (busy >= s->lim.max_uploads || !slot)
    return NULL;
  slot->session = coap_session_reference(session);
  snprintf(slot->path, sizeof slot->path, "%s", path);
  memcpy(slot->rtag, rtag, rtag_len);
  slot->rtag_len = rtag_len;
  slot->last_ms = now_ms();
  if (!s->upload_timer)
    s->upload_timer = loop_after(s->lim.upload_timeout_ms / 2 + 1, upload_timer_fn, s);
  return slot;
}

static void refuse_too_large(struct nano_req *r, unsigned long long size)
{
  struct nano_server *s = r->srv;
  uint8_t buf[8];

  s->refused_body++;
  log_bound(&s->log_body, "path=%s body of %llu bytes refused: --max-body is %zu",
            r->path, size, s->max_body);
  /* RFC 7959 2.9.3: Size1 in a 4.13 tells the largest body taken. */
  coap_add_option(r->response, COAP_OPTION_SIZE1,
                  coap_encode_var_safe8(buf, sizeof buf, s->max_body), buf);
  req_reply_error(r, 413, "body of %llu bytes exceeds the limit of %zu",
                  size, s->max_body);
}

static int append(struct upload *u, const uint8_t *data, size_t len, size_t hint,
                  size_t max)
{
  size_t want = u->len + len;

  if (want > u->cap) {
    size_t cap = u->cap ? u->cap * 2 : 1024;
    if (hint > cap)
      cap = hint;
    if (cap < want)
      cap = want;
    if (cap > max)
      cap = max;
    uint8_t *b = realloc(u->buf, cap);
    if (!b)
      return -1;
    u->buf = b;
    u->cap = cap;
  }
  if (len)
    memcpy(u->buf + u->len, data, len);
  u->len = want;
  return 0;
}

/* Gather a request's body.  Returns 1 with r->body set (and *done the
 * upload to drop after the handler, if any), or 0 after answering:
 * 2.31 Continue for a block that is not the last one, or an error. */
static int gather_body(struct nano_req *r, struct upload **done)
{
  struct nano_server *s = r->srv;
  const uint8_t *data = NULL, *rtag = NULL;
  size_t len = 0, offset = 0, total = 0, rtag_len = 0, size1 = 0;
  coap_opt_iterator_t it;
  coap_opt_t *opt;
  coap_block_b_t b;
  struct upload *u;

  *done = NULL;
  coap_get_data_large(r->request, &len, &data, &offset, &total);
  opt = coap_check_option(r->request, COAP_OPTION_RTAG, &it);
  if (opt && coap_opt_length(opt) <= sizeof u->rtag) {
    rtag = coap_opt_value(opt);
    rtag_len = coap_opt_length(opt);
  }
  u = upload_find(s, r->session, r->path, rtag ? rtag : (const uint8_t *)"", rtag_len);
  if (!coap_get_block_b(r->session, r->request, COAP_OPTION_BLOCK1, &b) ||
      (b.num == 0 && !b.m)) {
    /* The whole body in this datagram; it ends any upload it restarts. */
    if (u)
      upload_drop(u);
    if (len > s->max_body) {
      refuse_too_large(r, len);
      return 0;
    }
    r->body = data;
    r->body_len = len;
    return 1;
  }
  opt = coap_check_option(r->request, COAP_OPTION_SIZE1, &it);
  if (opt)
    size1 = coap_decode_var_bytes8(coap_opt_value(opt), coap_opt_length(opt));
  offset = (size_t)b.num << (b.szx + 4);
  if (size1 > s->max_body || offset > s->max_body || len > s->max_body - offset) {
    if (u)
      upload_drop(u);
    refuse_too_large(r, size1 > offset + len ? size1 : (unsigned long long)offset + len);
    return 0;
  }
  if (b.num == 0) {
    if (u)
      upload_drop(u);
    u = upload_new(s, r->session, r->path, rtag ? rtag : (const uint8_t *)"", rtag_len);
    if (!u) {
      s->refused_uploads++;
      log_bound(&s->log_uploads, "path=%s upload refused: %d already in progress "
                "(--max-uploads)", r->path, s->lim.max_uploads);
      req_set_max_age(r, secs_of(s->lim.upload_timeout_ms));
      req_reply_error(r, 503, "too many uploads in progress, try again later");
      return 0;
    }
  } else if (!u || u->len != offset) {
    /* Out of order, a block missed, or an upload we dropped. */
    size_t have = u ? u->len : 0;
    if (u)
      upload_drop(u);
    req_reply_error(r, 408, "incomplete block-wise body: block %u at byte %zu, "
                    "%zu bytes received before; start again at block 0",
                    (unsigned)b.num, offset, have);
    return 0;
  }
  if (append(u, data, len, size1, s->max_body) < 0) {
    upload_drop(u);
    req_reply_error(r, 500, "out of memory");
    return 0;
  }
  u->last_ms = now_ms();
  if (b.m) {
    /* libcoap has put the Block1 option into the answer already. */
    req_reply(r, 231, 0, NULL, 0);
    return 0;
  }
  r->body = u->buf;
  r->body_len = u->len;
  *done = u;
  return 1;
}

/* ---- observers --------------------------------------------------------- */

static void observer_count(struct nano_server *s, coap_resource_t *res, int *of_res,
                           int *all)
{
  *of_res = *all = 0;
  for (int i = 0; i < s->lim.max_observers; i++)
    if (s->observers[i].session) {
      (*all)++;
      if (s->observers[i].resource == res)
        (*of_res)++;
    }
}

static struct observer *observer_find(struct nano_server *s, coap_session_t *session,
                                      coap_resource_t *res)
{
  for (int i = 0; i < s->lim.max_observers; i++)
    if (s->observers[i].session == session && s->observers[i].resource == res)
      return &s->observers[i];
  return NULL;
}

static void observer_forget_session(struct nano_server *s, coap_session_t *session)
{
  for (int i = 0; i < s->lim.max_observers; i++)
    if (s->observers[i].session == session)
      memset(&s->observers[i], 0, sizeof s->observers[i]);
}

/* A GET with Observe: 0 registers (libcoap has added the registration
 * before calling us, and drops it again when we answer 5.03), 1 ends one.
 * libcoap also calls the handler for each notification with the stored
 * request, whose Observe is 0: that finds its own entry.  Returns 0
 * after answering 5.03. */
static int observe_admit(struct nano_req *r, struct route *rt)
{
  struct nano_server *s = r->srv;
  coap_opt_iterator_t it;
  coap_opt_t *opt;
  coap_bin_const_t tok;
  struct observer *o;
  int of_res, all;

  if (r->method != COAP_REQUEST_GET || !rt->observable || !s->observers)
    return 1;
  opt = coap_check_option(r->request, COAP_OPTION_OBSERVE, &it);
  if (!opt)
    return 1;
  o = observer_find(s, r->session, r->resource);
  if (coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) != COAP_OBSERVE_ESTABLISH) {
    if (o)
      memset(o, 0, sizeof *o);
    return 1;
  }
  tok = coap_pdu_get_token(r->request);
  if (!o) {
    observer_count(s, r->resource, &of_res, &all);
    if (all >= s->lim.max_observers || of_res >= s->lim.max_observers_resource) {
      s->refused_observers++;
      log_bound(&s->log_observers, "path=%s observe refused: %d on it, %d in all "
                "(--max-observers-resource %d, --max-observers %d)", r->path, of_res,
                all, s->lim.max_observers_resource, s->lim.max_observers);
      req_set_max_age(r, secs_of(s->lim.observe_refresh_ms));
      req_reply_error(r, 503, "too many observers, try again later");
      return 0;
    }
    for (int i = 0; i < s->lim.max_observers && !o; i++)
      if (!s->observers[i].session)
        o = &s->observers[i];
    o->session = r->session;
    o->resource = r->resource;
    /* A dead observer shows when a notification is not acknowledged:
     * two retransmissions (about 14 s) instead of four (about 45 s). */
    coap_session_set_max_retransmit(r->session, 2);
  }
  o->token_len = tok.length <= sizeof o->token ? tok.length : 0;
  memcpy(o->token, tok.s, o->token_len);
  return 1;
}

void server_nack(coap_session_t *session, const coap_pdu_t *sent)
{
  struct nano_server *s = coap_context_get_app_data(coap_session_get_context(session));
  coap_bin_const_t tok = coap_pdu_get_token(sent);

  if (!s || !s->observers)
    return;
  for (int i = 0; i < s->lim.max_observers; i++) {
    struct observer *o = &s->observers[i];
    if (o->session == session && o->token_len == tok.length &&
        !memcmp(o->token, tok.s, tok.length)) {
      log_debug("observer gone (a notification was not acknowledged)");
      memset(o, 0, sizeof *o);
    }
  }
}

static int on_event(coap_session_t *session, const coap_event_t event)
{
  struct nano_server *s = coap_context_get_app_data(coap_session_get_context(session));

  if (s && event == COAP_EVENT_SERVER_SESSION_DEL && s->observers)
    observer_forget_session(s, session);
  return 0;
}

static void refresh_timer_fn(void *arg)
{
  struct nano_server *s = arg;

  /* Each observed resource notifies its observers again (confirmable):
   * one that is gone does not acknowledge and libcoap drops it. */
  for (int i = 0; i < s->lim.max_observers; i++) {
    coap_resource_t *res = s->observers[i].resource;
    int seen = 0;
    if (!s->observers[i].session)
      continue;
    for (int j = 0; j < i && !seen; j++)
      seen = s->observers[j].session && s->observers[j].resource == res;
    if (!seen)
      coap_resource_notify_observers(res, NULL);
  }
  s->refresh_timer = loop_after(s->lim.observe_refresh_ms, refresh_timer_fn, s);
}

/* ---- deferred answers ------------------------------------------------ */

static int defer(struct nano_req *r, uint64_t ms, void *arg, int on_ack)
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
  /* Each waiting request holds its arg and libcoap's copy of it: a
   * flood of them must not grow the role without bound. */
  if (server_deferred(r->srv) >= MAX_DEFERRED) {
    log_bound(&r->srv->log_deferred, "path=%s request refused: %d already wait "
              "for an answer", r->path, MAX_DEFERRED);
    req_set_max_age(r, 1);
    req_reply_error(r, 503, "too many requests waiting, try again later");
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
  if (on_ack && coap_pdu_get_type(r->request) == COAP_MESSAGE_CON) {
    /* An empty NON is dropped by libcoap: no empty ACK goes out now, and
     * the answer takes the request's message id, a piggybacked ACK. */
    d->on_ack = 1;
    d->mid = coap_pdu_get_mid(r->request);
    coap_pdu_set_type(r->response, COAP_MESSAGE_NON);
  }
  d->next = r->srv->defers;
  r->srv->defers = d;
  coap_async_set_app_data(a, d);
  r->deferring = 1;
  return 0;
}

int req_defer(struct nano_req *r, uint64_t ms, void *arg)
{
  return defer(r, ms, arg, 0);
}

int req_hold(struct nano_req *r, uint64_t ms, void *arg)
{
  return defer(r, ms, arg, 1);
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

void server_answer_deferred_arg(struct nano_server *s, const void *arg)
{
  for (struct defer *d = s->defers; d; d = d->next)
    if (d->arg == arg)
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
 * is up.  A client's retransmission that arrives before that time gets
 * an empty ACK from libcoap (so a held request becomes a separate
 * response then); one that arrives just after, before libcoap's own
 * call, gets the answer instead, and libcoap's call that follows finds
 * the app data gone and its empty answer is dropped (an empty NON is
 * never sent). */
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
  /* libcoap makes the answer to its copy of a confirmable request a
   * separate CON (with the copy's new message id); held, nothing was
   * sent for the request yet, so it is the request's ACK instead. */
  if (d->on_ack && coap_pdu_get_type(response) == COAP_MESSAGE_CON) {
    coap_pdu_set_type(response, COAP_MESSAGE_ACK);
    coap_pdu_set_mid(response, d->mid);
  }
  req->deferred = 1;
  req->defer_arg = d->arg;
  free(d);
  return 1;
}

/* ---- access ------------------------------------------------------------ */

/* Does word list `words` (space separated, '*' at the end of a word
 * matching any suffix) hold s? */
static int words_match(const char *words, const char *s)
{
  size_t n = strlen(s);

  while (*words) {
    size_t w = strcspn(words, " ");
    if (w && words[w - 1] == '*' ? n >= w - 1 && !strncmp(s, words, w - 1)
                                 : w == n && !strncmp(s, words, n))
      return 1;
    words += w;
    words += strspn(words, " ");
  }
  return 0;
}

static const char *method_name(int method)
{
  switch (method) {
  case COAP_REQUEST_GET: return "GET";
  case COAP_REQUEST_POST: return "POST";
  case COAP_REQUEST_PUT: return "PUT";
  case COAP_REQUEST_DELETE: return "DELETE";
  default: return "OTHER";
  }
}

static int path_match(const char *pattern, const char *path)
{
  size_t n = strlen(pattern);

  if (!strcmp(pattern, "*"))
    return 1;
  if (n >= 2 && !strcmp(pattern + n - 2, "/*"))
    return !strncmp(path, pattern, n - 1) && path[n - 1];
  return !strcmp(pattern, path);
}

static int allowed(const struct nano_server *s, int method, const char *path,
                   const char *identity)
{
  const char *m = method_name(method);

  if (method == COAP_REQUEST_GET && !strcmp(path, "health"))
    return 1;
  if (!identity)
    return 0;
  if (method == COAP_REQUEST_GET && words_match("admin admin-*", identity))
    return 1;
  for (const struct access_rule *r = s->access; r && r->methods; r++)
    if ((!strcmp(r->methods, "*") || words_match(r->methods, m)) && path_match(r->path, path))
      return words_match(r->who, identity);
  return 0;
}

/* Log a refusal the first time an identity is refused a path; past the
 * table's size, once a minute. */
static void log_denied(struct nano_server *s, const char *identity, const char *path,
                       int method)
{
  for (int i = 0; i < s->ndenied; i++)
    if (!strcmp(s->denied[i].identity, identity) && !strcmp(s->denied[i].path, path))
      return;
  if (s->ndenied < (int)(sizeof s->denied / sizeof s->denied[0])) {
    struct denied *d = &s->denied[s->ndenied++];
    snprintf(d->identity, sizeof d->identity, "%s", identity);
    snprintf(d->path, sizeof d->path, "%s", path);
    log_warn("identity=%s method=%s path=%s refused: no right", identity,
             method_name(method), path);
    return;
  }
  log_bound(&s->log_denied, "identity=%s method=%s path=%s refused: no right", identity,
            method_name(method), path);
}

/* 1 when the request may go on, else 0 after answering 4.01 or 4.03. */
static int access_check(struct nano_req *r)
{
  struct nano_server *s = r->srv;

  if (!s->keys || allowed(s, r->method, r->path, r->identity))
    return 1;
  s->refused_access++;
  if (!r->identity) {
    req_reply_error(r, 401, "this needs DTLS with a pre-shared key (coaps://, port 5684)");
    return 0;
  }
  log_denied(s, r->identity, r->path, r->method);
  req_reply_error(r, 403, "%s may not %s /%s", r->identity, method_name(r->method),
                  r->path);
  return 0;
}

void server_set_access(struct nano_server *s, const struct access_rule *rules)
{
  s->access = rules;
}

void access_print(FILE *out, const struct access_rule *rules)
{
  fprintf(out, "\naccess (with keys; a request not listed is 4.01 without DTLS, 4.03 "
          "for an identity without the right):\n");
  fprintf(out, "  %-14s %-22s %s\n", "GET", "health", "anyone (also plain, on loopback)");
  fprintf(out, "  %-14s %-22s %s\n", "GET", "*", "admin admin-*");
  for (const struct access_rule *r = rules; r && r->methods; r++)
    fprintf(out, "  %-14s %-22s %s\n", r->methods, r->path, r->who);
}

/* The caller's identity, as libcoap's DTLS layer checked it. */
static const char *session_identity(coap_session_t *session, char *buf, size_t size)
{
  const coap_bin_const_t *id;

  if (coap_session_get_proto(session) != COAP_PROTO_DTLS)
    return NULL;
  id = coap_session_get_psk_identity(session);
  if (!id || !id->length || id->length >= size ||
      !key_identity_ok((const char *)id->s, id->length))
    return NULL;
  memcpy(buf, id->s, id->length);
  buf[id->length] = '\0';
  return buf;
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

/* Uri-Path and Uri-Query options are bytes on the wire: one with a NUL,
 * a control character or invalid UTF-8 is refused before any handler,
 * whatever libcoap would make of it in the path text. */
static const char *bad_uri_option(const coap_pdu_t *request)
{
  coap_opt_iterator_t it;
  coap_opt_filter_t f;
  coap_opt_t *opt;

  coap_option_filter_clear(&f);
  coap_option_filter_set(&f, COAP_OPTION_URI_PATH);
  coap_option_filter_set(&f, COAP_OPTION_URI_QUERY);
  coap_option_iterator_init(request, &it, &f);
  while ((opt = coap_option_next(&it))) {
    const char *v = (const char *)coap_opt_value(opt);
    size_t n = coap_opt_length(opt);
    if (!wire_utf8_ok(v, n))
      return "is not valid UTF-8";
    if (wire_has_control(v, n))
      return "contains a NUL or control character";
  }
  return NULL;
}

static void dispatch(coap_resource_t *resource, coap_session_t *session,
                     const coap_pdu_t *request, const coap_string_t *query,
                     coap_pdu_t *response)
{
  struct route *rt = coap_resource_get_userdata(resource);
  struct nano_server *s;
  struct nano_req req;
  coap_string_t *uri_path = coap_get_uri_path(request);
  char path[256] = "", identity[KEY_ID_MAX + 1];
  size_t total = 0, offset = 0;
  struct upload *upload = NULL;
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
  if (uri_path && uri_path->length >= sizeof path) {
    coap_delete_string(uri_path);
    req_reply_error(&req, 414, "path longer than %zu bytes", sizeof path - 1);
    return;
  }
  if (uri_path) {
    memcpy(path, uri_path->s, uri_path->length);
    path[uri_path->length] = '\0';
  }
  coap_delete_string(uri_path);

  {
    const char *why = bad_uri_option(request);
    if (why) {
      req_reply_error(&req, 400, "the request's path or query %s", why);
      return;
    }
  }
  if (rt->prefix < 0) {
    rt = match_prefix(s, path, &req.tail);
    if (!rt) {
      req_reply_error(&req, 404, "no resource /%s", path);
      return;
    }
  }
  req.arg = rt->arg;
  req.identity = session_identity(session, identity, sizeof identity);
  if (!req.deferred && !access_check(&req))
    return;
  mi = method_index(req.method);
  if (mi < 0 || !rt->fn[mi]) {
    req_reply_error(&req, 405, "method not allowed on /%s", path);
    return;
  }
  if (req.deferred) {
    /* libcoap's copy of the request: the handler took what it needed
     * on its first call. */
    coap_get_data_large(request, &req.body_len, &req.body, &offset, &total);
  } else if (!gather_body(&req, &upload)) {
    log_debug("method=%d path=%s code=%d", req.method, path, req.code);
    return;
  }
  if (!observe_admit(&req, rt))
    goto done;
  if (s->request_hook)
    s->request_hook(&req, s->request_arg);
  rt->fn[mi](&req);
  if (req.deferring && !req.code) {
    log_debug("method=%d path=%s deferred", req.method, path);
    goto done;
  }
  if (!req.code) {
    log_error("path=%s handler gave no answer", path);
    req_reply_error(&req, 500, "no answer");
  }
  log_debug("method=%d path=%s code=%d", req.method, path, req.code);
done:
  if (upload)
    upload_drop(upload);
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
  if (observable) {
    coap_resource_set_get_observable(r, 1);   /* libcoap adds ;obs */
    /* Confirmable notifications: an observer that is gone shows. */
    coap_resource_set_mode(r, COAP_RESOURCE_FLAGS_NOTIFY_CON);
    rt->observable = 1;
  }
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
  {
    int uploads = 0, observers = 0;
    for (int i = 0; i < MAX_UPLOADS; i++)
      uploads += s->uploads[i].session != NULL;
    for (int i = 0; s->observers && i < s->lim.max_observers; i++)
      observers += s->observers[i].session != NULL;
    cJSON_AddNumberToObject(o, "uploads", uploads);
    cJSON_AddNumberToObject(o, "observers", observers);
    cJSON_AddNumberToObject(o, "refused_body", (double)s->refused_body);
    cJSON_AddNumberToObject(o, "refused_uploads", (double)s->refused_uploads);
    cJSON_AddNumberToObject(o, "refused_observers", (double)s->refused_observers);
    /* answers held for block-wise fetching, and those refused for it */
    cJSON_AddNumberToObject(o, "held_answers", s->held);
    cJSON_AddNumberToObject(o, "held_kb", (double)(s->held_bytes / 1024));
    cJSON_AddNumberToObject(o, "refused_held", (double)s->refused_held);
    if (s->keys)
      cJSON_AddNumberToObject(o, "refused_access", (double)s->refused_access);
  }
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

static int listen_proto(struct nano_server *s, const char *spec, int quiet,
                        coap_proto_t proto);

static int listen_one(struct nano_server *s, const char *spec, int quiet)
{
  return listen_proto(s, spec, quiet, s->keys ? COAP_PROTO_DTLS : COAP_PROTO_UDP);
}

static int listen_proto(struct nano_server *s, const char *spec, int quiet,
                        coap_proto_t proto)
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
  if (!coap_new_endpoint(s->ctx, &addr, proto)) {
    if (!quiet)
      log_error("listen=%s cannot create endpoint", text);
    return -1;
  }
  log_info("listen=%s%s", text, proto == COAP_PROTO_DTLS ? " dtls" :
           s->keys ? " plain, GET /health only" : "");
  return 0;
}

/* With keys, the plain port answers GET /health on loopback only (the
 * image's HEALTHCHECK, `nano health`): on the first --listen host when it
 * is a loopback address, else on 127.0.0.1; port 5683. */
static void listen_health(struct nano_server *s, const char *spec)
{
  char host[256] = "", err[256], first[300], plain[300];
  uint16_t port = COAPS_DEFAULT_PORT;

  if (spec && *spec) {
    snprintf(first, sizeof first, "%.*s", (int)strcspn(spec, ","), spec);
    if (hostport_parse(first, host, sizeof host, &port, err, sizeof err) < 0)
      host[0] = '\0';
  }
  if (strncmp(host, "127.", 4) && strcmp(host, "::1") && strcmp(host, "localhost"))
    snprintf(host, sizeof host, "127.0.0.1");
  if (port == COAP_DEFAULT_PORT)
    return;                   /* DTLS itself is on 5683 there */
  snprintf(plain, sizeof plain, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
           COAP_DEFAULT_PORT);
  if (listen_proto(s, plain, 1, COAP_PROTO_UDP) < 0)
    log_warn("listen=%s (plain, for GET /health) is taken: no health on it", plain);
}

static int listen_all(struct nano_server *s, const char *spec)
{
  char buf[512], *save = NULL;

  if (!spec || !*spec) {
    /* [::] is dual-stack (libcoap clears IPV6_V6ONLY), so it also takes
     * IPv4; a host or container without IPv6 gets 0.0.0.0. */
    if (listen_one(s, s->keys ? "[::]:5684" : "[::]:5683", 1) == 0)
      return 0;
    return listen_one(s, s->keys ? "0.0.0.0:5684" : "0.0.0.0:5683", 0);
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
  return server_new_keys(role, listen_spec, NULL);
}

/* libcoap asks which key an identity has; NULL fails the handshake. */
static const coap_bin_const_t *psk_for(coap_bin_const_t *identity,
                                       coap_session_t *session, void *arg)
{
  struct nano_server *s = arg;
  const struct psk *k = identity ?
    keyring_find(s->keys, (const char *)identity->s, identity->length) : NULL;

  (void)session;
  if (!k) {
    char id[KEY_ID_MAX + 1];
    size_t n = identity && identity->length < sizeof id ? identity->length : 0;
    memcpy(id, identity ? identity->s : (const uint8_t *)"", n);
    id[n] = '\0';
    for (size_t i = 0; i < n; i++)
      if (id[i] < 0x21 || id[i] > 0x7e)
        id[i] = '?';
    log_bound(&s->log_unknown_id, "identity=%s unknown: handshake refused", id);
    return NULL;
  }
  s->psk_reply.s = k->key;
  s->psk_reply.length = k->key_len;
  return &s->psk_reply;
}

static int setup_psk(struct nano_server *s)
{
  coap_dtls_spsk_t setup;

  if (!coap_dtls_is_supported()) {
    log_error("this build of libcoap has no DTLS");
    return -1;
  }
  memset(&setup, 0, sizeof setup);
  setup.version = COAP_DTLS_SPSK_SETUP_VERSION;
  setup.validate_id_call_back = psk_for;
  setup.id_call_back_arg = s;
  if (!coap_context_set_psk2(s->ctx, &setup)) {
    log_error("cannot set up DTLS with pre-shared keys");
    return -1;
  }
  return 0;
}

struct nano_server *server_new_keys(const char *role, const char *listen_spec,
                                    const struct keyring *keys)
{
  struct nano_server *s = calloc(1, sizeof *s);

  if (!s)
    return NULL;
  s->keys = keys && keys->n ? keys : NULL;
  snprintf(s->role, sizeof s->role, "%s", role);
  snprintf(s->rt, sizeof s->rt, "\"nano.%s\"", role);
  s->max_body = SERVER_DEFAULT_MAX_BODY;
  s->started_ms = now_ms();
  {
    struct server_limits def = SERVER_LIMITS_DEFAULT;
    if (server_set_limits(s, &def) < 0) {
      free(s);
      return NULL;
    }
  }
  coap_startup();
  coap_log_setup();
  s->ctx = coap_new_context(NULL);
  if (!s->ctx) {
    if (s->refresh_timer)
      loop_cancel(s->refresh_timer);
    free(s->observers);
    free(s);
    return NULL;
  }
  coap_context_set_block_mode(s->ctx, SERVER_BLOCK_MODE);
  coap_context_set_app_data(s->ctx, s);
  coap_register_event_handler(s->ctx, on_event);
  /* Bound the per-peer state a flood of new source ports can create. */
  coap_context_set_max_idle_sessions(s->ctx, 256);
  if ((s->keys && setup_psk(s) < 0) || listen_all(s, listen_spec) < 0) {
    coap_free_context(s->ctx);
    if (s->refresh_timer)
      loop_cancel(s->refresh_timer);
    free(s->observers);
    free(s);
    return NULL;
  }
  if (s->keys)
    listen_health(s, listen_spec);
  server_route(s, "health", 0, get_health, NULL, NULL, NULL, NULL);
  server_route(s, "stats", 0, get_stats, NULL, NULL, NULL, NULL);
  return s;
}

void server_free(struct nano_server *s)
{
  if (!s)
    return;
  for (int i = 0; i < MAX_UPLOADS; i++)
    upload_drop(&s->uploads[i]);
  if (s->upload_timer)
    loop_cancel(s->upload_timer);
  if (s->refresh_timer)
    loop_cancel(s->refresh_timer);
  coap_free_context(s->ctx);
  free(s->observers);
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
  if (!s->max_body_set)
    s->max_body = max;
}

int server_set_limits(struct nano_server *s, const struct server_limits *l)
{
  struct observer *obs = NULL;

  if (l->max_observers > 0) {
    obs = calloc((size_t)l->max_observers, sizeof *obs);
    if (!obs)
      return -1;
  }
  /* Registrations made so far are forgotten by the count, not by
   * libcoap: set the limits before serving. */
  free(s->observers);
  s->observers = obs;
  s->lim = *l;
  if (s->lim.max_uploads > MAX_UPLOADS)
    s->lim.max_uploads = MAX_UPLOADS;
  if (l->max_body) {
    s->max_body = l->max_body;
    s->max_body_set = 1;
  }
  if (s->refresh_timer)
    loop_cancel(s->refresh_timer);
  s->refresh_timer = NULL;
  if (obs && l->observe_refresh_ms)
    s->refresh_timer = loop_after(l->observe_refresh_ms, refresh_timer_fn, s);
  return 0;
}

void server_set_request_hook(struct nano_server *s,
                             void (*hook)(const struct nano_req *, void *), void *arg)
{
  s->request_hook = hook;
  s->request_arg = arg;
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
