/* ledpattern.h - the chase patterns of user guidance, time-sliced so that
 * several guidances at once stay readable.
 *
 * A route is the list of LEDs from the entrance to one room.  A route is
 * shown as one pass of a single lit dot stepping from its first LED to
 * its last (step_ms per LED), followed by one dark step.  When several
 * routes are active they take turns, one whole pass each, round robin in
 * route order: at any instant at most one LED of one route is lit, so two
 * paths that share the corridor never blur into each other, and each pass
 * draws one complete path to one room.  Routes, not participants, take
 * turns: three people going to the same room share its one slot.
 *
 * Pure logic: time is a parameter (monotonic ms); no clock, no I/O.
 *
 *   ledpat_init(&p, nleds, 250);  ledpat_add_route(&p, leds, n);  ...
 *   ledpat_set_active(&p, mask, now);     when guidances start or stop
 *   ledpat_advance(&p, now);              when ledpat_next_due() is reached
 *   ledpat_leds(&p, on);                  what the LEDs show now
 */
#ifndef NANO_LEDPATTERN_H
#define NANO_LEDPATTERN_H

#include <stdint.h>

#define LEDPAT_MAX_LEDS 32
#define LEDPAT_MAX_ROUTES 16
#define LEDPAT_IDLE UINT64_MAX

struct ledpat_route {
  int len;
  uint8_t led[LEDPAT_MAX_LEDS];   /* LED indexes, entrance first */
};

struct ledpat {
  int nleds, nroutes;
  struct ledpat_route routes[LEDPAT_MAX_ROUTES];
  uint64_t step_ms;
  uint32_t active;                /* bit r: route r has a guidance */
  int cur;                        /* the route taking its turn, -1: idle */
  int pos;                        /* its lit LED; pos == len: the dark step */
  uint64_t next_ms;               /* when the next step is due */
};

void ledpat_init(struct ledpat *p, int nleds, uint64_t step_ms);
/* Add a route of len LED indexes (< nleds); its index, or -1 when full or
 * invalid. */
int ledpat_add_route(struct ledpat *p, const uint8_t *leds, int len);
/* Which routes have guidance (bit per route), as of time now. */
void ledpat_set_active(struct ledpat *p, uint32_t mask, uint64_t now);
/* Step the pattern up to time now. */
void ledpat_advance(struct ledpat *p, uint64_t now);
/* on[i] = 1 if LED i is lit now, for every LED. */
void ledpat_leds(const struct ledpat *p, uint8_t *on);
/* When the LEDs next change, or LEDPAT_IDLE. */
uint64_t ledpat_next_due(const struct ledpat *p);

#endif
