/* loop.c - one poll() loop for libcoap, other fds, timers and signals.
 *
 * libcoap (built with epoll) exposes one fd for all its sockets and its
 * retransmission timer; coap_io_prepare_epoll() tells how long libcoap may
 * sleep, and coap_io_process(ctx, COAP_IO_NO_WAIT) does its work without
 * blocking.  Signals are turned into a byte on a self-pipe so that they
 * wake poll() without races.
 */
#include "loop.h"
#include "nano.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOOP_MAX_FDS 32
/* With a turn-end hook (loop_set_turn_end), how many datagrams one turn
 * reads before the hook runs: enough for a group commit to gather every
 * client's request under load, few enough that a flood cannot hold the
 * hook (and the answers it releases) back for long. */
#define LOOP_TURN_MAX_INPUT 64

struct loop_timer {
  uint64_t due;
  loop_timer_fn fn;
  void *arg;
  struct loop_timer *next;
};

struct watch {
  int fd;
  short events;
  loop_fd_fn fn;
  void *arg;
};

static struct {
  coap_context_t *ctx;
  int coap_fd;
  int sigpipe[2];
  struct watch watches[LOOP_MAX_FDS];
  int nwatches;
  struct loop_timer *timers;      /* sorted by due */
  loop_timer_fn turn_end;         /* runs after each turn's CoAP input */
  void *turn_end_arg;
  int stop, code, signal;
} L = { .coap_fd = -1, .sigpipe = { -1, -1 } };

static void on_signal(int sig)
{
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  if (write(L.sigpipe[1], &b, 1) < 0) {
    /* pipe full: a stop is already pending */
  }
  errno = saved;
}

int loop_init(coap_context_t *ctx)
{
  struct sigaction sa;

  L.ctx = ctx;
  L.coap_fd = ctx ? coap_context_get_coap_fd(ctx) : -1;
  if (L.sigpipe[0] < 0) {
    if (pipe(L.sigpipe) < 0)
      return -1;
    for (int i = 0; i < 2; i++) {
      fcntl(L.sigpipe[i], F_SETFL, O_NONBLOCK);
      fcntl(L.sigpipe[i], F_SETFD, FD_CLOEXEC);
    }
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  return 0;
}

int loop_add_fd(int fd, short events, loop_fd_fn fn, void *arg)
{
  for (int i = 0; i < L.nwatches; i++)
    if (L.watches[i].fd == fd) {
      L.watches[i] = (struct watch){ fd, events, fn, arg };
      return 0;
    }
  if (L.nwatches == LOOP_MAX_FDS)
    return -1;
  L.watches[L.nwatches++] = (struct watch){ fd, events, fn, arg };
  return 0;
}

void loop_del_fd(int fd)
{
  for (int i = 0; i < L.nwatches; i++)
    if (L.watches[i].fd == fd) {
      L.watches[i] = L.watches[--L.nwatches];
      return;
    }
}

struct loop_timer *loop_after(uint64_t ms, loop_timer_fn fn, void *arg)
{
  struct loop_timer *t = calloc(1, sizeof *t), **pp;

  if (!t)
    return NULL;
  t->due = now_ms() + ms;
  t->fn = fn;
  t->arg = arg;
  for (pp = &L.timers; *pp && (*pp)->due <= t->due; pp = &(*pp)->next)
    ;
  t->next = *pp;
  *pp = t;
  return t;
}

void loop_cancel(struct loop_timer *t)
{
  for (struct loop_timer **pp = &L.timers; t && *pp; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      free(t);
      return;
    }
}

void loop_stop(int code)
{
  L.stop = 1;
  L.code = code;
}

void loop_continue(void)
{
  L.stop = 0;
  L.code = 0;
}

int loop_stopped_by_signal(void)
{
  return L.signal;
}

static void run_due_timers(void)
{
  uint64_t now = now_ms();
  /* Timers added by a callback for "now" run on the next turn, so a
   * callback that re-arms itself with 0 ms cannot starve the loop. */
  int budget = 64;
  while (L.timers && L.timers->due <= now && budget-- > 0) {
    struct loop_timer *t = L.timers;
    L.timers = t->next;
    t->fn(t->arg);
    free(t);
  }
}

static void read_signals(void)
{
  unsigned char b;
  while (read(L.sigpipe[0], &b, 1) == 1) {
    L.signal = b;
    loop_stop(0);
    log_info("signal=%d stopping", b);
  }
}

int loop_coap_pending(void)
{
  struct pollfd p = { .fd = L.coap_fd, .events = POLLIN };

  return L.coap_fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

void loop_set_turn_end(loop_timer_fn fn, void *arg)
{
  L.turn_end = fn;
  L.turn_end_arg = arg;
}

/* One turn: wait at most max_wait_ms for anything, then do the work. */
static void loop_once(uint64_t max_wait_ms)
{
  struct pollfd pfd[LOOP_MAX_FDS + 2];
  struct watch ready[LOOP_MAX_FDS];
  int n = 0, nready = 0;
  uint64_t wait = max_wait_ms;
  int have_coap = L.ctx && L.coap_fd >= 0;

  if (L.ctx) {
    coap_tick_t now;
    coap_ticks(&now);
    /* 0 means libcoap has nothing scheduled */
    unsigned int coap_wait = coap_io_prepare_epoll(L.ctx, now);
    if (coap_wait && coap_wait < wait)
      wait = coap_wait;
  }
  if (L.timers) {
    uint64_t now = now_ms();
    uint64_t t = L.timers->due > now ? L.timers->due - now : 0;
    if (t < wait)
      wait = t;
  }
  if (have_coap)
    pfd[n++] = (struct pollfd){ .fd = L.coap_fd, .events = POLLIN };
  pfd[n++] = (struct pollfd){ .fd = L.sigpipe[0], .events = POLLIN };
  for (int i = 0; i < L.nwatches; i++)
    pfd[n++] = (struct pollfd){ .fd = L.watches[i].fd, .events = L.watches[i].events };

  int rc = poll(pfd, (nfds_t)n, wait > 60000 ? 60000 : (int)wait);
  if (rc < 0 && errno != EINTR)
    log_warn("poll: %s", strerror(errno));

  if (L.ctx) {
    /* Also when the fd was not ready: retransmissions and observe
     * notifications are due by time, not by input. */
    coap_io_process(L.ctx, COAP_IO_NO_WAIT);
    /* libcoap reads one datagram a call: a role with a turn-end hook
     * takes in what is already queued first, then the hook sees the
     * whole turn at once. */
    for (int i = 1; L.turn_end && i < LOOP_TURN_MAX_INPUT && loop_coap_pending(); i++)
      coap_io_process(L.ctx, COAP_IO_NO_WAIT);
    if (L.turn_end)
      L.turn_end(L.turn_end_arg);
  }
  if (rc > 0 && pfd[have_coap].revents)
    read_signals();
  /* Copy the ready watches first: a callback may add or remove watches. */
  for (int i = have_coap + 1; rc > 0 && i < n; i++)
    if (pfd[i].revents) {
      ready[nready] = L.watches[i - have_coap - 1];
      ready[nready++].events = pfd[i].revents;
    }
  for (int i = 0; i < nready; i++)
    ready[i].fn(ready[i].fd, ready[i].events, ready[i].arg);
  run_due_timers();
}

#ifdef NANO_FUZZ
/* make fuzz only (test/fuzz/roles.c): with NANO_FUZZ_ARGS set, a role's
 * loop_run() hands the loop to libFuzzer, which sends the role datagrams
 * and runs one turn at a time until the role has answered.  Weak, so the
 * plain fuzz targets that link this file without roles.c still link. */
int nano_fuzz_loop(const char *args, int coap_fd, void (*turn)(void))
  __attribute__((weak));

static void fuzz_turn(void)
{
  loop_once(0);
}
#endif

int loop_run(void)
{
#ifdef NANO_FUZZ
  if (getenv("NANO_FUZZ_ARGS") && nano_fuzz_loop)
    return nano_fuzz_loop(getenv("NANO_FUZZ_ARGS"), L.coap_fd, fuzz_turn);
#endif
  while (!L.stop)
    loop_once(60000);
  return L.code;
}

void loop_drain(uint64_t ms)
{
  uint64_t end = now_ms() + ms;
  int was = L.stop;
  while (now_ms() < end)
    loop_once(end - now_ms());
  L.stop = was;
}
