/* kiosk.c - mrs's room display as a web page over libmicrohttpd (kiosk.h). */
#include "kiosk.h"
#include "loop.h"
#include "nano.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RETRY_MS "2000"            /* the page's reconnect delay ("retry:") */
#define MEMORY_LIMIT (8 * 1024)    /* per connection: headers in, answer out */
#define URL_MAX 1024
#define SNDBUF (32 * 1024)         /* per connection; a reader that stalls fills it */
#define TICK_MS 500                /* the watchdog of requests not sent in time */

extern const char kiosk_html[], kiosk_js[], kiosk_css[];

/* A state as it goes out: "data: JSON\n\n", shared by the streams still
 * sending it. */
struct snap {
  int refs;
  size_t len;
  char data[];
};

/* One GET /events. */
struct stream {
  struct MHD_Connection *c;
  int fd;
  const char *out;            /* what is being sent: a snap's data or a literal */
  size_t outlen, off;
  struct snap *snap;          /* held while out points into it */
  unsigned version;           /* of the last state taken */
  int hello, keepalive, suspended;
  struct stream *prev, *next;
};

/* One TCP connection (MHD's socket context). */
struct conn {
  int fd;
  int busy;                   /* a request reached the handler and is not done */
  int dropped;                /* shut down by the watchdog */
  unsigned long done;         /* requests answered on it */
  uint64_t since;             /* accepted, or its last request done */
  struct conn *prev, *next;
};

static struct {
  struct MHD_Daemon *d;
  int epfd;
  struct loop_timer *mhd_timer, *tick_timer, *keepalive_timer;
  struct kiosk_config cfg;
  char *token;
  struct snap *cur;
  unsigned version;
  struct stream *streams;
  struct conn *conns;
  int nconns, nstreams, stopping;
  unsigned long requests, refused, forbidden, not_allowed, dropped, events;
  struct bound_log log_refused, log_no_reader, log_no_request, log_forbidden;
} K = { .epfd = -1 };

/* ---- HOST:PORT ----------------------------------------------------------- */

int kiosk_listen_parse(const char *spec, struct sockaddr_storage *sa, socklen_t *len,
                       int *loopback, char *err, size_t errsize)
{
  char host[64];
  const char *colon, *h = spec;
  size_t hlen;
  char *end;
  long port;

  memset(sa, 0, sizeof *sa);
  if (*spec == '[') {
    const char *close = strchr(spec, ']');
    if (!close || close[1] != ':')
      goto bad;
    h = spec + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(spec, ':');
    if (!colon)
      goto bad;
    hlen = (size_t)(colon - spec);
  }
  if (!hlen || hlen >= sizeof host)
    goto bad;
  memcpy(host, h, hlen);
  host[hlen] = '\0';
  errno = 0;
  port = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || errno || port < 1 || port > 65535)
    goto bad;
  if (!strcmp(host, "localhost"))
    snprintf(host, sizeof host, "127.0.0.1");
  if (*spec != '[') {
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
      goto bad;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    *len = sizeof *in;
    *loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    const uint8_t *a = in6->sin6_addr.s6_addr;
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
      goto bad;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    *len = sizeof *in6;
    *loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
                (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127);
  }
  return 0;
bad:
  snprintf(err, errsize, "'%s' is not HOST:PORT (an IPv4 address, [IPv6] or localhost, "
           "and a port)", spec);
  return -1;
}

/* ---- the loop ------------------------------------------------------------ */

static void on_mhd_timer(void *arg);
static void tick_arm(void);

/* MHD's work, then its next deadline as a loop timer. */
static void mhd_turn(void)
{
  MHD_UNSIGNED_LONG_LONG t;

  MHD_run(K.d);
  loop_cancel(K.mhd_timer);
  K.mhd_timer = NULL;
  if (MHD_get_timeout(K.d, &t) == MHD_YES)
    K.mhd_timer = loop_after(t, on_mhd_timer, NULL);
}

static void on_mhd_timer(void *arg)
{
  (void)arg;
  K.mhd_timer = NULL;
  mhd_turn();
}

/* A connection was resumed: without a thread of its own MHD has no
 * wake-up channel, so its next turn is on the loop's next one. */
static void mhd_soon(void)
{
  loop_cancel(K.mhd_timer);
  K.mhd_timer = loop_after(0, on_mhd_timer, NULL);
}

static void on_epoll(int fd, short revents, void *arg)
{
  (void)fd, (void)revents, (void)arg;
  mhd_turn();
}

/* ---- connections --------------------------------------------------------- */

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
  (void)cls, (void)addr, (void)len;
  if (K.nconns < K.cfg.max_clients && !K.stopping)
    return MHD_YES;
  K.refused++;
  log_bound(&K.log_refused, "http client refused: %d connected (--http-max-clients)",
            K.nconns);
  return MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
  struct conn *k = *socket_context;
  (void)cls;

  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *info =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    int sndbuf = SNDBUF;
    k = calloc(1, sizeof *k);
    if (!k)
      return;                 /* not watched; MHD's idle timeout still holds */
    k->fd = info ? info->connect_fd : -1;
    k->since = now_ms();
    if (k->fd >= 0)
      setsockopt(k->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    k->next = K.conns;
    if (K.conns)
      K.conns->prev = k;
    K.conns = k;
    *socket_context = k;
    K.nconns++;
    tick_arm();
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && k) {
    if (k->prev)
      k->prev->next = k->next;
    else
      K.conns = k->next;
    if (k->next)
      k->next->prev = k->prev;
    K.nconns--;
    free(k);
    *socket_context = NULL;
  }
}

static struct conn *conn_of(struct MHD_Connection *c)
{
  const union MHD_ConnectionInfo *info =
    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return info ? info->socket_context : NULL;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
  struct conn *k = conn_of(c);
  (void)cls, (void)req_cls;

  if (k) {
    k->busy = 0;
    k->done++;
    k->since = now_ms();
  }
  if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) {
    K.dropped++;
    log_bound(&K.log_no_reader, "http client dropped: it took no data for %llu ms "
              "(--http-timeout)", (unsigned long long)K.cfg.timeout_ms);
  }
}

static void on_tick(void *arg);

static void tick_arm(void)
{
  if (!K.tick_timer && !K.stopping)
    K.tick_timer = loop_after(TICK_MS, on_tick, NULL);
}

/* ---- responses ----------------------------------------------------------- */

static void common_headers(struct MHD_Response *r, const char *type, const char *cache)
{
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(r, "Content-Security-Policy",
                          "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                          "form-action 'none'; frame-ancestors 'none'");
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             const char *cache, const char *body)
{
  struct MHD_Response *r =
    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret;

  if (!r)
    return MHD_NO;
  common_headers(r, type, cache);
  if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  ret = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *body)
{
  return reply(c, code, "text/plain; charset=utf-8", "no-store", body);
}

/* ---- event streams ------------------------------------------------------- */

static void snap_unref(struct snap *s)
{
  if (s && --s->refs == 0)
    free(s);
}

static void stream_set(struct stream *s, const char *out, size_t len, struct snap *snap)
{
  snap_unref(s->snap);
  s->snap = snap;
  if (snap)
    snap->refs++;
  s->out = out;
  s->outlen = len;
  s->off = 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  static const char keepalive[] = ": keep-alive\n\n", hello[] = "retry: " RETRY_MS "\n\n";
  struct stream *s = cls;
  size_t n;

  (void)pos;
  if (K.stopping)
    return MHD_CONTENT_READER_END_OF_STREAM;
  if (s->off == s->outlen) {
    if (!s->hello) {
      s->hello = 1;
      stream_set(s, hello, sizeof hello - 1, NULL);
    } else if (K.cur && s->version != K.version) {
      s->version = K.version;
      K.events++;
      stream_set(s, K.cur->data, K.cur->len, K.cur);
    } else if (s->keepalive) {
      s->keepalive = 0;
      stream_set(s, keepalive, sizeof keepalive - 1, NULL);
    } else {
      stream_set(s, NULL, 0, NULL);
      s->suspended = 1;
      MHD_suspend_connection(s->c);
      return 0;
    }
  }
  n = s->outlen - s->off < max ? s->outlen - s->off : max;
  memcpy(buf, s->out + s->off, n);
  s->off += n;
  return (ssize_t)n;
}

static void stream_free(void *cls)
{
  struct stream *s = cls;

  if (s->prev)
    s->prev->next = s->next;
  else
    K.streams = s->next;
  if (s->next)
    s->next->prev = s->prev;
  snap_unref(s->snap);
  K.nstreams--;
  free(s);
}

static void stream_resume(struct stream *s)
{
  s->suspended = 0;
  MHD_resume_connection(s->c);
  mhd_soon();
}

static void streams_wake(int keepalive)
{
  for (struct stream *s = K.streams; s; s = s->next) {
    if (keepalive)
      s->keepalive = 1;
    if (s->suspended)
      stream_resume(s);
  }
}

static void on_keepalive(void *arg)
{
  (void)arg;
  K.keepalive_timer = loop_after(K.cfg.timeout_ms / 2, on_keepalive, NULL);
  streams_wake(1);
}

static enum MHD_Result events(struct MHD_Connection *c, int head)
{
  const union MHD_ConnectionInfo *info;
  struct MHD_Response *r;
  struct stream *s;
  enum MHD_Result ret;

  if (head)
    return reply(c, MHD_HTTP_OK, "text/event-stream", "no-store", "");
  s = calloc(1, sizeof *s);
  if (!s)
    return MHD_NO;
  r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
  if (!r) {
    free(s);
    return MHD_NO;
  }
  s->c = c;
  info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  s->fd = info ? info->connect_fd : -1;
  s->next = K.streams;
  if (K.streams)
    K.streams->prev = s;
  K.streams = s;
  K.nstreams++;
  common_headers(r, "text/event-stream", "no-store");
  MHD_add_response_header(r, "X-Accel-Buffering", "no");
  ret = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ret;
}

void kiosk_publish(const char *json, size_t len)
{
  struct snap *s;

  if (!K.d)
    return;
  s = malloc(sizeof *s + len + 8);
  if (!s) {
    log_error("http: out of memory for the page's state");
    return;
  }
  s->refs = 1;
  memcpy(s->data, "data: ", 6);
  memcpy(s->data + 6, json, len);
  memcpy(s->data + 6 + len, "\n\n", 2);
  s->len = len + 8;
  snap_unref(K.cur);
  K.cur = s;
  K.version++;
  streams_wake(0);
}

/* ---- requests ------------------------------------------------------------ */

/* The token, compared in constant time. */
static int token_ok(struct MHD_Connection *c)
{
  const char *t;
  size_t n, m;
  unsigned char diff;

  if (!K.token)
    return 1;
  t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
  if (!t)
    return 0;
  n = strlen(t);
  m = strlen(K.token);
  diff = n != m;
  for (size_t i = 0; i < m; i++)
    diff |= (unsigned char)(K.token[i] ^ (i < n ? t[i] : 0));
  return !diff;
}

/* A request's state before its first call: whether its URI (path and
 * query, which MHD hands the handler apart) is within URL_MAX. */
static int uri_short, uri_long, req_seen;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
  (void)cls, (void)c;
  return strlen(uri) > URL_MAX ? &uri_long : &uri_short;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
  int head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
  struct conn *k = conn_of(c);
  (void)cls, (void)version, (void)upload_data;

  /* The first call comes with the headers.  Any method but GET and HEAD
   * is answered then, so its body is never read (MHD closes the
   * connection after such an answer); GET and HEAD on the second, once
   * the request is whole, so the connection may serve the next one. */
  if (*req_cls != &req_seen) {
    int too_long = *req_cls == &uri_long;
    *req_cls = &req_seen;
    K.requests++;
    if (k)
      k->busy = 1;
    if (strcmp(method, MHD_HTTP_METHOD_GET) && !head) {
      K.not_allowed++;
      return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    if (too_long)
      return text(c, MHD_HTTP_URI_TOO_LONG, "URL too long\n");
    return MHD_YES;
  }
  if (*upload_data_size)
    return text(c, MHD_HTTP_BAD_REQUEST, "a GET has no body\n");
  if (!strcmp(url, "/kiosk.js"))
    return reply(c, MHD_HTTP_OK, "text/javascript; charset=utf-8", "no-cache", kiosk_js);
  if (!strcmp(url, "/kiosk.css"))
    return reply(c, MHD_HTTP_OK, "text/css; charset=utf-8", "no-cache", kiosk_css);
  if (strcmp(url, "/") && strcmp(url, "/events"))
    return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
  if (!token_ok(c)) {
    K.forbidden++;
    log_bound(&K.log_forbidden, "http %s refused: no or a wrong kiosk token", url);
    return text(c, MHD_HTTP_FORBIDDEN,
                "This display needs its kiosk token: open /?token=TOKEN "
                "(nano mrs --help, --kiosk-token)\n");
  }
  if (!strcmp(url, "/events"))
    return events(c, head);
  return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", "no-store", kiosk_html);
}

/* ---- the watchdog -------------------------------------------------------- */

/* A connection that has not sent a whole request within the timeout of
 * its start or of its last answer is shut down (MHD then sees its end and
 * closes it).  MHD's own timeout is one of inactivity: a request trickled
 * in a byte at a time would keep a connection for hours.  One that sent
 * nothing before is counted and logged as dropped; one idle after its
 * answers (a browser keeps them) is only closed. */
static void on_tick(void *arg)
{
  uint64_t now = now_ms();
  (void)arg;

  K.tick_timer = NULL;
  if (K.conns)
    tick_arm();               /* an idle page server sleeps */
  /* MHD does not watch a suspended stream's socket: one whose client
   * went away is resumed, so MHD finds out and closes it. */
  for (struct stream *s = K.streams; s; s = s->next) {
    struct pollfd p = { .fd = s->fd, .events = POLLRDHUP };
    if (s->suspended && s->fd >= 0 && poll(&p, 1, 0) > 0 &&
        (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
      s->keepalive = 1;
      stream_resume(s);
    }
  }
  for (struct conn *k = K.conns; k; k = k->next) {
    if (k->busy || k->dropped || k->fd < 0 || now - k->since <= K.cfg.timeout_ms)
      continue;
    k->dropped = 1;
    shutdown(k->fd, SHUT_RDWR);
    if (k->done)
      continue;
    K.dropped++;
    log_bound(&K.log_no_request, "http client dropped: no whole request within %llu ms "
              "(--http-timeout)", (unsigned long long)K.cfg.timeout_ms);
  }
  /* the shut down sockets are readable now: MHD closes them on its turn */
}

/* ---- start, stop --------------------------------------------------------- */

int kiosk_start(const struct kiosk_config *c)
{
  struct sockaddr_storage sa;
  socklen_t salen;
  int loopback, fd, one = 1, zero = 0;
  char err[160];
  const union MHD_DaemonInfo *info;
  unsigned timeout_s;

  if (kiosk_listen_parse(c->listen, &sa, &salen, &loopback, err, sizeof err) < 0) {
    log_error("http: %s", err);
    return -1;
  }
  fd = socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    log_error("http: socket: %s", strerror(errno));
    return -1;
  }
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sa.ss_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, 64) < 0) {
    log_error("http: cannot listen on %s: %s", c->listen, strerror(errno));
    close(fd);
    return -1;
  }
  K.cfg = *c;
  K.token = c->token ? strdup(c->token) : NULL;
  timeout_s = (unsigned)((c->timeout_ms + 999) / 1000);
  K.d = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                         (sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
                         0, on_accept, NULL, on_request, NULL,
                         MHD_OPTION_LISTEN_SOCKET, fd,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)c->max_clients + 4,
                         MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
                         MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT,
                         MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
                         MHD_OPTION_STRICT_FOR_CLIENT, 1,
                         MHD_OPTION_END);
  info = K.d ? MHD_get_daemon_info(K.d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
  if (!info || loop_add_fd(info->epoll_fd, POLLIN, on_epoll, NULL) < 0) {
    log_error("http: libmicrohttpd did not start on %s", c->listen);
    if (K.d)
      MHD_stop_daemon(K.d);
    else
      close(fd);
    K.d = NULL;
    free(K.token);
    K.token = NULL;
    return -1;
  }
  K.epfd = info->epoll_fd;
  K.keepalive_timer = loop_after(c->timeout_ms / 2, on_keepalive, NULL);
  mhd_turn();
  log_info("http=%s kiosk page%s max_clients=%d timeout_ms=%llu", c->listen,
           K.token ? " (token required)" : "", c->max_clients,
           (unsigned long long)c->timeout_ms);
  return 0;
}

void kiosk_stats(cJSON *o)
{
  if (!K.d)
    return;
  cJSON_AddNumberToObject(o, "http_clients", K.nconns);
  cJSON_AddNumberToObject(o, "http_streams", K.nstreams);
  cJSON_AddNumberToObject(o, "http_requests", (double)K.requests);
  cJSON_AddNumberToObject(o, "http_events", (double)K.events);
  cJSON_AddNumberToObject(o, "http_refused", (double)K.refused);
  cJSON_AddNumberToObject(o, "http_forbidden", (double)K.forbidden);
  cJSON_AddNumberToObject(o, "http_not_allowed", (double)K.not_allowed);
  cJSON_AddNumberToObject(o, "http_dropped", (double)K.dropped);
}

void kiosk_stop(void)
{
  if (!K.d)
    return;
  /* Suspended streams must be resumed before MHD may stop; they end
   * their chunked answers in these last turns (a quarter of a second at
   * most: a client that does not read is cut). */
  K.stopping = 1;
  streams_wake(0);
  for (uint64_t until = now_ms() + 250; K.nstreams && now_ms() < until;) {
    struct pollfd p = { .fd = K.epfd, .events = POLLIN };
    MHD_run(K.d);
    poll(&p, 1, 10);
  }
  loop_del_fd(K.epfd);
  loop_cancel(K.mhd_timer);
  loop_cancel(K.tick_timer);
  loop_cancel(K.keepalive_timer);
  MHD_stop_daemon(K.d);
  snap_unref(K.cur);
  free(K.token);
  memset(&K, 0, sizeof K);
  K.epfd = -1;
}
