/* main.c - the one table of applets, and dispatch on argv[0] or argv[1].
 *
 * The table itself is in applets.c.
 *
 * usage: nano APPLET [ARGS...]     or  APPLET [ARGS...] via a symlink
 *        nano --list | --install DIR | --help | --version
 */
#include "nano.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
  fprintf(out,
    "nano %s - the IoT edge of a building as CoAP nanoservices in one binary\n"
    "\n"
    "usage: nano APPLET [ARGS...]   (or call a symlink named APPLET)\n"
    "       nano --list | --install DIR | --help | --version\n"
    "       nano APPLET --help\n"
    "\napplets:\n", NANO_VERSION);
  for (const struct applet *a = applets; a->name; a++)
    fprintf(out, "  %-8s %s\n", a->name, a->help);
}

/* Symlink DIR/<applet> -> this executable for every applet.  An existing
 * symlink is replaced (a reinstall after an upgrade); anything else that
 * is in the way is an error, never silently clobbered. */
static int install_links(const char *dir)
{
  char self[PATH_MAX], link[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  int failed = 0;

  if (n < 0) {
    fprintf(stderr, "nano: --install: cannot read /proc/self/exe: %s\n",
            strerror(errno));
    return 1;
  }
  self[n] = '\0';
  if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
    fprintf(stderr, "nano: --install: cannot create %s: %s\n", dir,
            strerror(errno));
    return 1;
  }
  for (const struct applet *a = applets; a->name; a++) {
    struct stat st;
    if (snprintf(link, sizeof link, "%s/%s", dir, a->name) >= (int)sizeof link) {
      fprintf(stderr, "nano: --install: path too long: %s\n", dir);
      return 1;
    }
    if (lstat(link, &st) == 0) {
      if (!S_ISLNK(st.st_mode)) {
        fprintf(stderr, "nano: --install: %s exists and is not a symlink\n",
                link);
        failed = 1;
        continue;
      }
      unlink(link);
    }
    if (symlink(self, link) < 0) {
      fprintf(stderr, "nano: --install: %s: %s\n", link, strerror(errno));
      failed = 1;
    }
  }
  return failed;
}

int main(int argc, char **argv)
{
  const char *name = applet_name_of(argv[0]);
  const struct applet *a = applet_find(name);

  if (a)
    return applet_run(a, argc, argv);

  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("nano %s\n", NANO_VERSION);
    return 0;
  }
  if (!strcmp(argv[1], "--list")) {
    for (a = applets; a->name; a++)
      puts(a->name);
    return 0;
  }
  if (!strcmp(argv[1], "--install")) {
    if (argc != 3) {
      fprintf(stderr, "usage: nano --install DIR\n");
      return 2;
    }
    return install_links(argv[2]);
  }
  a = applet_find(argv[1]);
  if (!a) {
    fprintf(stderr, "nano: unknown applet '%s' (nano --list shows them)\n",
            argv[1]);
    return 2;
  }
  return applet_run(a, argc - 1, argv + 1);
}
