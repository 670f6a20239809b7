/* roles.c - libFuzzer drives a whole role: build/fuzz/nano-fuzz.
 *
 * nano-fuzz is nano itself (every applet, the real main), built with
 * -DNANO_FUZZ and this file.  A role starts as always: options, server,
 * routes, state, simulated hardware.  When NANO_FUZZ_ARGS is set, its
 * loop_run() (src/loop.c) calls nano_fuzz_loop() below instead of polling
 * forever, and libFuzzer's LLVMFuzzerRunDriver takes over with
 * NANO_FUZZ_ARGS as its command line (split on blanks; no quoting):
 *
 *   NANO_LISTEN=127.9.0.1:5683 NANO_FUZZ_ARGS='-max_total_time=60 CORPUS' \
 *       build/fuzz/nano-fuzz pd --sensor sim --location entrance ...
 *
 * Each input is one to MAX_DGRAMS datagrams, each a 2-byte big-endian
 * length and that many bytes (the last one may be short: what is left).
 * They are sent in order from one client UDP socket, so they are one
 * peer, one libcoap session: a Block1 upload, its restart, an Observe
 * and its cancel are reachable.  After each datagram the role's loop
 * turns (coap_io_process without waiting, its fds and due timers) until
 * libcoap has nothing left to read, at most MAX_TURNS times; answers are
 * read and dropped.  The role's state lives on from input to input, as a
 * server's does: an input may depend on the ones before (a crash file
 * replays alone, which is what the regression test does).
 *
 * The address is the role's own: the first HOST:PORT of NANO_LISTEN, the
 * environment twin of --listen (test/fuzz/run.sh sets it).
 *
 * libFuzzer modes that run the binary again (-fork, -jobs, -merge) do not
 * work here: argv[0] alone is not a role.  test/fuzz/run.sh replays files.
 */
#include "nano.h"
#include "uri.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DGRAMS 8
#define MAX_TURNS 32
#define MAX_ARGS 64

int LLVMFuzzerRunDriver(int *argc, char ***argv,
                        int (*cb)(const uint8_t *data, size_t size));
int nano_fuzz_loop(const char *args, int coap_fd, void (*turn)(void));

static struct {
  int sock;                   /* the one peer */
  int coap_fd;                /* libcoap's epoll fd: readable = work to do */
  void (*turn)(void);
} F = { .sock = -1, .coap_fd = -1 };

static void drain(void)
{
  uint8_t buf[2048];

  for (int i = 0; i < 256; i++)
    if (recv(F.sock, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno != ECONNREFUSED)
      return;
}

static int coap_pending(void)
{
  struct pollfd p = { .fd = F.coap_fd, .events = POLLIN };
  return F.coap_fd >= 0 && poll(&p, 1, 0) > 0;
}

/* The role's loop until libcoap has nothing more to read (at least one
 * turn: the datagram just sent is waiting). */
static void settle(void)
{
  for (int t = 0; t < MAX_TURNS; t++) {
    F.turn();
    drain();
    if (!coap_pending())
      break;
  }
}

static int one_input(const uint8_t *data, size_t size)
{
  size_t i = 0;

  for (int n = 0; n < MAX_DGRAMS && i + 2 <= size; n++) {
    size_t len = (size_t)data[i] << 8 | data[i + 1];
    i += 2;
    if (len > size - i)
      len = size - i;
    if (send(F.sock, data + i, len, 0) < 0 && errno != ECONNREFUSED)
      fprintf(stderr, "nano-fuzz: send: %s\n", strerror(errno));
    i += len;
    settle();
  }
  return 0;
}

/* A client socket connected to the first address of NANO_LISTEN. */
static int peer_socket(void)
{
  const char *spec = getenv("NANO_LISTEN");
  char first[300], host[256], err[160];
  char port_text[8];
  uint16_t port;
  struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
  int fd, rc;

  if (!spec || !*spec) {
    fprintf(stderr, "nano-fuzz: NANO_LISTEN=HOST:PORT must name the role's address\n");
    return -1;
  }
  snprintf(first, sizeof first, "%.*s", (int)strcspn(spec, ","), spec);
  if (hostport_parse(first, host, sizeof host, &port, err, sizeof err) < 0) {
    fprintf(stderr, "nano-fuzz: NANO_LISTEN: %s\n", err);
    return -1;
  }
  if (!*host || !strcmp(host, "0.0.0.0"))
    snprintf(host, sizeof host, "127.0.0.1");
  else if (!strcmp(host, "::"))
    snprintf(host, sizeof host, "::1");
  snprintf(port_text, sizeof port_text, "%u", port);
  if ((rc = getaddrinfo(host, port_text, &hints, &ai)) != 0) {
    fprintf(stderr, "nano-fuzz: %s: %s\n", host, gai_strerror(rc));
    return -1;
  }
  fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
    fprintf(stderr, "nano-fuzz: %s:%u: %s\n", host, port, strerror(errno));
    if (fd >= 0)
      close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  return fd;
}

int nano_fuzz_loop(const char *args, int coap_fd, void (*turn)(void))
{
  static char *argv_buf[MAX_ARGS + 1];
  char *copy = strdup(args), *save = NULL, **argv = argv_buf;
  int argc = 0, rc;

  F.sock = peer_socket();
  F.coap_fd = coap_fd;
  F.turn = turn;
  if (F.sock < 0 || !copy)
    return 1;
  argv[argc++] = "nano-fuzz";
  for (char *a = strtok_r(copy, " \t\n", &save); a && argc < MAX_ARGS;
       a = strtok_r(NULL, " \t\n", &save))
    argv[argc++] = a;
  argv[argc] = NULL;
  rc = LLVMFuzzerRunDriver(&argc, &argv, one_input);
  /* libFuzzer exits by itself when done; in case it returns: */
  close(F.sock);
  free(copy);
  return rc;
}
