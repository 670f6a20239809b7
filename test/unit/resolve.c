/* resolve.c - unit tests of the lookups off the loop (src/resolve.c): the
 * results come back on the loop's thread, a name asked twice is looked up
 * once, a name that does not resolve says why.  Names that resolve from
 * /etc/hosts or are literals: no DNS server is needed. */
#include "loop.h"
#include "resolve.h"
#include "tap.h"

#include <pthread.h>
#include <string.h>

static pthread_t loop_thread;
static int calls, on_loop = 1, ok_localhost, ok_literal, failed_bad;
static char bad_err[300];

static void on_resolved(const char *host, int ok, const coap_address_t *addr,
                        const char *err)
{
  calls++;
  if (!pthread_equal(pthread_self(), loop_thread))
    on_loop = 0;
  if (!strcmp(host, "localhost") && ok)
    ok_localhost++;
  if (!strcmp(host, "127.0.0.7") && ok && addr->addr.sa.sa_family == AF_INET)
    ok_literal++;
  if (!strcmp(host, "no-such-host.invalid") && !ok) {
    failed_bad++;
    snprintf(bad_err, sizeof bad_err, "%s", err);
  }
  if (calls == 3)
    loop_stop(0);
}

static void too_long(void *arg)
{
  (void)arg;
  loop_stop(1);
}

int main(void)
{
  plan(7);
  loop_thread = pthread_self();
  loop_init(NULL);
  resolve_set_callback(on_resolved);
  ok(resolve_start("localhost") == 0, "a name is asked");
  ok(resolve_start("localhost") == 0, "asked again while it runs: not queued twice");
  resolve_start("127.0.0.7");
  resolve_start("no-such-host.invalid");
  loop_after(30000, too_long, NULL);
  is_int(loop_run(), 0, "three results within 30 s");
  ok(on_loop, "every callback ran on the loop's thread");
  ok(ok_localhost == 1 && ok_literal == 1, "one result per name, with its address");
  ok(failed_bad == 1, "a name that does not resolve fails");
  ok(strstr(bad_err, "cannot resolve 'no-such-host.invalid'") != NULL, "with the reason");
  return done_testing();
}
