/* debounce.c - unit tests of the motion debounce and re-trigger hold
 * (src/debounce.c), with injected time: no clock, no sleeps. */
#include "debounce.h"
#include "tap.h"

/* Poll at now; the one event it reports (MOTION_NONE if none), *at set. */
static int poll1(struct debounce *d, uint64_t now, uint64_t *at)
{
  return debounce_poll(d, now, at);
}

int main(void)
{
  struct debounce d;
  uint64_t at = 0;

  plan(41);

  /* a clean arrival: rise, debounce, start at the edge's time */
  debounce_init(&d, 50, 3000);
  is_int(debounce_next_due(&d), (long long)DEBOUNCE_IDLE, "idle at start");
  debounce_edge(&d, 1, 1000);
  is_int(debounce_next_due(&d), 1050, "due when the debounce ends");
  is_int(poll1(&d, 1049, &at), MOTION_NONE, "no start before the debounce ended");
  is_int(poll1(&d, 1050, &at), MOTION_START, "start once the level held 50 ms");
  is_int(at, 1000, "the start carries the edge's time, not the debounce's end");
  is_int(d.events, 1, "one event");
  ok(d.motion, "motion is on");
  is_int(poll1(&d, 1060, &at), MOTION_NONE, "nothing more while it stays high");
  is_int(debounce_next_due(&d), (long long)DEBOUNCE_IDLE, "no timer while high");

  /* the fall starts the hold; motion ends hold_ms after the falling edge */
  debounce_edge(&d, 0, 2000);
  is_int(poll1(&d, 2050, &at), MOTION_NONE, "the fall settles without an event");
  ok(d.motion, "motion goes on in the hold");
  is_int(debounce_next_due(&d), 5000, "due at the end of the hold");
  is_int(poll1(&d, 4999, &at), MOTION_NONE, "still held at 4999");
  is_int(poll1(&d, 5000, &at), MOTION_END, "motion ends at fall + hold");
  is_int(at, 5000, "the end carries the hold's end");
  ok(!d.motion, "motion is off");

  /* a re-trigger inside the hold is the same arrival */
  debounce_init(&d, 50, 3000);
  debounce_edge(&d, 1, 0);
  is_int(poll1(&d, 50, &at), MOTION_START, "start");
  debounce_edge(&d, 0, 1000);
  poll1(&d, 1050, &at);
  debounce_edge(&d, 1, 2000);
  is_int(poll1(&d, 2050, &at), MOTION_NONE, "a rise inside the hold is no new event");
  is_int(d.events, 1, "still one event");
  debounce_edge(&d, 0, 2500);
  is_int(poll1(&d, 4000, &at), MOTION_NONE, "the hold restarted at the second fall");
  is_int(poll1(&d, 5500, &at), MOTION_END, "ends 3 s after the last fall");
  debounce_edge(&d, 1, 6000);
  is_int(poll1(&d, 6050, &at), MOTION_START, "a rise after the hold is a new arrival");
  is_int(d.events, 2, "two events");

  /* a storm of bounces: one event */
  debounce_init(&d, 50, 3000);
  for (uint64_t t = 100; t < 140; t += 5)
    debounce_edge(&d, (int)(t / 5) % 2, t);        /* ends high at 135 */
  is_int(poll1(&d, 170, &at), MOTION_NONE, "bouncing: not settled 35 ms after the last edge");
  is_int(poll1(&d, 185, &at), MOTION_START, "settled 50 ms after the last bounce");
  is_int(at, 135, "at the edge that stuck");
  is_int(d.events, 1, "a storm of edges is one event");

  /* a spike shorter than the debounce is ignored */
  debounce_init(&d, 50, 3000);
  debounce_edge(&d, 1, 100);
  debounce_edge(&d, 0, 120);
  is_int(poll1(&d, 1000, &at), MOTION_NONE, "a 20 ms spike is no motion");
  is_int(d.events, 0, "no event");
  is_int(debounce_next_due(&d), (long long)DEBOUNCE_IDLE, "and nothing pending");

  /* a repeated level (a missed edge) changes nothing */
  debounce_init(&d, 50, 3000);
  debounce_edge(&d, 1, 100);
  debounce_edge(&d, 1, 140);
  is_int(poll1(&d, 150, &at), MOTION_START, "a repeated level keeps the first edge's time");
  is_int(at, 100, "at 100");

  /* a spike inside the hold neither ends nor extends it */
  debounce_init(&d, 50, 1000);
  debounce_edge(&d, 1, 0);
  poll1(&d, 50, &at);
  debounce_edge(&d, 0, 100);
  poll1(&d, 150, &at);
  debounce_edge(&d, 1, 1080);
  is_int(poll1(&d, 1100, &at), MOTION_NONE, "a rise being debounced holds off the end");
  debounce_edge(&d, 0, 1110);
  is_int(poll1(&d, 1111, &at), MOTION_END, "it was a spike: the hold ends");
  is_int(at, 1100, "at the hold's end");
  is_int(d.events, 1, "no new event");

  /* a rise being debounced at the hold's end, that sticks: same arrival */
  debounce_init(&d, 50, 1000);
  debounce_edge(&d, 1, 0);
  poll1(&d, 50, &at);
  debounce_edge(&d, 0, 100);
  poll1(&d, 150, &at);
  debounce_edge(&d, 1, 1090);
  is_int(poll1(&d, 1140, &at), MOTION_NONE, "the late rise sticks: no end, no new start");
  ok(d.motion && d.events == 1, "one arrival, still in motion");

  /* zero debounce: edges count at once */
  debounce_init(&d, 0, 0);
  debounce_edge(&d, 1, 7);
  is_int(poll1(&d, 7, &at), MOTION_START, "debounce 0: start at once");
  debounce_edge(&d, 0, 9);
  is_int(poll1(&d, 9, &at), MOTION_END, "hold 0: end at once");
  is_int(at, 9, "at the fall");

  return done_testing();
}
