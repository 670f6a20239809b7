/* resolve.c - host name lookups on one worker thread (resolve.h).
 *
 * The house has no threads but this one, and it only ever calls
 * getaddrinfo (thread-safe in musl and glibc) on a name copied into its
 * slot.  Slots go FREE -> QUEUED (loop) -> RUNNING (worker) -> DONE
 * (worker) -> FREE (loop, after the callback); one mutex guards them.
 * The worker writes a byte to a pipe when a slot is DONE; the loop side
 * polls that pipe (loop_add_fd) and runs the callbacks there.
 */
#include "resolve.h"
#include "loop.h"
#include "uri.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { SLOT_FREE, SLOT_QUEUED, SLOT_RUNNING, SLOT_DONE };

struct slot {
  int state;
  char host[256];
  int ok;
  coap_address_t addr;
  char err[300];
};

static struct {
  pthread_mutex_t lock;
  pthread_cond_t work;
  struct slot slots[RESOLVE_MAX];
  int pipe[2];
  int started;                /* the worker runs */
  resolve_fn fn;
} R = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { { 0 } }, { -1, -1 }, 0, NULL };

void resolve_set_callback(resolve_fn fn)
{
  R.fn = fn;
}

static struct slot *next_queued(void)
{
  for (int i = 0; i < RESOLVE_MAX; i++)
    if (R.slots[i].state == SLOT_QUEUED)
      return &R.slots[i];
  return NULL;
}

static void *worker(void *unused)
{
  (void)unused;
  pthread_mutex_lock(&R.lock);
  for (;;) {
    struct slot *s = next_queued();
    char host[256], err[300];
    coap_address_t addr;
    int ok;

    if (!s) {
      pthread_cond_wait(&R.work, &R.lock);
      continue;
    }
    s->state = SLOT_RUNNING;
    memcpy(host, s->host, sizeof host);
    pthread_mutex_unlock(&R.lock);
    memset(&addr, 0, sizeof addr);
    /* uri_resolve is getaddrinfo and memcpy: nothing of the loop's. */
    ok = uri_resolve(host, 0, 0, &addr, err, sizeof err) == 0;
    pthread_mutex_lock(&R.lock);
    s->ok = ok;
    s->addr = addr;
    memcpy(s->err, err, sizeof err);
    s->state = SLOT_DONE;
    if (write(R.pipe[1], "", 1) < 0) {
      /* full: the loop has a byte to read already */
    }
  }
  return NULL;
}

/* On the loop: hand every finished lookup to the callback, outside the
 * lock (the callback may start new lookups). */
static void on_done(int fd, short revents, void *unused)
{
  char buf[64];
  struct slot done;

  (void)revents;
  (void)unused;
  while (read(fd, buf, sizeof buf) > 0)
    ;
  for (int i = 0; i < RESOLVE_MAX; i++) {
    pthread_mutex_lock(&R.lock);
    if (R.slots[i].state != SLOT_DONE) {
      pthread_mutex_unlock(&R.lock);
      continue;
    }
    done = R.slots[i];
    R.slots[i].state = SLOT_FREE;
    pthread_mutex_unlock(&R.lock);
    if (R.fn)
      R.fn(done.host, done.ok, &done.addr, done.err);
  }
}

/* The worker starts with the first name to look up (a role whose peers
 * are all numeric never has one), with every signal blocked: SIGTERM
 * must reach the loop's thread, whose poll() it interrupts. */
static int start_worker(void)
{
  pthread_attr_t attr;
  pthread_t t;
  sigset_t all, old;
  int rc;

  if (R.started)
    return 0;
  if (R.pipe[0] < 0) {
    if (pipe(R.pipe) < 0)
      return -1;
    for (int i = 0; i < 2; i++) {
      fcntl(R.pipe[i], F_SETFL, O_NONBLOCK);
      fcntl(R.pipe[i], F_SETFD, FD_CLOEXEC);
    }
  }
  if (loop_add_fd(R.pipe[0], POLLIN, on_done, NULL) < 0)
    return -1;
  pthread_attr_init(&attr);
  /* Detached: exit() never waits for a lookup that hangs. */
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  rc = pthread_create(&t, &attr, worker, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (rc)
    return -1;
  R.started = 1;
  return 0;
}

int resolve_start(const char *host)
{
  struct slot *free_slot = NULL;

  if (strlen(host) >= sizeof R.slots[0].host || start_worker() < 0)
    return -1;
  pthread_mutex_lock(&R.lock);
  for (int i = 0; i < RESOLVE_MAX; i++) {
    struct slot *s = &R.slots[i];
    if (s->state != SLOT_FREE && !strcmp(s->host, host)) {
      pthread_mutex_unlock(&R.lock);
      return 0;
    }
    if (s->state == SLOT_FREE && !free_slot)
      free_slot = s;
  }
  if (free_slot) {
    snprintf(free_slot->host, sizeof free_slot->host, "%s", host);
    free_slot->state = SLOT_QUEUED;
    pthread_cond_signal(&R.work);
  }
  pthread_mutex_unlock(&R.lock);
  return free_slot ? 0 : -1;
}
