/* debounce.c - debounce and re-trigger hold for a motion sensor
 * (see debounce.h). */
#include "debounce.h"

void debounce_init(struct debounce *d, uint64_t debounce_ms, uint64_t hold_ms)
{
  *d = (struct debounce){ .debounce_ms = debounce_ms, .hold_ms = hold_ms };
}

void debounce_edge(struct debounce *d, int level, uint64_t t)
{
  level = !!level;
  if (level == d->raw)
    return;                   /* a repeated level (a missed edge) */
  d->raw = level;
  d->raw_since = t;
}

/* The raw level has been steady long enough: take it. */
static int settle(struct debounce *d, uint64_t *at)
{
  d->stable = d->raw;
  if (d->stable) {
    if (d->motion)
      return MOTION_NONE;     /* back inside the hold: the same arrival */
    d->motion = 1;
    d->events++;
    *at = d->raw_since;
    return MOTION_START;
  }
  if (d->motion)
    d->hold_until = d->raw_since + d->hold_ms;
  return MOTION_NONE;
}

int debounce_poll(struct debounce *d, uint64_t now, uint64_t *at)
{
  if (d->raw != d->stable && now >= d->raw_since + d->debounce_ms) {
    int ev = settle(d, at);
    if (ev)
      return ev;
  }
  /* The hold ends only once the fall itself is settled: a rise that is
   * still being debounced may yet extend it. */
  if (d->motion && !d->stable && d->raw == d->stable && now >= d->hold_until) {
    d->motion = 0;
    *at = d->hold_until;
    return MOTION_END;
  }
  return MOTION_NONE;
}

uint64_t debounce_next_due(const struct debounce *d)
{
  if (d->raw != d->stable)
    return d->raw_since + d->debounce_ms;
  if (d->motion && !d->stable)
    return d->hold_until;
  return DEBOUNCE_IDLE;
}
