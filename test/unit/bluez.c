/* bluez.c - unit tests of how nano bs reads BlueZ's Device1 properties
 * (src/bluez.c): the right types are taken, wrong ones skipped, never
 * trusted; object paths to addresses. */
#include "bluez.h"
#include "tap.h"

static const uint8_t beacon[23] = {
  0x02, 0x15, 0xE2, 0xC5, 0x6D, 0xB5, 0xDF, 0xFB, 0x48, 0xD2, 0xB0, 0x60,
  0xD0, 0xF5, 0xA7, 0x10, 0x96, 0xE0, 0x00, 0x07, 0x00, 0x09, 0xC5
};

static void open_entry(DBusMessageIter *dict, DBusMessageIter *entry, DBusMessageIter *var,
                       const char *key, const char *sig)
{
  dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, entry);
  dbus_message_iter_append_basic(entry, DBUS_TYPE_STRING, &key);
  dbus_message_iter_open_container(entry, DBUS_TYPE_VARIANT, sig, var);
}

static void close_entry(DBusMessageIter *dict, DBusMessageIter *entry, DBusMessageIter *var)
{
  dbus_message_iter_close_container(entry, var);
  dbus_message_iter_close_container(dict, entry);
}

static void add_basic(DBusMessageIter *dict, const char *key, int type, const char *sig,
                      const void *value)
{
  DBusMessageIter entry, var;
  open_entry(dict, &entry, &var, key, sig);
  dbus_message_iter_append_basic(&var, type, value);
  close_entry(dict, &entry, &var);
}

/* ManufacturerData {company: <bytes>} as BlueZ sends it: a{qv}, v = ay */
static void add_mfg(DBusMessageIter *dict, uint16_t company, const uint8_t *bytes, int n)
{
  DBusMessageIter entry, var, map, me, mv, arr;
  open_entry(dict, &entry, &var, "ManufacturerData", "a{qv}");
  dbus_message_iter_open_container(&var, DBUS_TYPE_ARRAY, "{qv}", &map);
  dbus_message_iter_open_container(&map, DBUS_TYPE_DICT_ENTRY, NULL, &me);
  dbus_message_iter_append_basic(&me, DBUS_TYPE_UINT16, &company);
  dbus_message_iter_open_container(&me, DBUS_TYPE_VARIANT, "ay", &mv);
  dbus_message_iter_open_container(&mv, DBUS_TYPE_ARRAY, "y", &arr);
  dbus_message_iter_append_fixed_array(&arr, DBUS_TYPE_BYTE, &bytes, n);
  dbus_message_iter_close_container(&mv, &arr);
  dbus_message_iter_close_container(&me, &mv);
  dbus_message_iter_close_container(&map, &me);
  dbus_message_iter_close_container(&var, &map);
  close_entry(dict, &entry, &var);
}

/* What python3-dbusmock's bluez5 template sends: an empty aa{qv} */
static void add_empty_nested(DBusMessageIter *dict, const char *key)
{
  DBusMessageIter entry, var, arr;
  open_entry(dict, &entry, &var, key, "aa{qv}");
  dbus_message_iter_open_container(&var, DBUS_TYPE_ARRAY, "a{qv}", &arr);
  dbus_message_iter_close_container(&var, &arr);
  close_entry(dict, &entry, &var);
}

static DBusMessage *props_message(void (*fill)(DBusMessageIter *dict))
{
  DBusMessage *m = dbus_message_new_signal("/org/bluez/hci0/dev_AA_BB_CC_DD_EE_01",
                                           "org.freedesktop.DBus.Properties",
                                           "PropertiesChanged");
  DBusMessageIter it, dict;
  dbus_message_iter_init_append(m, &it);
  dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &dict);
  fill(&dict);
  dbus_message_iter_close_container(&it, &dict);
  return m;
}

static int parse(DBusMessage *m, struct bluez_props *p)
{
  DBusMessageIter it;
  int rc;
  dbus_message_iter_init(m, &it);
  rc = bluez_parse_props(&it, p);
  dbus_message_unref(m);
  return rc;
}

static void fill_good(DBusMessageIter *d)
{
  const char *addr = "aa:bb:cc:dd:ee:01", *type = "random", *name = "Alice phone";
  dbus_int16_t rssi = -61;
  add_basic(d, "Address", DBUS_TYPE_STRING, "s", &addr);
  add_basic(d, "AddressType", DBUS_TYPE_STRING, "s", &type);
  add_basic(d, "RSSI", DBUS_TYPE_INT16, "n", &rssi);
  add_basic(d, "Name", DBUS_TYPE_STRING, "s", &name);
  add_mfg(d, 0x004C, beacon, sizeof beacon);
}

static void fill_wrong_types(DBusMessageIter *d)
{
  const char *bad_addr = "aa:bb:cc:dd:ee", *type = "static";
  dbus_int32_t rssi32 = -40, name_int = 5;
  dbus_uint32_t addr_int = 7;
  add_basic(d, "Address", DBUS_TYPE_UINT32, "u", &addr_int);
  add_basic(d, "Address", DBUS_TYPE_STRING, "s", &bad_addr);
  add_basic(d, "AddressType", DBUS_TYPE_STRING, "s", &type);
  add_basic(d, "RSSI", DBUS_TYPE_INT32, "i", &rssi32);
  add_basic(d, "Name", DBUS_TYPE_INT32, "i", &name_int);
  add_empty_nested(d, "ManufacturerData");
  add_empty_nested(d, "ServiceData");
}

static void fill_other_company(DBusMessageIter *d)
{
  add_mfg(d, 0x0059, beacon, sizeof beacon);
}

static void fill_long_name(DBusMessageIter *d)
{
  char name[200];
  const char *p = name;
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  add_basic(d, "Name", DBUS_TYPE_STRING, "s", &p);
}

int main(void)
{
  struct bluez_props p;
  char addr[18];

  plan(27);

  ok(parse(props_message(fill_good), &p) == 0, "a Device1 dict parses");
  ok(p.has_addr, "address present");
  is_str(p.addr, "AA:BB:CC:DD:EE:01", "address in upper case");
  is_int(p.type, SIGHT_RANDOM, "address type random");
  ok(p.has_rssi && p.rssi == -61, "RSSI as int16");
  ok(p.has_name, "name present");
  is_str(p.name, "Alice phone", "name");
  ok(p.has_mfg, "manufacturer data present");
  ok(p.has_ibeacon, "an iBeacon in it");
  is_int(p.ibeacon.major, 7, "beacon major");
  is_int(p.ibeacon.minor, 9, "beacon minor");
  ok(!p.has_svc, "no service data");

  ok(parse(props_message(fill_wrong_types), &p) == 0, "a dict with wrong types parses");
  ok(!p.has_addr, "an address of the wrong type or format is skipped");
  is_int(p.type, SIGHT_TYPE_KEEP, "an unknown address type is not taken");
  ok(!p.has_rssi, "an RSSI that is not int16 is skipped");
  ok(!p.has_name, "a name that is not a string is skipped");
  ok(!p.has_mfg && !p.has_svc, "aa{qv} is not advertising data");

  ok(parse(props_message(fill_other_company), &p) == 0 && p.has_mfg && !p.has_ibeacon,
     "another company's data is data, not a beacon");
  ok(parse(props_message(fill_long_name), &p) == 0 && strlen(p.name) == WIRE_DEVICE_NAME_MAX,
     "a long name is cut");

  {
    DBusMessage *m = dbus_message_new_signal("/", "a.b", "C");
    const char *s = "not a dict";
    dbus_message_append_args(m, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID);
    ok(parse(m, &p) < 0, "a string where a dict should be is refused");
  }

  ok(bluez_path_addr("/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F", "/org/bluez/hci0/", addr) == 0,
     "an object path gives its address");
  is_str(addr, "AA:BB:CC:DD:EE:0F", "the address");
  ok(bluez_path_addr("/org/bluez/hci1/dev_AA_BB_CC_DD_EE_0F", "/org/bluez/hci0/", addr) < 0,
     "another adapter's device is refused");
  ok(bluez_path_addr("/org/bluez/hci0/dev_AA_BB_CC_DD_EE", "/org/bluez/hci0/", addr) < 0,
     "a short path is refused");
  ok(bluez_path_addr("/org/bluez/hci0/dev_AA_BB_CC_DD_EE_0F/service0001", "/org/bluez/hci0/",
                     addr) < 0, "a GATT object under a device is refused");
  ok(bluez_path_addr("/org/bluez/hci0/dev_AA:BB_CC_DD_EE_0F", "/org/bluez/hci0/", addr) < 0,
     "a malformed path is refused");
  return done_testing();
}
