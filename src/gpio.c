/* gpio.c - GPIO inputs and outputs on libgpiod, sysfs or nothing
 * (see gpio.h).
 *
 * libgpiod (the character device) is the interface the kernel wants
 * used, and the one to use on a Raspberry Pi outside containers.  A Docker
 * Swarm service, however, cannot be given a device (moby#24865), so
 * /dev/gpiochip* is out of its reach; it can bind-mount /sys, so the
 * deprecated sysfs interface is what the roles use under Swarm.
 *
 * sysfs edge detection: the kernel wakes poll() with POLLPRI on a value
 * file when an edge configured in `edge` happens.  A plain file (a test's
 * fake /sys/class/gpio in a temp dir) never does, so when the value file
 * is not on sysfs (fstatfs) it is re-read every GPIO_SYSFS_POLL_MS
 * instead.  Both paths end in the same read-compare-report code.
 */
#include "gpio.h"
#include "loop.h"
#include "nano.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <gpiod.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define SYSFS_MAGIC 0x62656572        /* linux/magic.h */
#define CONSUMER "nano"

/* ---- specs ----------------------------------------------------------- */

const char *gpio_backend_name(enum gpio_backend b)
{
  return b == GPIO_CHIP ? "gpio" : b == GPIO_SYSFS ? "sysfs" : "sim";
}

int gpio_lines_parse(const char *s, size_t len, int maxlines, unsigned *lines, int *n,
                     char *err, size_t errsize)
{
  const char *p = s, *end = s + len;

  *n = 0;
  if (!len) {
    snprintf(err, errsize, "no line numbers");
    return -1;
  }
  while (p < end) {
    unsigned long v = 0;
    const char *start = p;
    while (p < end && *p >= '0' && *p <= '9' && v <= 100000)
      v = v * 10 + (unsigned long)(*p++ - '0');
    if (p == start || v > 100000 || (p < end && *p != ',')) {
      snprintf(err, errsize, "bad line number in '%.*s' (use e.g. 17 or 17,27,22)",
               (int)len, s);
      return -1;
    }
    if (*n == maxlines) {
      snprintf(err, errsize, "too many lines in '%.*s' (at most %d)", (int)len, s,
               maxlines);
      return -1;
    }
    for (int i = 0; i < *n; i++)
      if (lines[i] == v) {
        snprintf(err, errsize, "line %lu is listed twice", v);
        return -1;
      }
    lines[(*n)++] = (unsigned)v;
    if (p < end && ++p == end) {
      snprintf(err, errsize, "trailing comma in '%.*s'", (int)len, s);
      return -1;
    }
  }
  return 0;
}

static int parse_lines(const char *s, size_t len, int maxlines, struct gpio_spec *out,
                       char *err, size_t errsize)
{
  return gpio_lines_parse(s, len, maxlines, out->lines, &out->nlines, err, errsize);
}

int gpio_spec_parse(const char *text, int maxlines, struct gpio_spec *out,
                    char *err, size_t errsize)
{
  const char *rest, *colon;
  size_t len;

  memset(out, 0, sizeof *out);
  if (maxlines > GPIO_MAX_LINES)
    maxlines = GPIO_MAX_LINES;
  if (!text || !*text) {
    snprintf(err, errsize, "empty");
    return -1;
  }
  if (!strcmp(text, "sim") || !strncmp(text, "sim:", 4)) {
    out->backend = GPIO_SIM;
    /* plain "sim": the lines come from elsewhere (ug's routes) */
    return text[3] ? parse_lines(text + 4, strlen(text + 4), maxlines, out, err, errsize)
                   : 0;
  }
  if (!strncmp(text, "sysfs:", 6)) {
    out->backend = GPIO_SYSFS;
    rest = text + 6;
  } else if (!strncmp(text, "gpio:", 5)) {
    out->backend = GPIO_CHIP;
    colon = strchr(text + 5, ':');
    len = colon ? (size_t)(colon - text - 5) : 0;
    if (!colon || !len || len >= sizeof out->chip) {
      snprintf(err, errsize, "'%s': expected gpio:CHIP:LINE with CHIP a path, name, "
               "number or label", text);
      return -1;
    }
    memcpy(out->chip, text + 5, len);
    out->chip[len] = '\0';
    rest = colon + 1;
  } else {
    snprintf(err, errsize, "'%s': expected gpio:CHIP:LINES, sysfs:LINES or sim", text);
    return -1;
  }
  colon = strchr(rest, ':');
  len = colon ? (size_t)(colon - rest) : strlen(rest);
  if (colon) {
    if (strcmp(colon + 1, "active-low")) {
      snprintf(err, errsize, "'%s': unknown flag '%s' (only active-low)", text, colon + 1);
      return -1;
    }
    out->active_low = 1;
  }
  return parse_lines(rest, len, maxlines, out, err, errsize);
}

/* ---- libgpiod helpers --------------------------------------------------- */

static int have_gpiochips(void)
{
  glob_t g;
  int n = glob("/dev/gpiochip*", 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
  globfree(&g);
  return n;
}

static struct gpiod_chip *chip_open(const char *descr, char *err, size_t errsize)
{
  struct gpiod_chip *chip = gpiod_chip_open_lookup(descr);
  if (!chip) {
    int saved = errno;
    snprintf(err, errsize, "no GPIO chip '%s' (by path, name, number or label): %s%s",
             descr, strerror(saved ? saved : ENOENT),
             have_gpiochips() ? "" : "; this machine has no /dev/gpiochip* "
             "(inside a Swarm service use sysfs:N, see README)");
  }
  return chip;
}

static int line_check(struct gpiod_chip *chip, unsigned offset, char *err,
                      size_t errsize)
{
  if (offset < gpiod_chip_num_lines(chip))
    return 0;
  snprintf(err, errsize, "GPIO chip %s (%s) has no line %u (it has %u)",
           gpiod_chip_name(chip), gpiod_chip_label(chip), offset,
           gpiod_chip_num_lines(chip));
  return -1;
}

/* Event times are CLOCK_MONOTONIC since Linux 5.7 and CLOCK_REALTIME
 * before; map either onto now_ms()'s clock, or use now if it is neither. */
static uint64_t event_time_ms(const struct timespec *ts)
{
  uint64_t t = (uint64_t)ts->tv_sec * 1000 + (uint64_t)ts->tv_nsec / 1000000;
  uint64_t now = now_ms(), wall = wall_ms();
  if (t <= now && now - t < 60000)
    return t;
  if (t <= wall && wall - t < 60000)
    return now - (wall - t);
  return now;
}

/* ---- sysfs helpers ---------------------------------------------------------- */

static int sysfs_write(const char *path, const char *value, char *err, size_t errsize)
{
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  ssize_t n;
  size_t len = strlen(value);

  if (fd < 0) {
    snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  n = write(fd, value, len);
  if (n != (ssize_t)len) {
    snprintf(err, errsize, "cannot write '%s' to %s: %s", value, path,
             n < 0 ? strerror(errno) : "short write");
    close(fd);
    return -1;
  }
  close(fd);
  return 0;
}

static int sysfs_attr(const char *root, unsigned line, const char *attr,
                      const char *value, char *err, size_t errsize)
{
  char path[512];
  snprintf(path, sizeof path, "%s/gpio%u/%s", root, line, attr);
  return sysfs_write(path, value, err, errsize);
}

/* Export line unless it is already (writing export twice is EBUSY). */
static int sysfs_export(const char *root, unsigned line, char *err, size_t errsize)
{
  char path[512], num[16];
  struct stat st;

  snprintf(path, sizeof path, "%s/gpio%u", root, line);
  if (stat(path, &st) == 0)
    return 0;
  snprintf(num, sizeof num, "%u", line);
  snprintf(path, sizeof path, "%s/export", root);
  if (sysfs_write(path, num, err, errsize) < 0)
    return -1;
  snprintf(path, sizeof path, "%s/gpio%u", root, line);
  if (stat(path, &st) < 0) {
    snprintf(err, errsize, "%s did not appear after export (on Linux >= 6.6 a "
             "Raspberry Pi's lines start at the chip's base, e.g. 512 + BCM number)",
             path);
    return -1;
  }
  return 0;
}

static int sysfs_open_value(const char *root, unsigned line, int flags, char *err,
                            size_t errsize)
{
  char path[512];
  int fd;

  snprintf(path, sizeof path, "%s/gpio%u/value", root, line);
  fd = open(path, flags | O_CLOEXEC);
  if (fd < 0)
    snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
  return fd;
}

/* The level in a value file ("0\n" or "1\n"), or -1. */
static int sysfs_read_level(int fd)
{
  char buf[8];
  ssize_t n;

  if (lseek(fd, 0, SEEK_SET) < 0)
    return -1;
  n = read(fd, buf, sizeof buf);
  if (n <= 0 || (buf[0] != '0' && buf[0] != '1'))
    return -1;
  return buf[0] == '1';
}

/* ---- inputs ----------------------------------------------------------------- */

struct gpio_in {
  struct gpio_spec spec;
  gpio_edge_fn fn;
  void *arg;
  int level;
  int fd;                           /* sysfs value, or libgpiod's event fd */
  struct loop_timer *poll_timer;    /* sysfs value on a plain file */
  int read_failed;                  /* logged once until it reads again */
  struct gpiod_chip *chip;
  struct gpiod_line *line;
};

static void report(struct gpio_in *in, int level, uint64_t t)
{
  if (level == in->level)
    return;
  in->level = level;
  log_debug("gpio=%s:%u level=%d", gpio_backend_name(in->spec.backend),
            in->spec.lines[0], level);
  in->fn(in->arg, level, t);
}

static void sysfs_check(struct gpio_in *in)
{
  int level = sysfs_read_level(in->fd);
  if (level < 0) {
    if (!in->read_failed)
      log_warn("gpio=sysfs:%u cannot read its value", in->spec.lines[0]);
    in->read_failed = 1;
    return;
  }
  in->read_failed = 0;
  report(in, level, now_ms());
}

static void sysfs_on_pri(int fd, short revents, void *arg)
{
  (void)fd;
  (void)revents;
  sysfs_check(arg);
}

static void sysfs_poll_tick(void *arg)
{
  struct gpio_in *in = arg;
  in->poll_timer = NULL;
  sysfs_check(in);
  in->poll_timer = loop_after(GPIO_SYSFS_POLL_MS, sysfs_poll_tick, in);
}

static int sysfs_in_open(struct gpio_in *in, const char *root, char *err, size_t errsize)
{
  unsigned line = in->spec.lines[0];
  struct statfs sfs;

  if (sysfs_export(root, line, err, errsize) < 0 ||
      sysfs_attr(root, line, "direction", "in", err, errsize) < 0 ||
      sysfs_attr(root, line, "active_low", in->spec.active_low ? "1" : "0", err,
                 errsize) < 0 ||
      sysfs_attr(root, line, "edge", "both", err, errsize) < 0)
    return -1;
  in->fd = sysfs_open_value(root, line, O_RDONLY, err, errsize);
  if (in->fd < 0)
    return -1;
  in->level = sysfs_read_level(in->fd);
  if (in->level < 0) {
    snprintf(err, errsize, "%s/gpio%u/value holds no 0 or 1", root, line);
    return -1;
  }
  if (fstatfs(in->fd, &sfs) == 0 && sfs.f_type == SYSFS_MAGIC) {
    if (loop_add_fd(in->fd, POLLPRI | POLLERR, sysfs_on_pri, in) < 0) {
      snprintf(err, errsize, "too many fds on the loop");
      return -1;
    }
  } else {
    log_info("gpio=sysfs:%u value is not on sysfs; re-read every %d ms", line,
             GPIO_SYSFS_POLL_MS);
    in->poll_timer = loop_after(GPIO_SYSFS_POLL_MS, sysfs_poll_tick, in);
  }
  return 0;
}

static void chip_on_event(int fd, short revents, void *arg)
{
  struct gpio_in *in = arg;
  struct gpiod_line_event ev[16];
  int n;

  (void)fd;
  (void)revents;
  n = gpiod_line_event_read_multiple(in->line, ev, 16);
  if (n < 0) {
    log_warn("gpio=%s:%u cannot read events: %s", in->spec.chip, in->spec.lines[0],
             strerror(errno));
    return;
  }
  for (int i = 0; i < n; i++)
    report(in, ev[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE,
           event_time_ms(&ev[i].ts));
}

static int chip_in_open(struct gpio_in *in, char *err, size_t errsize)
{
  unsigned offset = in->spec.lines[0];
  int flags = in->spec.active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;

  in->chip = chip_open(in->spec.chip, err, errsize);
  if (!in->chip || line_check(in->chip, offset, err, errsize) < 0)
    return -1;
  in->line = gpiod_chip_get_line(in->chip, offset);
  if (!in->line ||
      gpiod_line_request_both_edges_events_flags(in->line, CONSUMER,
          flags | GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN) < 0) {
    /* Bias needs Linux >= 5.5; an older kernel refuses the flag. */
    if (!in->line || (errno != EINVAL && errno != EOPNOTSUPP) ||
        gpiod_line_request_both_edges_events_flags(in->line, CONSUMER, flags) < 0) {
      snprintf(err, errsize, "cannot request line %u of %s for edge events: %s",
               offset, in->spec.chip, strerror(errno));
      return -1;
    }
    log_warn("gpio=%s:%u no pull-down bias on this kernel; wire one", in->spec.chip,
             offset);
  }
  in->level = gpiod_line_get_value(in->line);
  in->fd = gpiod_line_event_get_fd(in->line);
  if (in->level < 0 || in->fd < 0) {
    snprintf(err, errsize, "cannot read line %u of %s: %s", offset, in->spec.chip,
             strerror(errno));
    return -1;
  }
  if (loop_add_fd(in->fd, POLLIN, chip_on_event, in) < 0) {
    snprintf(err, errsize, "too many fds on the loop");
    return -1;
  }
  log_info("gpio=%s:%u chip=%s label=%s", in->spec.chip, offset,
           gpiod_chip_name(in->chip), gpiod_chip_label(in->chip));
  return 0;
}

struct gpio_in *gpio_in_open(const struct gpio_spec *spec, const char *sysfs_root,
                             gpio_edge_fn fn, void *arg, char *err, size_t errsize)
{
  struct gpio_in *in = calloc(1, sizeof *in);
  int rc = 0;

  if (!in) {
    snprintf(err, errsize, "out of memory");
    return NULL;
  }
  in->spec = *spec;
  in->fn = fn;
  in->arg = arg;
  in->fd = -1;
  if (spec->backend != GPIO_SIM && spec->nlines != 1) {
    snprintf(err, errsize, "an input is exactly one line");
    rc = -1;
  } else if (spec->backend == GPIO_SYSFS) {
    rc = sysfs_in_open(in, sysfs_root ? sysfs_root : GPIO_SYSFS_ROOT, err, errsize);
  } else if (spec->backend == GPIO_CHIP) {
    rc = chip_in_open(in, err, errsize);
  }
  if (rc < 0) {
    gpio_in_close(in);
    return NULL;
  }
  return in;
}

int gpio_in_level(const struct gpio_in *in)
{
  return in->level;
}

int gpio_in_sim_set(struct gpio_in *in, int level)
{
  if (in->spec.backend != GPIO_SIM)
    return -1;
  report(in, !!level, now_ms());
  return 0;
}

void gpio_in_close(struct gpio_in *in)
{
  if (!in)
    return;
  loop_cancel(in->poll_timer);
  if (in->fd >= 0)
    loop_del_fd(in->fd);
  if (in->spec.backend == GPIO_SYSFS && in->fd >= 0)
    close(in->fd);
  if (in->chip)
    gpiod_chip_close(in->chip);     /* releases the line and its fd */
  free(in);
}

/* ---- outputs ---------------------------------------------------------------- */

struct gpio_out {
  struct gpio_spec spec;
  int fds[GPIO_MAX_LINES];          /* sysfs value files */
  uint8_t state[GPIO_MAX_LINES];
  struct gpiod_chip *chip;
  struct gpiod_line_bulk bulk;
};

static int sysfs_out_open(struct gpio_out *o, const char *root, char *err,
                          size_t errsize)
{
  for (int i = 0; i < o->spec.nlines; i++) {
    unsigned line = o->spec.lines[i];
    /* active_low before direction: the line must not flash on as it
     * becomes an output. */
    if (sysfs_export(root, line, err, errsize) < 0 ||
        sysfs_attr(root, line, "active_low", o->spec.active_low ? "1" : "0", err,
                   errsize) < 0 ||
        sysfs_attr(root, line, "direction", "out", err, errsize) < 0)
      return -1;
    o->fds[i] = sysfs_open_value(root, line, O_WRONLY, err, errsize);
    if (o->fds[i] < 0)
      return -1;
    if (gpio_out_set(o, i, 0) < 0) {
      snprintf(err, errsize, "cannot write %s/gpio%u/value: %s", root, line,
               strerror(errno));
      return -1;
    }
  }
  return 0;
}

static int chip_out_open(struct gpio_out *o, char *err, size_t errsize)
{
  int zeros[GPIO_MAX_LINES] = { 0 };
  int flags = o->spec.active_low ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0;

  o->chip = chip_open(o->spec.chip, err, errsize);
  if (!o->chip)
    return -1;
  for (int i = 0; i < o->spec.nlines; i++)
    if (line_check(o->chip, o->spec.lines[i], err, errsize) < 0)
      return -1;
  if (gpiod_chip_get_lines(o->chip, o->spec.lines, (unsigned)o->spec.nlines,
                           &o->bulk) < 0 ||
      gpiod_line_request_bulk_output_flags(&o->bulk, CONSUMER, flags, zeros) < 0) {
    snprintf(err, errsize, "cannot request lines of %s as outputs: %s", o->spec.chip,
             strerror(errno));
    return -1;
  }
  log_info("gpio=%s lines=%d chip=%s label=%s", o->spec.chip, o->spec.nlines,
           gpiod_chip_name(o->chip), gpiod_chip_label(o->chip));
  return 0;
}

struct gpio_out *gpio_out_open(const struct gpio_spec *spec, const char *sysfs_root,
                               char *err, size_t errsize)
{
  struct gpio_out *o = calloc(1, sizeof *o);
  int rc = 0;

  if (!o) {
    snprintf(err, errsize, "out of memory");
    return NULL;
  }
  o->spec = *spec;
  for (int i = 0; i < GPIO_MAX_LINES; i++)
    o->fds[i] = -1;
  if (spec->backend == GPIO_SYSFS)
    rc = sysfs_out_open(o, sysfs_root ? sysfs_root : GPIO_SYSFS_ROOT, err, errsize);
  else if (spec->backend == GPIO_CHIP)
    rc = chip_out_open(o, err, errsize);
  if (rc < 0) {
    gpio_out_close(o);
    return NULL;
  }
  return o;
}

int gpio_out_set(struct gpio_out *o, int i, int on)
{
  int rc = 0;

  if (i < 0 || i >= o->spec.nlines) {
    errno = EINVAL;
    return -1;
  }
  on = !!on;
  switch (o->spec.backend) {
  case GPIO_SIM:
    if (on != o->state[i])
      log_info("led line=%u %s", o->spec.lines[i], on ? "on" : "off");
    break;
  case GPIO_SYSFS:
    /* sysfs ignores the offset; a plain file gets its one byte replaced */
    rc = pwrite(o->fds[i], on ? "1" : "0", 1, 0) == 1 ? 0 : -1;
    break;
  case GPIO_CHIP:
    rc = gpiod_line_set_value(o->bulk.lines[i], on);
    break;
  }
  if (rc == 0)
    o->state[i] = (uint8_t)on;
  return rc;
}

void gpio_out_close(struct gpio_out *o)
{
  if (!o)
    return;
  for (int i = 0; i < GPIO_MAX_LINES; i++)
    if (o->fds[i] >= 0)
      close(o->fds[i]);
  if (o->chip)
    gpiod_chip_close(o->chip);
  free(o);
}
