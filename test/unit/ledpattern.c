/* ledpattern.c - unit tests of the time-sliced chase (src/ledpattern.c),
 * with injected time: no clock, no sleeps. */
#include "ledpattern.h"
#include "tap.h"

/* The LEDs as a string, "1000" for LED 0 lit of 4. */
static const char *show(struct ledpat *p, uint64_t now)
{
  static char buf[LEDPAT_MAX_LEDS + 1];
  uint8_t on[LEDPAT_MAX_LEDS];

  ledpat_advance(p, now);
  ledpat_leds(p, on);
  for (int i = 0; i < p->nleds; i++)
    buf[i] = on[i] ? '1' : '0';
  buf[p->nleds] = '\0';
  return buf;
}

static int lit(struct ledpat *p, uint64_t now)
{
  const char *s = show(p, now);
  int n = 0;
  for (; *s; s++)
    n += *s == '1';
  return n;
}

int main(void)
{
  struct ledpat p;
  const uint8_t r1[] = { 0, 1, 2 };        /* entrance -> R1 */
  const uint8_t r2[] = { 0, 3 };           /* shares LED 0, then branches */
  const uint8_t bad[] = { 0, 9 };

  plan(34);

  ledpat_init(&p, 4, 100);
  is_int(ledpat_add_route(&p, r1, 3), 0, "route 0");
  is_int(ledpat_add_route(&p, r2, 2), 1, "route 1");
  is_int(ledpat_add_route(&p, bad, 2), -1, "a route with an LED out of range is refused");
  is_int(ledpat_add_route(&p, r1, 0), -1, "an empty route is refused");

  is_str(show(&p, 0), "0000", "idle: all off");
  is_int(ledpat_next_due(&p), (long long)LEDPAT_IDLE, "idle: nothing due");

  /* one guidance: a dot chases toward the room, then a dark step */
  ledpat_set_active(&p, 1u << 0, 1000);
  is_str(show(&p, 1000), "1000", "starts at once on the route's first LED");
  is_int(ledpat_next_due(&p), 1100, "next step after step_ms");
  is_str(show(&p, 1099), "1000", "still there at 1099");
  is_str(show(&p, 1100), "0100", "moves on at 1100");
  is_str(show(&p, 1200), "0010", "reaches the room's LED");
  is_str(show(&p, 1300), "0000", "a dark step ends the pass");
  is_str(show(&p, 1400), "1000", "and the chase starts over");

  /* a second room: the routes take turns, one pass each */
  ledpat_set_active(&p, (1u << 0) | (1u << 1), 1450);
  is_str(show(&p, 1450), "1000", "a new route waits for the current pass");
  is_str(show(&p, 1500), "0100", "route 0 goes on");
  is_str(show(&p, 1600), "0010", "to its end");
  is_str(show(&p, 1700), "0000", "dark step");
  is_str(show(&p, 1800), "1000", "route 1's pass: the shared LED first");
  is_str(show(&p, 1900), "0001", "then its own branch");
  is_str(show(&p, 2000), "0000", "dark step");
  is_str(show(&p, 2100), "1000", "route 0 again");
  is_str(show(&p, 2200), "0100", "route 0 is the one showing (not route 1's branch)");

  /* never more than one LED lit, whatever the time */
  {
    int max = 0;
    for (uint64_t t = 2200; t < 5000; t += 7) {
      int n = lit(&p, t);
      if (n > max)
        max = n;
    }
    is_int(max, 1, "at most one LED is lit at any time");
  }

  /* stopping the route on show: dark at once, the other takes over */
  ledpat_init(&p, 4, 100);
  ledpat_add_route(&p, r1, 3);
  ledpat_add_route(&p, r2, 2);
  ledpat_set_active(&p, 3, 0);
  is_str(show(&p, 100), "0100", "route 0 on show");
  ledpat_set_active(&p, 1u << 1, 150);
  is_str(show(&p, 150), "0000", "stopped: its dot goes dark at once");
  is_str(show(&p, 250), "1000", "route 1 takes its turn after the dark step");
  is_str(show(&p, 350), "0001", "route 1's branch");

  /* stopping everything: idle, all off */
  ledpat_set_active(&p, 0, 400);
  is_str(show(&p, 400), "0000", "all stopped: all off");
  is_int(ledpat_next_due(&p), (long long)LEDPAT_IDLE, "and idle");
  ledpat_set_active(&p, 1u << 1, 10000);
  is_str(show(&p, 10000), "1000", "a new guidance after idle starts at once");

  /* bits of routes that do not exist are ignored */
  ledpat_init(&p, 4, 100);
  ledpat_add_route(&p, r1, 3);
  ledpat_set_active(&p, 1u << 5, 0);
  is_str(show(&p, 0), "0000", "an unknown route bit lights nothing");
  is_int(ledpat_next_due(&p), (long long)LEDPAT_IDLE, "and stays idle");

  /* a stalled loop does not replay thousands of steps */
  ledpat_set_active(&p, 1, 0);
  is_str(show(&p, 1000000000ULL), "1000", "after a long stall the dot goes on from where it was");
  is_int(ledpat_next_due(&p), 1000000100LL, "and steps on from there");

  return done_testing();
}
