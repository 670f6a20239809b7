/* coap.c - a CoAP client in the same binary (what the paper needed npm's
 * coap-cli and a Python subprocess for).
 *
 * usage: nano coap [-t SECS] [-n COUNT] [-v] [-u ID -k HEXKEY | -u ID -K FILE]
 *                  get|post|put|delete|observe URI [PAYLOAD|-]
 *
 * coaps:// URIs go over DTLS with the pre-shared key of identity -u: the
 * key given with -k (as libcoap's coap-client takes it, but in hex), or
 * the identity's line of the keys file -K (NANO_KEYS when neither is
 * given; without -u, the file's first line).
 *
 * The answer's body goes to stdout (observe: one notification a line);
 * with -v its code goes to stderr.
 * PAYLOAD "-" (or none, for post/put, when stdin is not a terminal) is
 * read from stdin.  Bodies larger than a datagram go block-wise.
 * Exit: 0 on 2.xx, 1 on 4.xx/5.xx, 2 on usage, 3 on timeout/unreachable.
 * observe prints one line per notification until -t seconds passed (then
 * exit 0 if any notification came), -n notifications arrived, or SIGINT.
 */
#include "client.h"
#include "keys.h"
#include "loop.h"
#include "nano.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_STDIN_BODY (8 * 1024 * 1024)

static const char coap_usage[] =
  "usage: nano coap [-t SECS] [-n COUNT] [-v] [-u ID -k HEXKEY | [-u ID] -K FILE]\n"
  "                 get|post|put|delete URI [PAYLOAD|-]\n"
  "       nano coap [options] observe URI\n"
  "coaps:// URIs use DTLS with identity ID's pre-shared key (-k, or the keys\n"
  "file -K or NANO_KEYS)\n"
  "exit: 0 on 2.xx, 1 on 4.xx/5.xx, 2 on usage, 3 on timeout or unreachable";

struct coap_run {
  int verbose;
  int observe;
  long max_notifications;
  long notifications;
  int exit_code;
  unsigned id;
};

static void print_body(const uint8_t *body, size_t len, int observing)
{
  if (!len)
    return;
  fwrite(body, 1, len, stdout);
  /* A newline for a person at a terminal; exact bytes into a pipe. */
  if (body[len - 1] != '\n' && (observing || isatty(1)))
    putchar('\n');
  fflush(stdout);
}

static void on_answer(void *arg, int code, const uint8_t *body, size_t len)
{
  struct coap_run *run = arg;
  char buf[16];

  if (run->verbose || code < 0)
    fprintf(stderr, "%s\n", client_code_text(code, buf, sizeof buf));
  if (code < 0) {
    /* For observe, the -t time running out ends a good session. */
    run->exit_code = run->observe && run->notifications ? 0 : 3;
    loop_stop(run->exit_code);
    return;
  }
  print_body(body, len, run->observe);
  if (run->observe && code / 100 == 2) {
    run->notifications++;
    if (run->max_notifications && run->notifications >= run->max_notifications) {
      run->exit_code = 0;
      loop_stop(0);
    }
    return;
  }
  run->exit_code = code / 100 == 2 ? 0 : 1;
  loop_stop(run->exit_code);
}

static int read_stdin(char **out, size_t *len)
{
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);

  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, stdin);
    n += got;
    if (got == 0)
      break;
    if (n == cap) {
      if (cap >= MAX_STDIN_BODY) {
        fprintf(stderr, "coap: payload on stdin larger than %d bytes\n",
                MAX_STDIN_BODY);
        free(buf);
        return -1;
      }
      char *bigger = realloc(buf, cap * 2);
      if (!bigger)
        break;
      buf = bigger;
      cap *= 2;
    }
  }
  if (!buf)
    return -1;
  *out = buf;
  *len = n;
  return 0;
}

/* -u/-k/-K (or NANO_KEYS) into me; me->key_len 0 when none was given. */
static int credentials(const char *identity, const char *hexkey, const char *keyfile,
                       struct psk *me)
{
  struct keyring kr;
  const struct psk *k;
  char err[300];

  memset(me, 0, sizeof *me);
  if (hexkey && keyfile) {
    fprintf(stderr, "coap: -k and -K together: give one\n");
    return -1;
  }
  if (hexkey) {
    if (!identity) {
      fprintf(stderr, "coap: -k needs -u IDENTITY\n");
      return -1;
    }
    if (psk_parse(identity, hexkey, me, err, sizeof err) < 0) {
      fprintf(stderr, "coap: %s\n", err);
      return -1;
    }
    return 0;
  }
  if (!keyfile && !(keyfile = getenv("NANO_KEYS")))
    return identity ? (fprintf(stderr, "coap: -u needs -k HEXKEY or -K FILE\n"), -1) : 0;
  if (keyring_load(keyfile, &kr, err, sizeof err) < 0) {
    fprintf(stderr, "coap: %s\n", err);
    return -1;
  }
  k = identity ? keyring_find(&kr, identity, strlen(identity)) : &kr.keys[0];
  if (!k)
    fprintf(stderr, "coap: '%s' has no line in %s\n", identity, keyfile);
  else
    *me = *k;
  keyring_free(&kr);
  return k ? 0 : -1;
}

static int method_of(const char *name)
{
  if (!strcmp(name, "get") || !strcmp(name, "observe")) return COAP_REQUEST_GET;
  if (!strcmp(name, "post")) return COAP_REQUEST_POST;
  if (!strcmp(name, "put")) return COAP_REQUEST_PUT;
  if (!strcmp(name, "delete")) return COAP_REQUEST_DELETE;
  return 0;
}

int cmd_coap(int argc, char **argv)
{
  struct coap_run run = { 0 };
  struct client_opts co = { 5000, 0, 0, -1 };
  const char *err = NULL;
  char *body = NULL;
  size_t len = 0;
  double secs = -1;
  int opt, method;
  coap_context_t *ctx;
  const char *identity = NULL, *hexkey = NULL, *keyfile = NULL;
  struct psk me;

  if (argc > 1 && !strcmp(argv[1], "--help")) {
    puts(coap_usage);
    return 0;
  }
  while ((opt = getopt(argc, argv, "+t:n:vhu:k:K:")) != -1) {
    switch (opt) {
    case 'u':
      identity = optarg;
      break;
    case 'k':
      hexkey = optarg;
      break;
    case 'K':
      keyfile = optarg;
      break;
    case 't':
      secs = strtod(optarg, NULL);
      if (secs <= 0 || secs > 86400) {
        fprintf(stderr, "coap: -t wants seconds (0 < t <= 86400)\n");
        return 2;
      }
      break;
    case 'n':
      run.max_notifications = strtol(optarg, NULL, 10);
      break;
    case 'v':
      run.verbose = 1;
      break;
    case 'h':
      puts(coap_usage);
      return 0;
    default:
      fprintf(stderr, "%s\n", coap_usage);
      return 2;
    }
  }
  argc -= optind;
  argv += optind;
  if (argc < 2 || argc > 3 || !(method = method_of(argv[0]))) {
    fprintf(stderr, "%s\n", coap_usage);
    return 2;
  }
  if (credentials(identity, hexkey, keyfile, &me) < 0)
    return 2;
  client_set_psk(me.key_len ? &me : NULL, 0);
  memset(&me, 0, sizeof me);
  run.observe = !strcmp(argv[0], "observe");
  if (run.observe && argc != 2) {
    fprintf(stderr, "%s\n", coap_usage);
    return 2;
  }
  /* observe runs until interrupted unless -t is given */
  co.timeout_ms = secs > 0 ? (unsigned)(secs * 1000) : run.observe ? 86400000u : 5000;
  co.observe = run.observe;
  if (argc == 3 && strcmp(argv[2], "-")) {
    body = strdup(argv[2]);
    len = strlen(body);
  } else if ((argc == 3 || ((method == COAP_REQUEST_POST || method == COAP_REQUEST_PUT)
                            && !isatty(0)))) {
    if (read_stdin(&body, &len) < 0)
      return 2;
  }

  log_init("coap", NLOG_WARN);
  ctx = client_context_new();
  if (!ctx) {
    fprintf(stderr, "coap: cannot create a CoAP context\n");
    free(body);
    return 3;
  }
  run.exit_code = 3;
  run.id = client_request(ctx, method, argv[1], body, len, &co, on_answer, &run, &err);
  free(body);
  if (!run.id) {
    fprintf(stderr, "coap: %s\n", err);
    client_context_free(ctx);
    return strstr(err, "URI") ? 2 : 3;
  }
  loop_run();
  if (loop_stopped_by_signal() && run.observe)
    run.exit_code = run.notifications ? 0 : 3;
  if (client_pending()) {
    /* Deregister an observation so the server stops notifying us. */
    client_cancel(run.id);
    loop_drain(100);
  }
  client_context_free(ctx);
  return run.exit_code;
}
