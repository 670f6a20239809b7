/* client.c - asynchronous CoAP requests on the role's loop (client.h).
 *
 * One libcoap client session per peer host:port is kept and reused; a
 * peer that timed out or refused, or whose session cannot send, has its
 * session dropped, so the next request resolves its name again (a Swarm task replaced behind dnsrr
 * has a new address).  Every request has its own deadline timer on the
 * loop; an answer arriving after its deadline is refused with RST.
 *
 * A role never looks a name up on its loop (resolve.h says why): a
 * request to a host whose address is not known yet waits, under its own
 * deadline, for the worker's lookup, and is sent when it comes back (or
 * fails with the resolver's reason).  Numeric hosts need no lookup.  A
 * lookup's result makes one session and is then forgotten, so a dropped
 * session still means a new lookup.  Tools (role 0: nano coap, health)
 * look names up at once: they have no loop to keep answering, and their
 * messages stay those of getaddrinfo.
 */
#include "client.h"
#include "keys.h"
#include "loop.h"
#include "nano.h"
#include "resolve.h"
#include "server.h"
#include "uri.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PEERS 32
/* A lookup that came back after its requests had given up is kept for
 * the next request to that host, this long. */
#define FRESH_MS 30000

/* A request waiting for its host's address: what is needed to send it. */
struct waiting {
  coap_context_t *ctx;
  int method;
  struct nano_uri u;
  int dtls;
  struct client_opts o;
  uint8_t *body;
  size_t len;
};

struct pending {
  unsigned id;
  coap_session_t *session;
  uint8_t token[8];
  size_t token_len;
  client_fn fn;
  void *arg;
  int observe;
  struct loop_timer *deadline;
  char peer[300];
  struct waiting *w;          /* not sent yet: the name is being looked up */
  struct pending *next;
};

struct peer {
  char key[300];              /* "host:port" */
  coap_session_t *session;
};

/* A lookup's address nobody waited for any more. */
struct fresh {
  char host[256];
  coap_address_t addr;
  uint64_t at;
};

static struct pending *pendings;
static struct peer peers[MAX_PEERS];
static struct fresh fresh[4];

static void on_resolved(const char *host, int ok, const coap_address_t *addr,
                        const char *err);
static unsigned next_id = 1;

/* Who we are on DTLS links (client_set_psk), and whether the scheme of a
 * URI decides (tools) or the role's mode does (every link of a role with
 * keys is DTLS, of one without is plain). */
static struct psk client_psk;
static int have_psk, role_mode;

coap_session_t *client_session_psk(coap_context_t *ctx, const coap_address_t *addr,
                                   const struct psk *k)
{
  coap_dtls_cpsk_t setup;

  memset(&setup, 0, sizeof setup);
  setup.version = COAP_DTLS_CPSK_SETUP_VERSION;
  setup.psk_info.identity.s = (const uint8_t *)k->identity;
  setup.psk_info.identity.length = strlen(k->identity);
  setup.psk_info.key.s = k->key;
  setup.psk_info.key.length = k->key_len;
  return coap_new_client_session_psk2(ctx, NULL, addr, COAP_PROTO_DTLS, &setup);
}

void client_set_psk(const struct psk *me, int role)
{
  memset(&client_psk, 0, sizeof client_psk);
  have_psk = me != NULL;
  if (me)
    client_psk = *me;
  role_mode = role;
}

/* The scheme a request really uses; a role maps the default port with it
 * (coap://ae is coaps://ae:5684 for a role with keys). */
static int use_dtls(struct nano_uri *u, const char **err)
{
  int dtls = role_mode ? have_psk : u->secure;

  if (dtls && !have_psk) {
    *err = "coaps:// needs an identity and a key (-u ID -k HEXKEY, or -K FILE)";
    return -1;
  }
  if (!u->port_given)
    u->port = dtls ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT;
  return dtls;
}

const char *client_code_text(int code, char *buf, size_t size)
{
  switch (code) {
  case CLIENT_TIMEOUT: return "timeout";
  case CLIENT_UNREACHABLE: return "unreachable";
  case CLIENT_FAILED: return "failed";
  }
  snprintf(buf, size, "%d.%02d", code / 100, code % 100);
  return buf;
}

int client_pending(void)
{
  int n = 0;
  for (struct pending *p = pendings; p; p = p->next)
    n++;
  return n;
}

/* ---- peers ------------------------------------------------------------- */

static void peer_drop(const char *key)
{
  for (int i = 0; i < MAX_PEERS; i++)
    if (peers[i].session && !strcmp(peers[i].key, key)) {
      /* Pending requests on it still hold their own reference. */
      coap_session_release(peers[i].session);
      peers[i].session = NULL;
      peers[i].key[0] = '\0';
    }
}

static coap_session_t *peer_cached(const char *key)
{
  for (int i = 0; i < MAX_PEERS; i++)
    if (peers[i].session && !strcmp(peers[i].key, key))
      return peers[i].session;
  return NULL;
}

static void fresh_keep(const char *host, const coap_address_t *addr)
{
  struct fresh *f = &fresh[0];

  for (size_t i = 0; i < sizeof fresh / sizeof *fresh; i++)
    if (!strcmp(fresh[i].host, host) || fresh[i].at < f->at)
      f = &fresh[i];
  snprintf(f->host, sizeof f->host, "%s", host);
  f->addr = *addr;
  f->at = now_ms();
}

/* A kept address for host, used once. */
static int fresh_take(const char *host, coap_address_t *addr)
{
  for (size_t i = 0; i < sizeof fresh / sizeof *fresh; i++)
    if (fresh[i].host[0] && !strcmp(fresh[i].host, host)) {
      int young = now_ms() - fresh[i].at < FRESH_MS;
      *addr = fresh[i].addr;
      fresh[i].host[0] = '\0';
      if (young)
        return 0;
    }
  return -1;
}

static void set_port(coap_address_t *addr, uint16_t port)
{
  if (addr->addr.sa.sa_family == AF_INET6)
    addr->addr.sin6.sin6_port = htons(port);
  else
    addr->addr.sin.sin_port = htons(port);
}

/* A new session for key to addr (whose port is set). */
static coap_session_t *peer_new(coap_context_t *ctx, const coap_address_t *addr_in,
                                int dtls, const char *key, const char **err)
{
  struct peer *slot = NULL;
  coap_address_t addr = *addr_in;

  for (int i = 0; i < MAX_PEERS; i++)
    if (!peers[i].session && !slot)
      slot = &peers[i];
  if (!slot) {
    /* Full: recycle the first slot; its requests keep their reference. */
    slot = &peers[0];
    peer_drop(slot->key);
  }
  /* A session takes the context's block mode when it is made.  A role's
   * context serves block-wise uploads itself (server.c bounds them, so
   * no COAP_BLOCK_SINGLE_BODY there); answers to our own requests are
   * reassembled by libcoap, from peers we chose to ask.  libcoap 4.3.5
   * cannot tell a context's mode, so it is set back to the server's; a
   * context without a server makes no server sessions to care. */
  coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  if (dtls) {
    slot->session = client_session_psk(ctx, &addr, &client_psk);
  } else {
    slot->session = coap_new_client_session(ctx, NULL, &addr, COAP_PROTO_UDP);
  }
  coap_context_set_block_mode(ctx, SERVER_BLOCK_MODE);
  if (!slot->session) {
    *err = "cannot create a CoAP session";
    return NULL;
  }
  /* Fewer retransmissions than RFC 7252's 4: the caller's deadline is
   * what bounds a request, and a dead peer should be noticed soon. */
  coap_session_set_max_retransmit(slot->session, 3);
  snprintf(slot->key, sizeof slot->key, "%s", key);
  return slot->session;
}

/* ---- pending requests ------------------------------------------------ */

static struct pending *pending_by_token(coap_session_t *session, coap_bin_const_t tok)
{
  for (struct pending *p = pendings; p; p = p->next)
    if (p->session == session && p->token_len == tok.length &&
        !memcmp(p->token, tok.s, tok.length))
      return p;
  return NULL;
}

static void pending_unlink(struct pending *p)
{
  for (struct pending **pp = &pendings; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      return;
    }
}

static void waiting_free(struct pending *p)
{
  if (p->w) {
    free(p->w->body);
    free(p->w);
    p->w = NULL;
  }
}

static void pending_free(struct pending *p)
{
  if (p->deadline)
    loop_cancel(p->deadline);
  if (p->session)
    coap_session_release(p->session);
  waiting_free(p);
  free(p);
}

static void abandon_now(void *arg)
{
  coap_session_t *session = arg;
  /* Any reason but ICMP_ISSUE removes the session's queued messages
   * (their nacks finish our other requests on it as unreachable). */
  coap_session_disconnected(session, COAP_NACK_NOT_DELIVERABLE);
  coap_session_release(session);
}

/* A request given up (deadline, unreachable) must not live on inside
 * libcoap: after an ICMP error or past our deadline it would keep
 * retransmitting, and a peer that comes back would get it again beside
 * the caller's retry.  libcoap 4.3.1 has no public call to cancel one
 * message, so the whole session is abandoned: it is dropped from the
 * peer cache (new requests get a new one) and its queue is cleared on
 * the next turn of the loop, never from inside a libcoap callback. */
static void abandon_session(struct pending *p)
{
  if (!p->session)
    return;                     /* never sent: its name was being looked up */
  peer_drop(p->peer);
  if (!loop_after(0, abandon_now, coap_session_reference(p->session)))
    coap_session_release(p->session);
}

/* Unlink before calling back: the callback may send new requests. */
static void pending_finish(struct pending *p, int code, const uint8_t *body, size_t len)
{
  client_fn fn = p->fn;
  void *arg = p->arg;
  char why[300];

  if (p->w && code == CLIENT_TIMEOUT) {
    /* The caller learns why nothing was even sent. */
    snprintf(why, sizeof why, "cannot resolve '%s': no answer yet", p->w->u.host);
    body = (const uint8_t *)why;
    len = strlen(why);
  }
  pending_unlink(p);
  if (code == CLIENT_TIMEOUT || code == CLIENT_UNREACHABLE)
    abandon_session(p);
  pending_free(p);
  fn(arg, code, body, len);
}

static void on_deadline(void *arg)
{
  struct pending *p = arg;
  p->deadline = NULL;           /* the loop frees the timer */
  if (p->observe) {
    /* An observation that ran its time is over, not failed. */
    client_fn fn = p->fn;
    void *a = p->arg;
    client_cancel(p->id);
    fn(a, CLIENT_TIMEOUT, NULL, 0);
    return;
  }
  pending_finish(p, CLIENT_TIMEOUT, NULL, 0);
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent,
                                   const coap_pdu_t *received, const coap_mid_t mid)
{
  struct pending *p = pending_by_token(session, coap_pdu_get_token(received));
  const uint8_t *data = NULL;
  size_t len = 0, offset = 0, total = 0;
  coap_pdu_code_t c = coap_pdu_get_code(received);
  int code = COAP_RESPONSE_CLASS(c) * 100 + (c & 0x1f);

  (void)sent;
  (void)mid;
  if (!p)
    return COAP_RESPONSE_FAIL;    /* unknown or expired: RST it */
  if (coap_pdu_get_type(received) == COAP_MESSAGE_RST) {
    pending_finish(p, CLIENT_UNREACHABLE, NULL, 0);
    return COAP_RESPONSE_OK;
  }
  coap_get_data_large(received, &len, &data, &offset, &total);
  if (p->observe && code / 100 == 2 &&
      coap_check_option(received, COAP_OPTION_OBSERVE, &(coap_opt_iterator_t){0})) {
    /* A notification: the observation goes on. */
    p->fn(p->arg, code, data, len);
    return COAP_RESPONSE_OK;
  }
  pending_finish(p, code, data, len);
  return COAP_RESPONSE_OK;
}

static void on_nack(coap_session_t *session, const coap_pdu_t *sent,
                    const coap_nack_reason_t reason, const coap_mid_t mid)
{
  struct pending *p;

  (void)mid;
  if (!sent)
    return;
  if (coap_session_get_type(session) == COAP_SESSION_TYPE_SERVER) {
    server_nack(session, sent);     /* a notification to an observer */
    return;
  }
  p = pending_by_token(session, coap_pdu_get_token(sent));
  if (!p)
    return;
  pending_finish(p, reason == COAP_NACK_TOO_MANY_RETRIES ? CLIENT_TIMEOUT :
                 CLIENT_UNREACHABLE, NULL, 0);
}

void client_init(coap_context_t *ctx)
{
  resolve_set_callback(on_resolved);
  coap_register_response_handler(ctx, on_response);
  coap_register_nack_handler(ctx, on_nack);
}

coap_context_t *client_context_new(void)
{
  coap_context_t *ctx;

  coap_startup();
  coap_set_log_level(log_level() >= NLOG_DEBUG ? COAP_LOG_DEBUG : COAP_LOG_ERR);
  ctx = coap_new_context(NULL);
  if (!ctx)
    return NULL;
  coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  client_init(ctx);
  loop_init(ctx);
  return ctx;
}

void client_reset_sessions(void)
{
  for (int i = 0; i < MAX_PEERS; i++)
    if (peers[i].session)
      peer_drop(peers[i].key);
}

void client_context_free(coap_context_t *ctx)
{
  for (int i = 0; i < MAX_PEERS; i++)
    if (peers[i].session)
      peer_drop(peers[i].key);
  coap_free_context(ctx);
  coap_cleanup();
}

/* ---- sending ---------------------------------------------------------- */

static int add_split(coap_optlist_t **list, uint16_t number, const char *s,
                     int (*split)(const uint8_t *, size_t, unsigned char *, size_t *))
{
  unsigned char buf[512], *b = buf;
  size_t buflen = sizeof buf;
  int n;

  if (!*s)
    return 0;
  n = split((const uint8_t *)s, strlen(s), buf, &buflen);
  if (n < 0)
    return -1;
  while (n--) {
    coap_insert_optlist(list, coap_new_optlist(number, coap_opt_length(b),
                                               coap_opt_value(b)));
    b += coap_opt_size(b);
  }
  return 0;
}

static void free_body(coap_session_t *session, void *app_ptr)
{
  (void)session;
  free(app_ptr);
}

/* Build p's PDU on session and send it; p is in the list already (libcoap
 * may call back from coap_send).  -1 with a reason. */
static int pending_send(struct pending *p, coap_session_t *session, int method,
                        const struct nano_uri *u, const void *body, size_t len,
                        const struct client_opts *o, const char **err)
{
  coap_optlist_t *opts = NULL;
  coap_pdu_t *pdu;
  uint8_t buf[4];

  pdu = coap_new_pdu(COAP_MESSAGE_CON, (coap_pdu_code_t)method, session);
  if (!pdu) {
    *err = "out of memory";
    return -1;
  }
  coap_session_new_token(session, &p->token_len, p->token);
  coap_add_token(pdu, p->token_len, p->token);
  if (o->observe)
    coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_OBSERVE,
                          coap_encode_var_safe(buf, sizeof buf, COAP_OBSERVE_ESTABLISH), buf));
  if (add_split(&opts, COAP_OPTION_URI_PATH, u->path, coap_split_path) < 0 ||
      add_split(&opts, COAP_OPTION_URI_QUERY, u->query, coap_split_query) < 0) {
    coap_delete_optlist(opts);
    coap_delete_pdu(pdu);
    *err = "bad path or query";
    return -1;
  }
  if (body && len)
    coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_CONTENT_FORMAT,
                          coap_encode_var_safe(buf, sizeof buf,
                              o->format ? o->format : COAP_MEDIATYPE_APPLICATION_JSON), buf));
  if (o->accept >= 0)
    coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_ACCEPT,
                          coap_encode_var_safe(buf, sizeof buf, (unsigned)o->accept), buf));
  coap_add_optlist_pdu(pdu, &opts);
  coap_delete_optlist(opts);
  if (body && len) {
    void *copy = malloc(len);
    if (!copy) {
      coap_delete_pdu(pdu);
      *err = "out of memory";
      return -1;
    }
    memcpy(copy, body, len);
    /* Block1 when needed; copy is freed once the transfer is over, and
     * also when the call fails: libcoap releases it on every path. */
    if (!coap_add_data_large_request(session, pdu, len, copy, free_body, copy)) {
      coap_delete_pdu(pdu);
      *err = "cannot add the payload";
      return -1;
    }
  }
  p->session = coap_session_reference(session);
  if (coap_send(session, pdu) == COAP_INVALID_MID) {
    /* A session that cannot send is dead (its DTLS handshake failed: the
     * address is gone, a Swarm task's node went down and the task came
     * back elsewhere or later with a new one).  Kept, it would fail every
     * request to this peer for ever; dropped, the next one resolves the
     * name again. */
    peer_drop(p->peer);
    *err = "cannot send";
    return -1;
  }
  return 0;
}

/* The session for key: the cached one, or a new one when the address is
 * known now (numeric, a kept lookup, or a tool's blocking lookup).  NULL
 * with *err NULL: the name must be looked up first. */
static coap_session_t *session_now(coap_context_t *ctx, const struct nano_uri *u, int dtls,
                                   const char *key, const char **err)
{
  static char why[300];
  coap_session_t *session = peer_cached(key);
  coap_address_t addr;

  *err = NULL;
  if (session)
    return session;
  if (uri_numeric(u->host, u->port, &addr) == 0 || fresh_take(u->host, &addr) == 0) {
    set_port(&addr, u->port);
    return peer_new(ctx, &addr, dtls, key, err);
  }
  if (!role_mode) {
    if (uri_resolve(u->host, u->port, 0, &addr, why, sizeof why) < 0) {
      *err = why;
      return NULL;
    }
    return peer_new(ctx, &addr, dtls, key, err);
  }
  return NULL;
}

static struct pending *pending_new(const char *key, const struct client_opts *o,
                                   client_fn fn, void *arg)
{
  struct pending *p = calloc(1, sizeof *p);

  if (!p)
    return NULL;
  p->id = next_id++;
  if (!next_id)
    next_id = 1;
  p->fn = fn;
  p->arg = arg;
  p->observe = o->observe;
  snprintf(p->peer, sizeof p->peer, "%s", key);
  p->deadline = loop_after(o->timeout_ms ? o->timeout_ms : 5000, on_deadline, p);
  p->next = pendings;
  pendings = p;
  return p;
}

/* Keep what is needed to send later, and ask for the host's address. */
static int pending_wait(struct pending *p, coap_context_t *ctx, int method,
                        const struct nano_uri *u, int dtls, const void *body, size_t len,
                        const struct client_opts *o, const char **err)
{
  static char why[320];

  p->w = calloc(1, sizeof *p->w);
  if (!p->w || (len && !(p->w->body = malloc(len)))) {
    *err = "out of memory";
    return -1;
  }
  p->w->ctx = ctx;
  p->w->method = method;
  p->w->u = *u;
  p->w->dtls = dtls;
  p->w->o = *o;
  p->w->len = len;
  if (len)
    memcpy(p->w->body, body, len);
  if (resolve_start(u->host) < 0) {
    snprintf(why, sizeof why, "cannot resolve '%s': too many names being looked up",
             u->host);
    *err = why;
    return -1;
  }
  return 0;
}

unsigned client_request(coap_context_t *ctx, int method, const char *uri,
                        const void *body, size_t len, const struct client_opts *o,
                        client_fn fn, void *arg, const char **err)
{
  static char why[300];
  struct client_opts defaults = { 0, 0, 0, -1 };
  struct nano_uri u;
  struct pending *p;
  coap_session_t *session;
  char key[300];
  int dtls, rc;

  if (!o)
    o = &defaults;
  if (uri_parse(uri, &u, why, sizeof why) < 0) {
    *err = why;
    return 0;
  }
  dtls = use_dtls(&u, err);
  if (dtls < 0)
    return 0;
  snprintf(key, sizeof key, "%s:%u%s", u.host, u.port, dtls ? "/dtls" : "");
  session = session_now(ctx, &u, dtls, key, err);
  if (!session && *err)
    return 0;
  p = pending_new(key, o, fn, arg);
  if (!p) {
    *err = "out of memory";
    return 0;
  }
  if (session)
    rc = pending_send(p, session, method, &u, body, len, o, err);
  else
    rc = pending_wait(p, ctx, method, &u, dtls, body, len, o, err);
  if (rc < 0) {
    pending_unlink(p);
    pending_free(p);
    return 0;
  }
  return p->id;
}

static struct pending *pending_by_id(unsigned id)
{
  for (struct pending *p = pendings; p; p = p->next)
    if (p->id == id)
      return p;
  return NULL;
}

/* Send one waiting request now that its host's address is known, or
 * fail it with the lookup's reason. */
static void waiting_go(coap_context_t *ctx, struct pending *p, int ok,
                       const coap_address_t *addr_in, const char *reason)
{
  struct waiting *w = p->w;
  coap_session_t *session = NULL;
  const char *err = reason;
  coap_address_t addr = *addr_in;

  if (ok) {
    session = peer_cached(p->peer);
    if (!session) {
      set_port(&addr, w->u.port);
      session = peer_new(ctx, &addr, w->dtls, p->peer, &err);
    }
  }
  if (session) {
    p->w = NULL;              /* sent (or failed to be) from here on */
    if (pending_send(p, session, w->method, &w->u, w->body, w->len, &w->o, &err) == 0) {
      free(w->body);
      free(w);
      return;
    }
    p->w = w;
  }
  pending_finish(p, CLIENT_FAILED, (const uint8_t *)err, strlen(err));
}

/* A lookup came back (on the loop): the requests waiting for host go, by
 * id, as each callback may send or cancel others. */
static void on_resolved(const char *host, int ok, const coap_address_t *addr,
                        const char *err)
{
  unsigned ids[64];
  int n = 0;

  for (struct pending *p = pendings; p && n < 64; p = p->next)
    if (p->w && !strcmp(p->w->u.host, host))
      ids[n++] = p->id;
  if (ok && !n)
    fresh_keep(host, addr);
  for (int i = 0; i < n; i++) {
    struct pending *p = pending_by_id(ids[i]);
    if (p && p->w)
      waiting_go(p->w->ctx, p, ok, addr, err);
  }
}

void client_cancel(unsigned id)
{
  for (struct pending *p = pendings; p; p = p->next)
    if (p->id == id) {
      pending_unlink(p);
      if (p->observe && p->session) {
        coap_binary_t tok = { p->token_len, p->token };
        coap_cancel_observe(p->session, &tok, COAP_MESSAGE_CON);
      }
      pending_free(p);
      return;
    }
}
