/* health.c - exit 0 when the role on this host answers GET /health.
 *
 * usage: nano health [URI]
 *
 * The HEALTHCHECK of the FROM-scratch image, which has no shell or curl.
 * Without URI it asks coap://127.0.0.1:PORT/health, PORT taken from
 * NANO_LISTEN (the role's own listen address) or 5683.  A URI without a
 * path (coap://HOST, coaps://HOST:PORT/) asks that host's /health.
 */
#include "client.h"
#include "loop.h"
#include "nano.h"
#include "uri.h"

#include <stdio.h>
#include <string.h>

static void on_health(void *arg, int code, const uint8_t *body, size_t len)
{
  int *status = arg;
  char buf[16];

  if (code != 205)
    fprintf(stderr, "health: %s %.*s\n", client_code_text(code, buf, sizeof buf),
            (int)len, body ? (const char *)body : "");
  *status = code == 205 ? 0 : 1;
  loop_stop(*status);
}

/* The first address of NANO_LISTEN, made reachable from this host. */
static void default_uri(char *uri, size_t size)
{
  const char *listen = getenv("NANO_LISTEN");
  char host[256] = "", first[300] = "", err[128];
  uint16_t port = 5683;

  if (listen && *listen) {
    snprintf(first, sizeof first, "%.*s", (int)strcspn(listen, ","), listen);
    if (hostport_parse(first, host, sizeof host, &port, err, sizeof err) < 0)
      port = 5683, host[0] = '\0';
  }
  /* A role with keys serves DTLS on 5684 and GET /health plain on 5683 */
  if (port == 5684)
    port = 5683;
  if (!*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "::"))
    snprintf(uri, size, "coap://127.0.0.1:%u/health", port);
  else if (strchr(host, ':'))
    snprintf(uri, size, "coap://[%s]:%u/health", host, port);
  else
    snprintf(uri, size, "coap://%s:%u/health", host, port);
}

int cmd_health(int argc, char **argv)
{
  struct client_opts co = { 2000, 0, 0, -1 };
  char uri[400];
  const char *err = NULL;
  int status = 1;
  coap_context_t *ctx;

  if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    puts("usage: nano health [URI]\n"
         "exit 0 when GET URI (default coap://127.0.0.1:<NANO_LISTEN port>/health;"
         " coap://HOST means its /health) answers 2.05");
    return 0;
  }
  if (argc > 2) {
    fprintf(stderr, "usage: nano health [URI]\n");
    return 2;
  }
  if (argc == 2) {
    struct nano_uri u;
    char why[128];
    size_t n = strlen(argv[1]);
    /* a base URI means the host: its /health, not its / */
    if (uri_parse(argv[1], &u, why, sizeof why) == 0 && !u.path[0] && !u.query[0])
      snprintf(uri, sizeof uri, "%.*s/health", (int)(n && argv[1][n - 1] == '/' ? n - 1 : n),
               argv[1]);
    else
      snprintf(uri, sizeof uri, "%s", argv[1]);
  } else {
    default_uri(uri, sizeof uri);
  }

  log_init("health", NLOG_WARN);
  ctx = client_context_new();
  if (!ctx)
    return 1;
  if (!client_request(ctx, COAP_REQUEST_GET, uri, NULL, 0, &co, on_health, &status,
                      &err)) {
    fprintf(stderr, "health: %s\n", err);
    status = 1;
  } else {
    loop_run();
  }
  client_context_free(ctx);
  return status;
}
