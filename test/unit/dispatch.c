/* dispatch.c - unit tests of the applet table (src/applets.c). */
#include "nano.h"
#include "tap.h"

int main(void)
{
  int n = 0, sorted = 1, complete = 1;

  for (const struct applet *a = applets; a->name; a++, n++) {
    if (a[1].name && strcmp(a->name, a[1].name) >= 0)
      sorted = 0;
    if (!a->main || !a->help || !*a->help)
      complete = 0;
  }
  plan(8 + n);
  ok(n >= 2, "the table has applets (%d)", n);
  ok(sorted, "names sorted and unique");
  ok(complete, "every applet has an entry point and help");
  for (const struct applet *a = applets; a->name; a++)
    ok(applet_find(a->name) == a, "applet_find(%s)", a->name);
  ok(applet_find("nope") == NULL, "unknown applet not found");
  ok(applet_find(NULL) == NULL, "NULL name not found");
  is_str(applet_name_of("/usr/local/bin/coap"), "coap", "basename of a path");
  is_str(applet_name_of("health"), "health", "bare name");
  is_str(applet_name_of("/bin/"), "", "trailing slash gives an empty name");
  return done_testing();
}
