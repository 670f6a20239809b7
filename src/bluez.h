/* bluez.h - BLE advertisements from BlueZ over D-Bus (libdbus), on the
 * role's loop: no threads, no blocking calls.
 *
 *   struct bluez *b = bluez_new("hci0", on_seen, st);
 *   bluez_want_discovery(b, 1);      (continuous; or on and off per scan)
 *   ...  loop_run();  ...  bluez_free(b);
 *
 * It connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS, else
 * unix:path=/run/dbus/system_bus_socket), reads org.bluez's objects
 * (ObjectManager.GetManagedObjects), sets the discovery filter
 * {Transport: "le", DuplicateData: true} on the adapter and starts
 * discovery; then every InterfacesAdded / PropertiesChanged of a Device1
 * under the adapter becomes a struct sight_obs for on_seen: Address,
 * AddressType, RSSI, Name, and ManufacturerData (an iBeacon is parsed)
 * and ServiceData as signs that an advertisement arrived.
 *
 * When org.bluez leaves the bus (NameOwnerChanged) or the adapter goes,
 * the caller's cache stays as it is; the backend retries with bounded
 * backoff (0.5 s doubling to 30 s) and at once when org.bluez or the
 * adapter reappears, and starts discovery again.  A lost bus connection
 * is reconnected the same way.
 */
#ifndef NANO_BLUEZ_H
#define NANO_BLUEZ_H

#include <cjson/cJSON.h>
#include <dbus/dbus.h>

#include "sightings.h"

struct bluez;
typedef void (*bluez_seen_fn)(void *arg, const struct sight_obs *o);

/* NULL only when out of memory or adapter is not a valid name
 * ([A-Za-z0-9_], 1 to 16 characters); connecting happens on the loop. */
struct bluez *bluez_new(const char *adapter, bluez_seen_fn fn, void *arg);
void bluez_free(struct bluez *b);
/* Discovery on (1) or off (0); applied now or as soon as BlueZ is there. */
void bluez_want_discovery(struct bluez *b, int on);
/* "connecting", "no-bluez", "no-adapter", "starting", "discovering",
 * "idle" (ready, discovery not wanted) */
const char *bluez_state(const struct bluez *b);
void bluez_add_stats(const struct bluez *b, cJSON *obj);

/* ---- exposed for the unit tests ---- */

/* What a Device1 property dict (a{sv}) holds; has_* say what was present
 * with the right type.  Wrong types are skipped, never trusted. */
struct bluez_props {
  int has_addr;
  char addr[18];
  int type;                   /* SIGHT_PUBLIC, SIGHT_RANDOM, or SIGHT_TYPE_KEEP */
  int has_rssi;
  int rssi;
  int has_name;
  char name[WIRE_DEVICE_NAME_MAX + 1];
  int has_mfg, has_svc;       /* advertising data was present */
  int has_ibeacon;
  struct ibeacon ibeacon;
};
/* iter points at an a{sv}; returns 0, or -1 if it is not an a{sv}. */
int bluez_parse_props(DBusMessageIter *iter, struct bluez_props *out);
/* "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF" -> "AA:BB:CC:DD:EE:FF" when the
 * path is under prefix ("/org/bluez/hci0/"); -1 otherwise. */
int bluez_path_addr(const char *path, const char *prefix, char out[18]);

#endif
