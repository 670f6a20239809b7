/* debounce.h - a motion sensor's raw edges into one "motion start" per
 * arrival: software debounce plus a re-trigger hold.
 *
 * Pure logic: time is always a parameter (monotonic ms), nothing here
 * reads a clock, sleeps or logs, so unit tests inject time.
 *
 *   debounce: a raw level counts only once it has stayed put for
 *             debounce_ms; a spike or a bounce shorter than that is
 *             ignored.  The start is reported with the time of the edge
 *             itself, not the time the debounce ended.
 *   hold:     after the (debounced) level falls, motion goes on for
 *             hold_ms; a new rise inside that window belongs to the same
 *             arrival and is no new event.
 *
 *   struct debounce d;
 *   debounce_init(&d, 50, 3000);
 *   debounce_edge(&d, level, t);                  for every raw edge
 *   while ((ev = debounce_poll(&d, now, &at)))     after edges and timers
 *     ...MOTION_START / MOTION_END at time at...
 *   next = debounce_next_due(&d);                 arm a timer for it
 */
#ifndef NANO_DEBOUNCE_H
#define NANO_DEBOUNCE_H

#include <stdint.h>

#define DEBOUNCE_IDLE UINT64_MAX

enum { MOTION_NONE = 0, MOTION_START = 1, MOTION_END = 2 };

struct debounce {
  uint64_t debounce_ms, hold_ms;
  int raw;                  /* the last raw level seen */
  uint64_t raw_since;       /* when it last changed */
  int stable;               /* the debounced level */
  int motion;               /* in an arrival (stable high, or in the hold) */
  uint64_t hold_until;      /* end of the hold, while motion && !stable */
  uint64_t events;          /* motion starts so far */
};

/* Starts low and without motion; a sensor that is already high at start
 * is one debounce_edge(d, 1, now) away from a motion start. */
void debounce_init(struct debounce *d, uint64_t debounce_ms, uint64_t hold_ms);
/* The raw input is now level (0/1) since time t (t never goes back). */
void debounce_edge(struct debounce *d, int level, uint64_t t);
/* What happened up to now: MOTION_START or MOTION_END with its time in
 * *at, or MOTION_NONE.  Call until it returns MOTION_NONE. */
int debounce_poll(struct debounce *d, uint64_t now, uint64_t *at);
/* When debounce_poll has something to do next, or DEBOUNCE_IDLE. */
uint64_t debounce_next_due(const struct debounce *d);

#endif
