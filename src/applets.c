/* applets.c - the one table of applets: name, entry point, one-line help.
 * Adding a role or tool is one line here and one file in applets/.
 */
#include "nano.h"

#include <string.h>

/* Keep sorted by name: --list prints them in this order. */
const struct applet applets[] = {
  { "ae",     cmd_ae,     "Authentication Engine: participants, meetings, auth decisions in SQLite" },
  { "bs",     cmd_bs,     "Bluetooth scanner: BLE devices in range (BlueZ over D-Bus, or sim)" },
  { "coap",   cmd_coap,   "CoAP client: get|post|put|delete|observe URI [PAYLOAD]" },
  { "demo",   cmd_demo,   "the paper's meeting scenario: every role as a process on loopback" },
  { "health", cmd_health, "exit 0 when the role on this host answers GET /health" },
  { "irk",    cmd_irk,    "a phone's IRK: from BlueZ's info file, or as hex/base64, as ae stores it" },
  { "keys",   cmd_keys,   "pre-shared keys for DTLS: new ID... | pick FILE ID... | check FILE" },
  { "mcs",    cmd_mcs,    "main controller: the per-participant flow of the meeting scenario" },
  { "mrs",    cmd_mrs,    "meeting room service: what the room's display shows" },
  { "pd",     cmd_pd,     "presence detection: a PIR sensor's motion starts to MCS" },
  { "stack",  cmd_stack,  "a building's Docker stack file from its description (JSON)" },
  { "ug",     cmd_ug,     "user guidance: LED chases from the entrance to a room" },
  { NULL, NULL, NULL }
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

