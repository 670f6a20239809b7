/* dispatch.c - unit tests of the applet table (src/applets.c) and of the
 * role descriptors it carries (src/role.h). */
#include "nano.h"
#include "role.h"
#include "tap.h"

/* A role's own option with a common one's name would never be seen:
 * opt_find returns the first. */
static int shadows_common(const struct role *r)
{
  for (const struct opt *o = r->opts; o->name; o++)
    for (const struct opt *c = role_common_opts; c->name; c++)
      if (!strcmp(o->name, c->name))
        return 1;
  return 0;
}

static int names_unique(const struct opt *opts)
{
  for (const struct opt *o = opts; o->name; o++)
    for (const struct opt *p = o + 1; p->name; p++)
      if (!strcmp(o->name, p->name))
        return 0;
  return 1;
}

/* Everything role_main calls without looking, and what --help shows. */
static int role_complete(const struct role *r)
{
  return r->usage && !strncmp(r->usage, "usage: nano ", 12) && r->opts && r->access &&
         r->configure && r->start && r->stop;
}

int main(void)
{
  int n = 0, nroles = 0, sorted = 1, complete = 1;

  for (const struct applet *a = applets; a->name; a++, n++) {
    if (a[1].name && strcmp(a->name, a[1].name) >= 0)
      sorted = 0;
    if (!a->help || !*a->help)
      complete = 0;
    if (a->kind == APPLET_ROLE)
      nroles++;
  }
  plan(10 + 2 * n + 2 * nroles);
  ok(n >= 2, "the table has applets (%d)", n);
  ok(sorted, "names sorted and unique");
  ok(complete, "every applet has help");
  ok(nroles >= 1, "the table has roles (%d)", nroles);
  for (const struct applet *a = applets; a->name; a++) {
    if (a->kind == APPLET_ROLE) {
      ok(a->role && !a->main && role_complete(a->role),
         "role %s: a descriptor with usage, options, access, configure, start, stop", a->name);
      ok(!shadows_common(a->role), "role %s: no option named as a common one", a->name);
      ok(names_unique(a->role->opts), "role %s: option names unique", a->name);
    } else {
      ok(a->kind == APPLET_TOOL && a->main && !a->role, "tool %s: an entry point", a->name);
    }
  }
  for (const struct applet *a = applets; a->name; a++)
    ok(applet_find(a->name) == a, "applet_find(%s)", a->name);
  ok(names_unique(role_common_opts), "common option names unique");
  ok(applet_find("nope") == NULL, "unknown applet not found");
  ok(applet_find(NULL) == NULL, "NULL name not found");
  is_str(applet_name_of("/usr/local/bin/coap"), "coap", "basename of a path");
  is_str(applet_name_of("health"), "health", "bare name");
  is_str(applet_name_of("/bin/"), "", "trailing slash gives an empty name");
  return done_testing();
}
