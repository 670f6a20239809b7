/* gpio.c - unit tests of GPIO specs and the sysfs backend against a fake
 * /sys/class/gpio in a temp dir (src/gpio.c). */
#include "gpio.h"
#include "loop.h"
#include "nano.h"
#include "tap.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void put(const char *rel, const char *text)
{
  char path[256];
  FILE *f;
  snprintf(path, sizeof path, "%s/%s", root, rel);
  f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static const char *get(const char *rel)
{
  static char buf[64];
  char path[256];
  FILE *f;
  size_t n = 0;
  snprintf(path, sizeof path, "%s/%s", root, rel);
  f = fopen(path, "r");
  if (f) {
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
  }
  while (n && buf[n - 1] == '\n')
    n--;
  buf[n] = '\0';
  return buf;
}

/* A gpioN directory as the kernel would have it after export. */
static void fake_line(unsigned n, const char *value)
{
  char rel[256];
  snprintf(rel, sizeof rel, "%s/gpio%u", root, n);
  mkdir(rel, 0755);
  snprintf(rel, sizeof rel, "gpio%u/direction", n);
  put(rel, "in\n");
  snprintf(rel, sizeof rel, "gpio%u/edge", n);
  put(rel, "none\n");
  snprintf(rel, sizeof rel, "gpio%u/active_low", n);
  put(rel, "0\n");
  snprintf(rel, sizeof rel, "gpio%u/value", n);
  put(rel, value);
}

static void edge_seen(void *arg, int level, uint64_t t)
{
  (void)t;
  *(int *)arg = level;
  loop_stop(0);
}

static void give_up(void *arg)
{
  (void)arg;
  loop_stop(1);
}

int main(void)
{
  struct gpio_spec s;
  char err[300];
  struct gpio_in *in;
  struct gpio_out *out;
  int level = -1;

  plan(45);
  log_init("test", NLOG_ERROR);

  /* ---- specs */
  is_int(gpio_spec_parse("sim", 1, &s, err, sizeof err), 0, "sim");
  ok(s.backend == GPIO_SIM && s.nlines == 0, "sim without lines");
  is_int(gpio_spec_parse("sim:1,2,3", 8, &s, err, sizeof err), 0, "sim with lines");
  is_int(s.nlines, 3, "three lines");
  is_int(gpio_spec_parse("sysfs:17", 1, &s, err, sizeof err), 0, "sysfs:17");
  ok(s.backend == GPIO_SYSFS && s.lines[0] == 17 && !s.active_low, "line 17, active high");
  is_int(gpio_spec_parse("sysfs:4:active-low", 1, &s, err, sizeof err), 0, "sysfs active-low");
  ok(s.active_low && s.lines[0] == 4, "line 4, active low");
  is_int(gpio_spec_parse("gpio:gpiochip0:17", 1, &s, err, sizeof err), 0, "gpio:gpiochip0:17");
  ok(s.backend == GPIO_CHIP && !strcmp(s.chip, "gpiochip0") && s.lines[0] == 17,
     "chip and line");
  is_int(gpio_spec_parse("gpio:/dev/gpiochip1:5:active-low", 1, &s, err, sizeof err), 0,
         "a chip by path, active low");
  is_str(s.chip, "/dev/gpiochip1", "the path");
  is_int(gpio_spec_parse("gpio:pinctrl-bcm2711:17,27,22", 8, &s, err, sizeof err), 0,
         "a chip by label, three outputs");
  ok(s.nlines == 3 && s.lines[2] == 22, "three lines in order");
  is_int(gpio_spec_parse("gpio:gpiochip0:17,27", 1, &s, err, sizeof err), -1,
         "two lines for an input is an error");
  ok(strstr(err, "too many lines") != NULL, "saying so: %s", err);
  is_int(gpio_spec_parse("sysfs:17,17", 8, &s, err, sizeof err), -1, "a line twice");
  is_int(gpio_spec_parse("sysfs:", 1, &s, err, sizeof err), -1, "no line");
  is_int(gpio_spec_parse("sysfs:1x", 1, &s, err, sizeof err), -1, "not a number");
  is_int(gpio_spec_parse("sysfs:17,", 8, &s, err, sizeof err), -1, "a trailing comma");
  is_int(gpio_spec_parse("sysfs:999999999", 1, &s, err, sizeof err), -1, "too large");
  is_int(gpio_spec_parse("sysfs:4:active-high", 1, &s, err, sizeof err), -1, "unknown flag");
  is_int(gpio_spec_parse("gpio:17", 1, &s, err, sizeof err), -1, "gpio without a chip");
  is_int(gpio_spec_parse("gpio::17", 1, &s, err, sizeof err), -1, "gpio with an empty chip");
  is_int(gpio_spec_parse("usb:3", 1, &s, err, sizeof err), -1, "unknown backend");
  is_int(gpio_spec_parse("", 1, &s, err, sizeof err), -1, "empty");

  /* ---- sysfs against a fake tree */
  snprintf(root, sizeof root, "%s", "/tmp/nano-unit-gpio.XXXXXX");
  if (!mkdtemp(root))
    return 1;
  put("export", "");
  put("unexport", "");

  gpio_spec_parse("sysfs:5", 1, &s, err, sizeof err);
  in = gpio_in_open(&s, root, edge_seen, &level, err, sizeof err);
  ok(!in, "a line that export does not create is an error");
  ok(strstr(err, "did not appear after export") != NULL, "saying so: %s", err);
  is_str(get("export"), "5", "the line number was written to export");

  fake_line(4, "0\n");
  put("export", "");
  gpio_spec_parse("sysfs:4:active-low", 1, &s, err, sizeof err);
  in = gpio_in_open(&s, root, edge_seen, &level, err, sizeof err);
  ok(in != NULL, "an input on an exported line opens (%s)", in ? "ok" : err);
  is_str(get("export"), "", "an exported line is not exported again");
  is_str(get("gpio4/direction"), "in", "direction in");
  is_str(get("gpio4/edge"), "both", "both edges");
  is_str(get("gpio4/active_low"), "1", "active low");
  is_int(gpio_in_level(in), 0, "reads the level");
  put("gpio4/value", "1\n");
  loop_after(2000, give_up, NULL);
  is_int(loop_run(), 0, "a change of the plain value file is seen (re-read on a timer)");
  is_int(level, 1, "as level 1");
  gpio_in_close(in);

  fake_line(17, "1\n");
  fake_line(27, "1\n");
  gpio_spec_parse("sysfs:17,27", 8, &s, err, sizeof err);
  out = gpio_out_open(&s, root, err, sizeof err);
  ok(out != NULL, "outputs open (%s)", out ? "ok" : err);
  is_str(get("gpio17/direction"), "out", "direction out");
  is_str(get("gpio27/active_low"), "0", "active high");
  ok(!strcmp(get("gpio17/value"), "0") && !strcmp(get("gpio27/value"), "0"),
     "every output is off once opened");
  is_int(gpio_out_set(out, 1, 1), 0, "set line 27 on");
  is_str(get("gpio27/value"), "1", "its value file says 1");
  is_int(gpio_out_set(out, 2, 1), -1, "an index past the lines is an error");
  gpio_out_close(out);

  /* ---- libgpiod: only where there is no chip, the error is checked */
  {
    glob_t g;
    int chips = glob("/dev/gpiochip*", 0, NULL, &g) == 0;
    globfree(&g);
    gpio_spec_parse("gpio:gpiochip0:17", 1, &s, err, sizeof err);
    if (chips) {
      skip("this machine has /dev/gpiochip*", "without /dev/gpiochip*, gpio: fails clearly");
    } else {
      in = gpio_in_open(&s, NULL, edge_seen, &level, err, sizeof err);
      ok(!in && strstr(err, "no GPIO chip 'gpiochip0'"),
         "without /dev/gpiochip*, gpio: fails clearly");
    }
  }

  {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
      return 1;
  }
  return done_testing();
}
