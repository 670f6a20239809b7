/* main.c - dispatch on argv[0] (a symlink's name) or argv[1], and what
 * nano itself answers.
 *
 * The table of applets, roles and tools, is in applets.c.
 *
 * usage: nano APPLET [ARGS...]     or  APPLET [ARGS...] via a symlink
 *        nano --list [roles|tools] | --install DIR | --help | --version
 */
#include "nano.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void list_kind(FILE *out, enum applet_kind kind, int with_help)
{
  for (const struct applet *a = applets; a->name; a++)
    if (a->kind == kind) {
      if (with_help)
        fprintf(out, "  %-8s %s\n", a->name, a->help);
      else
        fprintf(out, "%s\n", a->name);
    }
}

static void usage(FILE *out)
{
  fprintf(out,
    "nano %s - the IoT edge of a building as CoAP nanoservices in one binary\n"
    "\n"
    "usage: nano APPLET [ARGS...]   (or call a symlink named APPLET)\n"
    "       nano --list [roles|tools] | --install DIR | --help | --version\n"
    "       nano APPLET --help\n"
    "\nroles (services that run until stopped):\n", NANO_VERSION);
  list_kind(out, APPLET_ROLE, 1);
  fprintf(out, "\ntools (commands):\n");
  list_kind(out, APPLET_TOOL, 1);
}

/* One name a line, the roles first; an empty line between the kinds
 * shows them apart and is nothing to a shell's $(nano --list). */
static int list(const char *which)
{
  if (!which) {
    list_kind(stdout, APPLET_ROLE, 0);
    putchar('\n');
    list_kind(stdout, APPLET_TOOL, 0);
  } else if (!strcmp(which, "roles")) {
    list_kind(stdout, APPLET_ROLE, 0);
  } else if (!strcmp(which, "tools")) {
    list_kind(stdout, APPLET_TOOL, 0);
  } else {
    fprintf(stderr, "usage: nano --list [roles|tools]\n");
    return 2;
  }
  return 0;
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
    if (argc > 3) {
      fprintf(stderr, "usage: nano --list [roles|tools]\n");
      return 2;
    }
    return list(argv[2]);
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
