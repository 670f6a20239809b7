/* applets.c - the one table of applets: roles and tools.
 *
 * A role's row carries its descriptor (role.h: usage, options, access
 * table, configure, start, stop), defined in applets/NAME.c as NAME_role;
 * role_main runs it.  A tool's row carries its entry point, cmd_NAME.
 * Adding a role or a tool is its file in applets/ and two lines here: the
 * declaration and the row.
 */
#include "nano.h"
#include "role.h"

#include <string.h>

extern const struct role ae_role, bs_role, mcs_role, mrs_role, pd_role, ug_role;
int cmd_coap(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_irk(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_stack(int argc, char **argv);

#define ROLE(name, help) { #name, APPLET_ROLE, help, &name##_role, NULL }
#define TOOL(name, help) { #name, APPLET_TOOL, help, NULL, cmd_##name }

/* Keep sorted by name: --list prints each kind in this order. */
const struct applet applets[] = {
  ROLE(ae,     "Authentication Engine: participants, meetings, auth decisions in SQLite"),
  ROLE(bs,     "Bluetooth scanner: BLE devices in range (BlueZ over D-Bus, or sim)"),
  TOOL(coap,   "CoAP client: get|post|put|delete|observe URI [PAYLOAD]"),
  TOOL(demo,   "the paper's meeting scenario: every role as a process on loopback"),
  TOOL(health, "exit 0 when the role on this host answers GET /health"),
  TOOL(irk,    "a phone's IRK: from BlueZ's info file, or as hex/base64, as ae stores it"),
  TOOL(keys,   "pre-shared keys for DTLS: new ID... | pick FILE ID... | check FILE"),
  ROLE(mcs,    "main controller: the per-participant flow of the meeting scenario"),
  ROLE(mrs,    "meeting room service: what the room's display shows"),
  ROLE(pd,     "presence detection: a PIR sensor's motion starts to MCS"),
  TOOL(stack,  "a building's Docker stack file from its description (JSON)"),
  ROLE(ug,     "user guidance: LED chases from the entrance to a room"),
  { NULL, APPLET_TOOL, NULL, NULL, NULL }
};

const struct applet *applet_find(const char *name)
{
  for (const struct applet *a = applets; name && a->name; a++)
    if (!strcmp(a->name, name))
      return a;
  return NULL;
}

const char *applet_name_of(const char *argv0)
{
  const char *slash = argv0 ? strrchr(argv0, '/') : NULL;
  return slash ? slash + 1 : argv0 ? argv0 : "";
}

int applet_run(const struct applet *a, int argc, char **argv)
{
  if (a->kind == APPLET_ROLE)
    return role_main(a->name, a->role, argc, argv);
  return a->main(argc, argv);
}
