/* testsrv.c - a small server built from nano's core, for the core's own
 * tests (server, client, DTLS) without any role's logic.
 *
 * usage: testsrv --listen HOST:PORT [--psk IDENTITY:HEXKEY]
 *
 * --psk also serves CoAP over DTLS 1.2 (RFC 7252 9.1.3.1, pre-shared key)
 * on the first --listen host's port 5684: IDENTITY is the one client
 * identity it knows, HEXKEY its key (1 to 64 bytes in hex).  Another
 * identity, or the right one with another key, fails the handshake.  At
 * --log-level debug the log has mbedTLS's handshake (the chosen suite).
 *
 * Besides /.well-known/core, /health and /stats (the core's):
 *   POST /echo       answers the JSON object it got ({"n": int} required)
 *   GET  /big        300,000 bytes of text (block-wise)
 *   GET  /counter    observable; POST /counter increments it
 *   GET|PUT|DELETE /items/<id>   a prefix route; answers {"id": id}
 *   POST /relay {"uri","timeout_ms"}  POSTs {"relayed":true} to uri with the
 *                    core's client and answers {"code": the outcome}: the
 *                    client inside a long-lived process, for its tests
 */
#include "nano.h"
#include "role.h"
#include "uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long counter;
static coap_resource_t *counter_res;
static char *big;

static void post_echo(struct nano_req *r)
{
  struct jerr err;
  long long n;
  cJSON *o = req_json(r);
  if (!o)
    return;
  if (json_get_int(o, "n", JSON_REQUIRED, 0, 1000000, &n, &err) < 0) {
    cJSON_Delete(o);
    req_reply_error(r, 400, "%s", err.msg);
    return;
  }
  req_reply_json(r, 205, o);
}

static void get_big(struct nano_req *r)
{
  req_reply(r, 205, COAP_MEDIATYPE_TEXT_PLAIN, big, strlen(big));
}

static void get_counter(struct nano_req *r)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "counter", (double)counter);
  req_reply_json(r, 205, o);
}

static void post_counter(struct nano_req *r)
{
  counter++;
  server_notify(counter_res);
  req_reply_json(r, 204, NULL);
}

static void item(struct nano_req *r)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", r->tail);
  req_reply_json(r, r->method == COAP_REQUEST_DELETE ? 202 : 205, o);
}

static coap_context_t *ctx;

/* The answer to /relay comes later, as a separate response. */
static void relayed(void *arg, int code, const uint8_t *body, size_t len)
{
  (void)body;
  (void)len;
  log_info("relay code=%d", code);
  counter = code;               /* GET /counter shows the last outcome */
  server_notify(counter_res);
  free(arg);
}

static void post_relay(struct nano_req *r)
{
  struct jerr err;
  const char *uri, *why = NULL;
  long long timeout = 0;
  cJSON *o = req_json(r);
  struct client_opts co = { 0, 0, 0, -1 };
  static const char body[] = "{\"relayed\":true}";

  if (!o)
    return;
  if (json_get_string(o, "uri", JSON_REQUIRED, 256, &uri, &err) < 0 ||
      json_get_int(o, "timeout_ms", JSON_OPTIONAL, 1, 60000, &timeout, &err) < 0) {
    req_reply_error(r, 400, "%s", err.msg);
    cJSON_Delete(o);
    return;
  }
  co.timeout_ms = (unsigned)timeout;
  if (!client_request(ctx, COAP_REQUEST_POST, uri, body, strlen(body), &co, relayed,
                      malloc(1), &why))
    req_reply_error(r, 400, "%s", why);
  else
    req_reply_json(r, 201, NULL);
  cJSON_Delete(o);
}

/* ---- --psk: one identity and its key, on a DTLS endpoint -------------- */

static uint8_t psk_id[COAP_DTLS_MAX_PSK_IDENTITY], psk_key[COAP_DTLS_MAX_PSK];
static size_t psk_id_len, psk_key_len;
static coap_bin_const_t psk_key_bin;

/* The server's identity check: libcoap asks with the client's identity
 * and takes the key to use, or NULL to fail the handshake. */
static const coap_bin_const_t *psk_check(coap_bin_const_t *identity,
                                         coap_session_t *session, void *arg)
{
  (void)session;
  (void)arg;
  if (identity->length == psk_id_len && !memcmp(identity->s, psk_id, psk_id_len))
    return &psk_key_bin;
  log_info("psk: unknown identity '%.*s'", (int)identity->length, (const char *)identity->s);
  return NULL;
}

static int hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
         c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "IDENTITY:HEXKEY" (the last ':' splits) -> psk_id, psk_key; -1 if bad. */
static int psk_parse(const char *spec)
{
  const char *colon = strrchr(spec, ':'), *hex;
  size_t hexlen;

  if (!colon || colon == spec || (size_t)(colon - spec) > sizeof psk_id)
    return -1;
  psk_id_len = (size_t)(colon - spec);
  memcpy(psk_id, spec, psk_id_len);
  hex = colon + 1;
  hexlen = strlen(hex);
  if (!hexlen || hexlen % 2 || hexlen / 2 > sizeof psk_key)
    return -1;
  for (size_t i = 0; i < hexlen / 2; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    psk_key[i] = (uint8_t)(hi << 4 | lo);
  }
  psk_key_len = hexlen / 2;
  psk_key_bin.s = psk_key;
  psk_key_bin.length = psk_key_len;
  return 0;
}

/* The DTLS endpoint: the host of --listen's first address, port 5684. */
static int psk_listen(coap_context_t *c, const char *listen)
{
  char host[256] = "::", err[256], first[300], text[80];
  uint16_t port;
  coap_address_t addr;
  coap_dtls_spsk_t setup;

  if (!coap_dtls_psk_is_supported()) {
    log_error("psk: this libcoap has no DTLS with pre-shared keys");
    return -1;
  }
  if (listen && *listen) {
    snprintf(first, sizeof first, "%.*s", (int)strcspn(listen, ","), listen);
    if (hostport_parse(first, host, sizeof host, &port, err, sizeof err) < 0) {
      log_error("psk: listen=%s %s", first, err);
      return -1;
    }
    if (!*host)
      strcpy(host, "::");
  }
  if (uri_resolve(host, COAPS_DEFAULT_PORT, 1, &addr, err, sizeof err) < 0) {
    log_error("psk: %s %s", host, err);
    return -1;
  }
  memset(&setup, 0, sizeof setup);
  setup.version = COAP_DTLS_SPSK_SETUP_VERSION;
  setup.validate_id_call_back = psk_check;
  setup.psk_info.key = psk_key_bin;
  if (!coap_context_set_psk2(c, &setup)) {
    log_error("psk: coap_context_set_psk2 failed");
    return -1;
  }
  /* mbedTLS's own handshake log (level 2: states, the chosen suite) into
   * ours, which shows libcoap's lines at debug */
  if (log_level() >= NLOG_DEBUG)
    coap_dtls_set_log_level(COAP_LOG_NOTICE);
  addr_text(&addr, text, sizeof text);
  if (!coap_new_endpoint(c, &addr, COAP_PROTO_DTLS)) {
    log_error("psk: listen=%s cannot create the DTLS endpoint", text);
    return -1;
  }
  log_info("listen=%s dtls psk identity=%.*s", text, (int)psk_id_len, (const char *)psk_id);
  return 0;
}

static const struct opt test_opts[] = {
  { "psk", OPT_STR, NULL, "IDENTITY:HEXKEY: also CoAP over DTLS (PSK) on the listen host's port 5684" },
  { 0 }
};

static int test_configure(struct opt *opts)
{
  if (opt_str(opts, "psk") && psk_parse(opt_str(opts, "psk")) < 0) {
    log_error("--psk wants IDENTITY:HEXKEY (a key of 1 to 64 bytes)");
    return 2;
  }
  return 0;
}

static int test_start(struct nano_server *s, struct opt *opts)
{
  if (opt_str(opts, "psk") && psk_listen(server_ctx(s), opt_str(opts, "listen")) < 0)
    return 1;
  big = malloc(300001);
  if (!big)
    return 1;
  for (int i = 0; i < 300000; i++)
    big[i] = i % 64 == 63 ? '\n' : 'a' + i % 26;
  big[300000] = '\0';
  server_route(s, "echo", 0, NULL, post_echo, NULL, NULL, NULL);
  server_route(s, "big", 0, get_big, NULL, NULL, NULL, NULL);
  counter_res = server_route(s, "counter", 1, get_counter, post_counter, NULL, NULL, NULL);
  server_route(s, "items/*", 0, item, NULL, item, item, NULL);
  server_route(s, "relay", 0, NULL, post_relay, NULL, NULL, NULL);
  ctx = server_ctx(s);
  return 0;
}

static int test_stop(struct nano_server *s)
{
  log_info("stopped");
  return 0;
}

static void test_cleanup(void)
{
  free(big);
}

/* A role like the six (role.h), without an access table. */
static const struct role test_role = {
  "usage: testsrv [--listen HOST:PORT] [--psk IDENTITY:HEXKEY]", test_opts, NULL,
  test_configure, test_start, test_stop, test_cleanup
};

int main(int argc, char **argv)
{
  return role_main("test", &test_role, argc, argv);
}
