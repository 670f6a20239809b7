/* bluez.c - fuzz target: bs's reader of BlueZ's D-Bus property dicts,
 * bluez_parse_props (src/bluez.c), on any a{sv} anywhere in a D-Bus
 * message built from the input, as InterfacesAdded (oa{sa{sv}}) and
 * PropertiesChanged (sa{sv}as) bring them.
 *
 * The message is libdbus's own: dbus_message_demarshal of bytes, so it
 * is as valid as what the bus delivers, and libdbus's API checks abort
 * (its default) when the parser misuses an iterator.  Two input forms:
 *   'l' or 'B' first: a whole wire message (header and body);
 *   else: byte 1 is the length of a signature that follows, the rest is
 *   the body; the target wraps them in a little-endian signal header
 *   (path /org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF), so mutations spend
 *   themselves on the body rather than on header fields.
 * Invariants: a result has a valid upper-case address, a known type, a
 * name within WIRE_DEVICE_NAME_MAX, an iBeacon only from manufacturer data, and
 * a refused iterator leaves nothing set.
 */
#include "bluez.h"
#include "check.h"

#include <string.h>

#define PATH "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF"

static void check_props(int rc, const struct bluez_props *p)
{
  uint8_t a[6];

  if (rc < 0) {
    CHECK(!p->has_addr && !p->has_rssi && !p->has_name && !p->has_mfg && !p->has_svc &&
          !p->has_ibeacon && p->type == SIGHT_TYPE_KEEP);
    return;
  }
  CHECK(rc == 0);
  CHECK(p->type == SIGHT_TYPE_KEEP || p->type == SIGHT_PUBLIC || p->type == SIGHT_RANDOM);
  if (p->has_addr) {
    char text[18];
    CHECK(strlen(p->addr) == 17 && wire_ble_parse(p->addr, a) == 0);
    wire_ble_format(a, text);
    CHECK(!strcmp(text, p->addr));
  }
  if (p->has_rssi)
    CHECK(p->rssi >= -32768 && p->rssi <= 32767);
  if (p->has_name)
    CHECK(strlen(p->name) <= WIRE_DEVICE_NAME_MAX);
  if (p->has_ibeacon)
    CHECK(p->has_mfg);
}

/* Every position of the message, containers entered, at most 8 deep. */
static void walk(DBusMessageIter *it, int depth)
{
  for (int n = 0; n < 4096 && dbus_message_iter_get_arg_type(it) != DBUS_TYPE_INVALID; n++) {
    DBusMessageIter copy = *it, sub;
    struct bluez_props p;
    int t = dbus_message_iter_get_arg_type(it);

    check_props(bluez_parse_props(&copy, &p), &p);
    if (depth < 8 && (t == DBUS_TYPE_ARRAY || t == DBUS_TYPE_STRUCT || t == DBUS_TYPE_VARIANT ||
                      t == DBUS_TYPE_DICT_ENTRY)) {
      /* an array of fixed-size elements is read as one block (ay) */
      if (t != DBUS_TYPE_ARRAY || !dbus_type_is_fixed(dbus_message_iter_get_element_type(it))) {
        dbus_message_iter_recurse(it, &sub);
        walk(&sub, depth + 1);
      }
    }
    if (!dbus_message_iter_next(it))
      break;
  }
}

static size_t put(uint8_t *buf, size_t at, const void *p, size_t n)
{
  memcpy(buf + at, p, n);
  return at + n;
}

static size_t pad(uint8_t *buf, size_t at, size_t align)
{
  while (at % align)
    buf[at++] = 0;
  return at;
}

static size_t put_u32(uint8_t *buf, size_t at, uint32_t v)
{
  return put(buf, at, &v, 4);           /* little-endian host, 'l' messages */
}

/* One header field (code, variant of type t holding s), 8-aligned. */
static size_t field(uint8_t *buf, size_t at, uint8_t code, char t, const char *s)
{
  size_t len = strlen(s);

  at = pad(buf, at, 8);
  buf[at++] = code;
  buf[at++] = 1;                        /* the variant's signature: one type */
  buf[at++] = (uint8_t)t;
  buf[at++] = 0;
  if (t == 'g') {
    buf[at++] = (uint8_t)len;
  } else {
    at = pad(buf, at, 4);
    at = put_u32(buf, at, (uint32_t)len);
  }
  at = put(buf, at, s, len);
  buf[at++] = 0;
  return at;
}

/* A signal with the input's signature and body. */
static DBusMessage *wrap(const uint8_t *data, size_t size, DBusError *err)
{
  size_t siglen = size >= 2 ? data[1] : 0, at, fields_at, body_len;
  char sig[256];
  uint8_t *buf;
  DBusMessage *m;

  if (size < 2 || 2 + siglen > size)
    return NULL;
  memcpy(sig, data + 2, siglen);
  sig[siglen] = '\0';
  if (strlen(sig) != siglen)
    return NULL;
  body_len = size - 2 - siglen;
  buf = malloc(512 + body_len);
  if (!buf)
    return NULL;
  at = put(buf, 0, "l\4\0\1", 4);       /* little-endian, signal, no flags, v1 */
  at = put_u32(buf, at, (uint32_t)body_len);
  at = put_u32(buf, at, 1);             /* serial */
  fields_at = at;
  at = put_u32(buf, at, 0);             /* the fields' length, below */
  at = field(buf, at, DBUS_HEADER_FIELD_PATH, 'o', PATH);
  at = field(buf, at, DBUS_HEADER_FIELD_INTERFACE, 's', "org.freedesktop.DBus.Properties");
  at = field(buf, at, DBUS_HEADER_FIELD_MEMBER, 's', "PropertiesChanged");
  at = field(buf, at, DBUS_HEADER_FIELD_SIGNATURE, 'g', sig);
  put_u32(buf, fields_at, (uint32_t)(at - (fields_at + 4)));   /* 16: aligned */
  at = pad(buf, at, 8);
  at = put(buf, at, data + 2 + siglen, body_len);
  m = dbus_message_demarshal((const char *)buf, (int)at, err);
  free(buf);
  return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  DBusError err;
  DBusMessage *m;
  DBusMessageIter it;
  char addr[18];

  if (size > 1 << 20)
    return 0;
  dbus_error_init(&err);
  if (size && (data[0] == 'l' || data[0] == 'B'))
    m = dbus_message_demarshal((const char *)data, (int)size, &err);
  else
    m = wrap(data, size, &err);
  dbus_error_free(&err);
  if (!m)
    return 0;
  if (dbus_message_get_path(m) &&
      bluez_path_addr(dbus_message_get_path(m), "/org/bluez/hci0/", addr) == 0)
    CHECK(strlen(addr) == 17);
  if (dbus_message_iter_init(m, &it))
    walk(&it, 0);
  dbus_message_unref(m);
  return 0;
}
