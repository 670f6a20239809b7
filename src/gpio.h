/* gpio.h - GPIO lines for pd (one input) and ug (LED outputs), with three
 * backends behind one interface:
 *
 *   gpio:CHIP:LINES[:active-low]   libgpiod 1.6 (character device): CHIP is
 *                                  a path (/dev/gpiochip0), a name
 *                                  (gpiochip0), a number or a label
 *                                  (pinctrl-bcm2711); LINES are offsets
 *   sysfs:LINES[:active-low]       the deprecated /sys/class/gpio interface
 *                                  (export, direction, edge, value), which
 *                                  a Swarm service can reach by bind mount
 *   sim[:LINES]                    simulated: no hardware, state in memory
 *
 * LINES is one number for an input, a comma-separated list for outputs.
 * An input reports every change of its level on the role's loop (the
 * line's fd is watched there); levels are logical (active-low applied).
 */
#ifndef NANO_GPIO_H
#define NANO_GPIO_H

#include <stddef.h>
#include <stdint.h>

#define GPIO_MAX_LINES 32
#define GPIO_SYSFS_ROOT "/sys/class/gpio"
/* A sysfs value file that is not on sysfs (a test's fake tree) never
 * raises POLLPRI; it is re-read this often instead. */
#define GPIO_SYSFS_POLL_MS 20

enum gpio_backend { GPIO_SIM, GPIO_CHIP, GPIO_SYSFS };

struct gpio_spec {
  enum gpio_backend backend;
  char chip[128];               /* GPIO_CHIP only */
  unsigned lines[GPIO_MAX_LINES];
  int nlines;                   /* sim may have 0: lines come from elsewhere */
  int active_low;
};

/* Parse text into out.  maxlines is 1 for an input.  -1 with a reason. */
int gpio_spec_parse(const char *text, int maxlines, struct gpio_spec *out,
                    char *err, size_t errsize);
const char *gpio_backend_name(enum gpio_backend b);
/* "17" or "17,27,22" (len bytes of s) into lines[*n]; no duplicates. */
int gpio_lines_parse(const char *s, size_t len, int maxlines, unsigned *lines, int *n,
                     char *err, size_t errsize);

/* ---- an input line (pd's motion sensor) ------------------------------ */

/* level 0/1, t: monotonic ms of the edge (now_ms() clock) */
typedef void (*gpio_edge_fn)(void *arg, int level, uint64_t t);
struct gpio_in;

/* Open, configure (both edges, pull-down where the backend can) and
 * watch the line on the loop.  sysfs_root: NULL for GPIO_SYSFS_ROOT.
 * NULL with a reason when the line cannot be had. */
struct gpio_in *gpio_in_open(const struct gpio_spec *spec, const char *sysfs_root,
                             gpio_edge_fn fn, void *arg, char *err, size_t errsize);
int gpio_in_level(const struct gpio_in *in);
/* Set a simulated input's level (reported like an edge); -1 if not sim. */
int gpio_in_sim_set(struct gpio_in *in, int level);
void gpio_in_close(struct gpio_in *in);

/* ---- output lines (ug's LEDs), all off once opened ------------------- */

struct gpio_out;

struct gpio_out *gpio_out_open(const struct gpio_spec *spec, const char *sysfs_root,
                               char *err, size_t errsize);
/* Drive output i (an index into spec->lines) to on; -1 with errno set on
 * failure.  A simulated output logs every change. */
int gpio_out_set(struct gpio_out *o, int i, int on);
/* Releases the lines, leaving them as they are (call set first). */
void gpio_out_close(struct gpio_out *o);

#endif
