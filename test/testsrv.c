/* testsrv.c - a small server built from nano's core, for the core's tests
 * until the roles land.
 *
 * usage: testsrv --listen HOST:PORT
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

int main(int argc, char **argv)
{
  struct opt opts[] = { ROLE_COMMON_OPTS, { 0 } };
  struct nano_server *s;
  int rc = role_start("test", opts, argc, argv, "usage: testsrv [--listen HOST:PORT]", &s);

  if (rc >= 0)
    return rc;
  big = malloc(300001);
  for (int i = 0; i < 300000; i++)
    big[i] = i % 64 == 63 ? '\n' : 'a' + i % 26;
  big[300000] = '\0';
  server_route(s, "echo", 0, NULL, post_echo, NULL, NULL, NULL);
  server_route(s, "big", 0, get_big, NULL, NULL, NULL, NULL);
  counter_res = server_route(s, "counter", 1, get_counter, post_counter, NULL, NULL, NULL);
  server_route(s, "items/*", 0, item, NULL, item, item, NULL);
  server_route(s, "relay", 0, NULL, post_relay, NULL, NULL, NULL);
  ctx = server_ctx(s);
  loop_run();
  log_info("stopped");
  role_finish(s, opts);
  free(big);
  return 0;
}
