/* ledpattern.c - time-sliced chase patterns (see ledpattern.h). */
#include "ledpattern.h"

#include <string.h>

/* A pattern that fell this many steps behind (a stalled loop, a clock
 * jump) goes on from where it was instead of replaying every missed step. */
#define MAX_CATCH_UP 1000

void ledpat_init(struct ledpat *p, int nleds, uint64_t step_ms)
{
  memset(p, 0, sizeof *p);
  p->nleds = nleds < 0 ? 0 : nleds > LEDPAT_MAX_LEDS ? LEDPAT_MAX_LEDS : nleds;
  p->step_ms = step_ms ? step_ms : 1;
  p->cur = -1;
}

int ledpat_add_route(struct ledpat *p, const uint8_t *leds, int len)
{
  if (p->nroutes == LEDPAT_MAX_ROUTES || len < 1 || len > LEDPAT_MAX_LEDS)
    return -1;
  for (int i = 0; i < len; i++)
    if (leds[i] >= p->nleds)
      return -1;
  p->routes[p->nroutes].len = len;
  memcpy(p->routes[p->nroutes].led, leds, (size_t)len);
  return p->nroutes++;
}

/* The next active route after r in round-robin order (r itself when it
 * is the only one), or -1. */
static int next_active(const struct ledpat *p, int r)
{
  for (int i = 1; i <= p->nroutes; i++) {
    int c = (r + i) % p->nroutes;
    if (c < 0)
      c += p->nroutes;
    if (p->active & (1u << c))
      return c;
  }
  return -1;
}

static void step(struct ledpat *p)
{
  if (p->pos < p->routes[p->cur].len) {
    p->pos++;               /* the dot moves on; at len, the dark step */
    return;
  }
  p->cur = next_active(p, p->cur);
  p->pos = 0;
}

void ledpat_advance(struct ledpat *p, uint64_t now)
{
  if (p->cur >= 0 && now >= p->next_ms + MAX_CATCH_UP * p->step_ms)
    p->next_ms = now + p->step_ms;
  while (p->cur >= 0 && now >= p->next_ms) {
    step(p);
    p->next_ms += p->step_ms;
  }
}

void ledpat_set_active(struct ledpat *p, uint32_t mask, uint64_t now)
{
  ledpat_advance(p, now);
  p->active = mask & (p->nroutes >= 32 ? ~0u : (1u << p->nroutes) - 1);
  if (!p->active) {
    p->cur = -1;
    return;
  }
  if (p->cur < 0) {
    /* Idle until now: the first active route starts at once. */
    p->cur = next_active(p, -1);
    p->pos = 0;
    p->next_ms = now + p->step_ms;
    return;
  }
  if (!(p->active & (1u << p->cur)) && p->pos < p->routes[p->cur].len) {
    /* The route on show was stopped: its dot goes dark now and the next
     * route takes its turn after the dark step. */
    p->pos = p->routes[p->cur].len;
    p->next_ms = now + p->step_ms;
  }
}

void ledpat_leds(const struct ledpat *p, uint8_t *on)
{
  memset(on, 0, (size_t)p->nleds);
  if (p->cur >= 0 && (p->active & (1u << p->cur)) && p->pos < p->routes[p->cur].len)
    on[p->routes[p->cur].led[p->pos]] = 1;
}

uint64_t ledpat_next_due(const struct ledpat *p)
{
  return p->cur >= 0 ? p->next_ms : LEDPAT_IDLE;
}
