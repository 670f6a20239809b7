/* coapload.c - a CoAP load generator built from nano's core (its loop and
 * URI parsing, libcoap underneath), for the benchmarks in bench/.
 *
 * usage: coapload [-c CLIENTS] [-d DURATION | -n COUNT] [-m METHOD]
 *                 [-p PAYLOAD | -P FILE] [-F FORMAT] [-w WARMUP] [-o FILE] URI
 *
 *   -c N      concurrent clients, each its own UDP socket (CoAP session)
 *             with one confirmable request in flight: a closed loop [1]
 *   -d DUR    run for DUR (250ms, 5s, 1m) [5s]; -n N: stop after N requests
 *   -m M      get|post|put|delete [get, or post with a payload]
 *   -p TEXT   payload template: {seq} the request number (0, 1, ...),
 *             {client} the client number, {mac} the request number as a
 *             BLE-style address 02:XX:XX:XX:XX:XX
 *   -P FILE   payload templates, one per line, used in turn (request k
 *             takes line k mod lines)
 *   -F N      Content-Format of the payload [50, application/json]
 *   -w DUR    warm-up: requests sent in the first DUR are not measured
 *   -o FILE   append the payload of every request answered 2.xx, a line each
 *   -u ID -k HEXKEY   for a coaps:// URI: DTLS with this pre-shared key
 *             (each client its own DTLS session and handshake)
 *
 * Prints one line of key=value: clients requests ok errors timeouts
 * seconds rps p50_ms p90_ms p99_ms max_ms codes.  Exit 0 when at least
 * one request got a 2.xx answer, 1 when none did, 2 on usage errors.
 */
#include "client.h"
#include "keys.h"
#include "loop.h"
#include "nano.h"
#include "uri.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 1024
#define GRACE_MS 3000            /* how long to wait for answers at the end */

static const char usage[] =
  "usage: coapload [-c CLIENTS] [-d DURATION | -n COUNT] [-m get|post|put|delete]\n"
  "                [-p PAYLOAD | -P FILE] [-F FORMAT] [-w WARMUP] [-o FILE]\n"
  "                [-u ID -k HEXKEY] URI\n"
  "payload templates: {seq} request number, {client} client number, {mac} 02:XX:XX:XX:XX:XX";

struct client {
  int idx;
  coap_session_t *session;
  uint8_t token[8];
  size_t token_len;
  int busy;
  uint64_t seq;
  uint64_t sent_us;
  char *payload;              /* of the request in flight */
};

static struct {
  coap_context_t *ctx;
  struct client clients[MAX_CLIENTS];
  int nclients;
  int method;
  uint16_t format;
  coap_optlist_t *options;    /* Uri-Path, Uri-Query, Content-Format */
  char **templates;           /* payload templates, or none */
  size_t ntemplates;
  FILE *acked;
  uint64_t limit;             /* -n, or 0 */
  uint64_t next_seq;
  uint64_t t0_us, measure_from_us, last_done_us;
  int stopping;
  /* results of measured requests */
  uint32_t *lat_us;
  size_t nlat, latcap;
  uint64_t ok, errors, timeouts, measured;
  uint64_t codes[6][32];
} L;

static uint64_t now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- payloads ---------------------------------------------------------- */

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
  if (*len + n + 1 > *cap) {
    size_t c = (*len + n + 1) * 2;
    char *b = realloc(*buf, c);
    if (!b)
      return -1;
    *buf = b;
    *cap = c;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
  return 0;
}

/* The template for request seq with its placeholders filled in. */
static char *expand(const char *t, uint64_t seq, int client, size_t *len)
{
  char *out = NULL, num[32];
  size_t cap = 0;

  *len = 0;
  if (append(&out, len, &cap, "", 0) < 0)
    return NULL;
  while (*t) {
    const char *open = strchr(t, '{');
    int n = -1;
    if (!open) {
      if (append(&out, len, &cap, t, strlen(t)) < 0)
        goto oom;
      break;
    }
    if (append(&out, len, &cap, t, (size_t)(open - t)) < 0)
      goto oom;
    if (!strncmp(open, "{seq}", 5))
      n = snprintf(num, sizeof num, "%llu", (unsigned long long)seq);
    else if (!strncmp(open, "{client}", 8))
      n = snprintf(num, sizeof num, "%d", client);
    else if (!strncmp(open, "{mac}", 5))
      n = snprintf(num, sizeof num, "02:%02X:%02X:%02X:%02X:%02X",
                   (unsigned)(seq >> 32 & 0xff), (unsigned)(seq >> 24 & 0xff),
                   (unsigned)(seq >> 16 & 0xff), (unsigned)(seq >> 8 & 0xff),
                   (unsigned)(seq & 0xff));
    if (n < 0) {                /* a brace of the payload itself */
      if (append(&out, len, &cap, "{", 1) < 0)
        goto oom;
      t = open + 1;
      continue;
    }
    if (append(&out, len, &cap, num, (size_t)n) < 0)
      goto oom;
    t = strchr(open, '}') + 1;
  }
  return out;
oom:
  free(out);
  return NULL;
}

static int read_templates(const char *path)
{
  FILE *f = fopen(path, "r");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;

  if (!f) {
    fprintf(stderr, "coapload: %s: %s\n", path, strerror(errno));
    return -1;
  }
  while ((n = getline(&line, &cap, f)) >= 0) {
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (!n)
      continue;
    char **more = realloc(L.templates, (L.ntemplates + 1) * sizeof *more);
    if (!more || !(more[L.ntemplates] = strdup(line))) {
      free(more ? more : L.templates);
      L.templates = NULL;
      break;
    }
    L.templates = more;
    L.ntemplates++;
  }
  free(line);
  fclose(f);
  if (!L.ntemplates) {
    fprintf(stderr, "coapload: %s: no payload lines\n", path);
    return -1;
  }
  return 0;
}

/* ---- requests ---------------------------------------------------------- */

static void free_body(coap_session_t *session, void *app_ptr)
{
  (void)session;
  free(app_ptr);
}

static void all_idle_check(void)
{
  for (int i = 0; i < L.nclients; i++)
    if (L.clients[i].busy)
      return;
  loop_stop(0);
}

static void send_next(struct client *c)
{
  coap_pdu_t *pdu;
  char *body = NULL;
  size_t len = 0;

  free(c->payload);
  c->payload = NULL;
  c->busy = 0;
  if (L.stopping || (L.limit && L.next_seq >= L.limit)) {
    all_idle_check();
    return;
  }
  c->seq = L.next_seq++;
  pdu = coap_new_pdu(COAP_MESSAGE_CON, (coap_pdu_code_t)L.method, c->session);
  if (!pdu) {
    fprintf(stderr, "coapload: out of memory\n");
    loop_stop(1);
    return;
  }
  coap_session_new_token(c->session, &c->token_len, c->token);
  coap_add_token(pdu, c->token_len, c->token);
  coap_add_optlist_pdu(pdu, &L.options);
  if (L.ntemplates) {
    body = expand(L.templates[c->seq % L.ntemplates], c->seq, c->idx, &len);
    char *copy = body ? malloc(len ? len : 1) : NULL;
    if (!copy) {
      fprintf(stderr, "coapload: out of memory\n");
      free(body);
      coap_delete_pdu(pdu);
      loop_stop(1);
      return;
    }
    memcpy(copy, body, len);
    /* Block1 when the payload is larger than a datagram. */
    coap_add_data_large_request(c->session, pdu, len, (const uint8_t *)copy, free_body, copy);
  }
  c->payload = body;
  c->busy = 1;
  c->sent_us = now_us();
  if (coap_send(c->session, pdu) == COAP_INVALID_MID) {
    fprintf(stderr, "coapload: cannot send\n");
    c->busy = 0;
    loop_stop(1);
  }
}

/* One request is over: code is 205 etc., or 0 for a timeout. */
static void finish(struct client *c, int code)
{
  uint64_t now = now_us();

  if (c->sent_us >= L.measure_from_us) {
    L.measured++;
    L.last_done_us = now;
    if (code == 0) {
      L.timeouts++;
    } else {
      if (code / 100 == 2)
        L.ok++;
      else
        L.errors++;
      if (code / 100 < 6)
        L.codes[code / 100][code % 100 < 32 ? code % 100 : 31]++;
      if (L.nlat == L.latcap) {
        size_t cap = L.latcap ? L.latcap * 2 : 65536;
        uint32_t *more = realloc(L.lat_us, cap * sizeof *more);
        if (more) {
          L.lat_us = more;
          L.latcap = cap;
        }
      }
      if (L.nlat < L.latcap)
        L.lat_us[L.nlat++] = (uint32_t)(now - c->sent_us > UINT32_MAX ? UINT32_MAX
                                                                      : now - c->sent_us);
    }
  }
  if (code / 100 == 2 && L.acked && c->payload)
    fprintf(L.acked, "%s\n", c->payload);
  send_next(c);
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent,
                                   const coap_pdu_t *received, const coap_mid_t mid)
{
  struct client *c = coap_session_get_app_data(session);
  coap_bin_const_t tok = coap_pdu_get_token(received);
  coap_pdu_code_t code = coap_pdu_get_code(received);

  (void)sent;
  (void)mid;
  if (!c || !c->busy || tok.length != c->token_len || memcmp(tok.s, c->token, tok.length))
    return COAP_RESPONSE_OK;      /* a duplicate or a late answer */
  finish(c, COAP_RESPONSE_CLASS(code) * 100 + (code & 0x1f));
  return COAP_RESPONSE_OK;
}

static void on_nack(coap_session_t *session, const coap_pdu_t *sent,
                    const coap_nack_reason_t reason, const coap_mid_t mid)
{
  struct client *c = coap_session_get_app_data(session);
  coap_bin_const_t tok;

  (void)reason;
  (void)mid;
  if (!c || !c->busy || !sent)
    return;
  tok = coap_pdu_get_token(sent);
  if (tok.length == c->token_len && !memcmp(tok.s, c->token, tok.length))
    finish(c, 0);
}

/* ---- set-up and report ----------------------------------------------- */

static int method_of(const char *m)
{
  if (!strcmp(m, "get")) return COAP_REQUEST_GET;
  if (!strcmp(m, "post")) return COAP_REQUEST_POST;
  if (!strcmp(m, "put")) return COAP_REQUEST_PUT;
  if (!strcmp(m, "delete")) return COAP_REQUEST_DELETE;
  return 0;
}

static int build_options(const struct nano_uri *u)
{
  unsigned char buf[1024], *b;
  size_t buflen;
  int n;

  buflen = sizeof buf;
  b = buf;
  n = *u->path ? coap_split_path((const uint8_t *)u->path, strlen(u->path), buf, &buflen) : 0;
  while (n-- > 0) {
    coap_insert_optlist(&L.options, coap_new_optlist(COAP_OPTION_URI_PATH,
                          coap_opt_length(b), coap_opt_value(b)));
    b += coap_opt_size(b);
  }
  buflen = sizeof buf;
  b = buf;
  n = *u->query ? coap_split_query((const uint8_t *)u->query, strlen(u->query), buf, &buflen) : 0;
  while (n-- > 0) {
    coap_insert_optlist(&L.options, coap_new_optlist(COAP_OPTION_URI_QUERY,
                          coap_opt_length(b), coap_opt_value(b)));
    b += coap_opt_size(b);
  }
  if (L.ntemplates)
    coap_insert_optlist(&L.options, coap_new_optlist(COAP_OPTION_CONTENT_FORMAT,
                          coap_encode_var_safe(buf, sizeof buf, L.format), buf));
  return 0;
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
  if (!L.nlat)
    return 0;
  return L.lat_us[(size_t)(p * (double)(L.nlat - 1) + 0.5)] / 1000.0;
}

static void report(void)
{
  double secs = L.last_done_us > L.measure_from_us
                ? (double)(L.last_done_us - L.measure_from_us) / 1e6 : 0;
  uint64_t unfinished = 0;

  for (int i = 0; i < L.nclients; i++)
    if (L.clients[i].busy && L.clients[i].sent_us >= L.measure_from_us)
      unfinished++;
  L.timeouts += unfinished;
  if (L.nlat)
    qsort(L.lat_us, L.nlat, sizeof *L.lat_us, cmp_u32);
  printf("clients=%d requests=%llu ok=%llu errors=%llu timeouts=%llu seconds=%.2f "
         "rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f codes=",
         L.nclients, (unsigned long long)(L.measured + unfinished),
         (unsigned long long)L.ok, (unsigned long long)L.errors,
         (unsigned long long)L.timeouts, secs, secs > 0 ? (double)L.measured / secs : 0,
         pct_ms(0.50), pct_ms(0.90), pct_ms(0.99), L.nlat ? L.lat_us[L.nlat - 1] / 1000.0 : 0);
  const char *sep = "";
  for (int k = 2; k < 6; k++)
    for (int d = 0; d < 32; d++)
      if (L.codes[k][d]) {
        printf("%s%d.%02d:%llu", sep, k, d, (unsigned long long)L.codes[k][d]);
        sep = ",";
      }
  printf("%s\n", *sep ? "" : "none");
  fflush(stdout);
}

static void on_grace_end(void *arg);

static void on_duration_end(void *arg)
{
  (void)arg;
  L.stopping = 1;
  /* Requests in flight get a little longer; one lost for good counts
   * as a timeout then. */
  loop_after(GRACE_MS, on_grace_end, NULL);
  all_idle_check();
}

static void on_grace_end(void *arg)
{
  (void)arg;
  loop_stop(0);
}

static struct psk load_psk;   /* -u/-k, for coaps:// */

static int start_clients(const struct nano_uri *u)
{
  coap_address_t dst;
  char why[256];

  if (uri_resolve(u->host, u->port, 0, &dst, why, sizeof why) < 0) {
    fprintf(stderr, "coapload: %s\n", why);
    return -1;
  }
  for (int i = 0; i < L.nclients; i++) {
    struct client *c = &L.clients[i];
    c->idx = i;
    /* A client session of its own: its own socket and source port, as
     * separate devices would have. */
    if (u->secure) {
      c->session = client_session_psk(L.ctx, &dst, &load_psk);
    } else {
      c->session = coap_new_client_session(L.ctx, NULL, &dst, COAP_PROTO_UDP);
    }
    if (!c->session) {
      fprintf(stderr, "coapload: cannot create client session %d\n", i);
      return -1;
    }
    coap_session_set_app_data(c->session, c);
    /* A lost request is a timeout after 2 + 4 + 8 s, not RFC 7252's 45 s. */
    coap_session_set_max_retransmit(c->session, 2);
  }
  return 0;
}

int main(int argc, char **argv)
{
  const char *duration = "5s", *warmup = "0", *payload = NULL, *lines = NULL,
             *method = NULL, *acked = NULL;
  long long duration_ms, warmup_ms;
  struct nano_uri u;
  char why[256];
  int opt, rc;

  L.nclients = 1;
  L.format = COAP_MEDIATYPE_APPLICATION_JSON;
  const char *psk_id = NULL, *psk_hex = NULL;

  while ((opt = getopt(argc, argv, "c:d:n:m:p:P:F:w:o:u:k:h")) != -1) {
    switch (opt) {
    case 'c': L.nclients = atoi(optarg); break;
    case 'd': duration = optarg; break;
    case 'n': L.limit = strtoull(optarg, NULL, 10); break;
    case 'm': method = optarg; break;
    case 'p': payload = optarg; break;
    case 'P': lines = optarg; break;
    case 'F': L.format = (uint16_t)atoi(optarg); break;
    case 'w': warmup = optarg; break;
    case 'o': acked = optarg; break;
    case 'u': psk_id = optarg; break;
    case 'k': psk_hex = optarg; break;
    case 'h': puts(usage); return 0;
    default: fprintf(stderr, "%s\n", usage); return 2;
    }
  }
  duration_ms = parse_duration_ms(duration);
  warmup_ms = parse_duration_ms(warmup);
  L.method = method_of(method ? method : (payload || lines) ? "post" : "get");
  if (optind != argc - 1 || L.nclients < 1 || L.nclients > MAX_CLIENTS ||
      duration_ms <= 0 || warmup_ms < 0 || !L.method || (payload && lines)) {
    fprintf(stderr, "%s\n", usage);
    return 2;
  }
  if (uri_parse(argv[optind], &u, why, sizeof why) < 0) {
    fprintf(stderr, "coapload: %s\n", why);
    return 2;
  }
  if (u.secure && (!psk_id || !psk_hex ||
                   psk_parse(psk_id, psk_hex, &load_psk, why, sizeof why) < 0)) {
    fprintf(stderr, "coapload: coaps:// needs -u ID -k HEXKEY%s%s\n",
            psk_id && psk_hex ? ": " : "", psk_id && psk_hex ? why : "");
    return 2;
  }
  if (payload) {
    L.templates = malloc(sizeof *L.templates);
    if (!L.templates || !(L.templates[0] = strdup(payload)))
      return 1;
    L.ntemplates = 1;
  } else if (lines && read_templates(lines) < 0) {
    return 2;
  }
  if (acked && !(L.acked = fopen(acked, "a"))) {
    fprintf(stderr, "coapload: %s: %s\n", acked, strerror(errno));
    return 2;
  }

  log_init("coapload", NLOG_WARN);
  coap_startup();
  coap_set_log_level(LOG_EMERG);    /* failures are counted, not logged */
  L.ctx = coap_new_context(NULL);
  if (!L.ctx)
    return 1;
  coap_context_set_block_mode(L.ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
  coap_register_response_handler(L.ctx, on_response);
  coap_register_nack_handler(L.ctx, on_nack);
  loop_init(L.ctx);
  build_options(&u);
  if (start_clients(&u) < 0)
    return 1;

  L.t0_us = now_us();
  L.measure_from_us = L.t0_us + (uint64_t)warmup_ms * 1000;
  if (!L.limit)
    loop_after((uint64_t)(warmup_ms + duration_ms), on_duration_end, NULL);
  for (int i = 0; i < L.nclients; i++)
    send_next(&L.clients[i]);
  loop_run();
  report();
  rc = L.ok ? 0 : 1;

  if (L.acked)
    fclose(L.acked);
  for (int i = 0; i < L.nclients; i++) {
    free(L.clients[i].payload);
    coap_session_release(L.clients[i].session);
  }
  coap_delete_optlist(L.options);
  coap_free_context(L.ctx);
  coap_cleanup();
  for (size_t i = 0; i < L.ntemplates; i++)
    free(L.templates[i]);
  free(L.templates);
  free(L.lat_us);
  return rc;
}
