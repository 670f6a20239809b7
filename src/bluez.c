/* bluez.c - BLE advertisements from BlueZ over D-Bus, on the role's loop
 * (see bluez.h).
 *
 * libdbus does the protocol; this file gives it the loop: its watches
 * (the connection's socket, readable/writable) become one loop fd, its
 * timeouts loop timers, and messages are dispatched after every read.
 * Nothing blocks: even Hello is an ordinary asynchronous call
 * (dbus_bus_register would wait for the answer), and every method call
 * has a notify callback.  The state is a handful of flags:
 *
 *   connected -> (org.bluez has an owner) -> (adapter found) ->
 *   SetDiscoveryFilter -> StartDiscovery -> discovering
 *
 * and any step that fails is retried from GetManagedObjects with bounded
 * backoff, or at once when a signal says the missing piece arrived.
 * Signals are only believed from org.bluez's current unique name: on the
 * system bus anyone may send us a unicast signal, and a forged
 * InterfacesAdded would be a forged sighting.
 */
#include "bluez.h"
#include "loop.h"
#include "nano.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLUEZ_NAME "org.bluez"
#define IFACE_ADAPTER "org.bluez.Adapter1"
#define IFACE_DEVICE "org.bluez.Device1"
#define IFACE_OM "org.freedesktop.DBus.ObjectManager"
#define IFACE_PROPS "org.freedesktop.DBus.Properties"
/* Where a scratch container gets the host's socket bind-mounted (there is
 * no /var/run symlink in an empty image). */
#define DEFAULT_BUS "unix:path=/run/dbus/system_bus_socket"

#define CALL_TIMEOUT_MS 10000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define MAX_DEVICES 1024      /* D-Bus objects tracked; the cache has its own bound */
#define MAX_WATCH_FDS 4
#define MAX_RECEIVED_BYTES (4L << 20)
#define DISPATCH_BUDGET 256   /* messages per loop turn, so a flood cannot starve CoAP */

struct bz_dev {
  char path[96];
  char addr[18];
  int type;
  int has_rssi;
  int rssi;                   /* last raw RSSI BlueZ gave */
};

struct bz_fd {
  int fd;
  DBusWatch *w[4];
  int nw;
};

struct bz_timeout {
  DBusTimeout *t;
  struct loop_timer *timer;
};

struct bluez {
  char adapter[17];
  char adapter_path[64];
  char dev_prefix[72];        /* adapter_path + "/" */
  char address[512];
  bluez_seen_fn fn;
  void *arg;

  DBusConnection *conn;
  struct bz_fd fds[MAX_WATCH_FDS];
  int nfds;
  struct loop_timer *connect_timer, *sync_timer, *dispatch_timer, *drop_timer;
  uint64_t connect_backoff, sync_backoff;

  char owner[256];            /* org.bluez's unique name; "" while absent */
  int hello_done;
  int adapter_ok;
  int want;                   /* discovery wanted */
  int discovering;            /* our StartDiscovery succeeded */
  DBusPendingCall *hello_call, *sync_call, *filter_call, *start_call, *stop_call;
  int sync_again, kick_again;
  int logged_no_bluez, logged_no_adapter, logged_no_bus;

  struct bz_dev *devs;
  size_t ndevs, capdevs;

  uint64_t n_connects, n_bluez_back, n_discovery_starts, n_signals, n_errors;
};

static void sync_now(struct bluez *b);
static void kick(struct bluez *b);
static void connect_later(struct bluez *b);

/* ---- small helpers ------------------------------------------------------ */

static uint64_t next_backoff(uint64_t *backoff)
{
  uint64_t now = *backoff ? *backoff : BACKOFF_MIN_MS;
  *backoff = now * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : now * 2;
  return now;
}

static void drop_call(DBusPendingCall **slot)
{
  if (*slot) {
    dbus_pending_call_cancel(*slot);
    dbus_pending_call_unref(*slot);
    *slot = NULL;
  }
}

/* The reply of a finished call, with the slot cleared; NULL if none. */
static DBusMessage *take_reply(DBusPendingCall *pc, DBusPendingCall **slot)
{
  DBusMessage *m = dbus_pending_call_steal_reply(pc);
  if (*slot == pc)
    *slot = NULL;
  dbus_pending_call_unref(pc);
  return m;
}

static DBusPendingCall *call(struct bluez *b, DBusMessage *m,
                             DBusPendingCallNotifyFunction fn)
{
  DBusPendingCall *pc = NULL;

  if (!m || !b->conn)
    goto fail;
  if (!dbus_connection_send_with_reply(b->conn, m, &pc, CALL_TIMEOUT_MS) || !pc)
    goto fail;
  dbus_message_unref(m);
  if (!dbus_pending_call_set_notify(pc, fn, b, NULL)) {
    dbus_pending_call_cancel(pc);
    dbus_pending_call_unref(pc);
    return NULL;
  }
  return pc;
fail:
  if (m)
    dbus_message_unref(m);
  return NULL;
}

static const char *error_text(DBusMessage *m, char *buf, size_t size)
{
  const char *msg = NULL;
  if (!m) {
    snprintf(buf, size, "no reply");
    return buf;
  }
  dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &msg, DBUS_TYPE_INVALID);
  snprintf(buf, size, "%s: %s", dbus_message_get_error_name(m) ? dbus_message_get_error_name(m) : "error",
           msg ? msg : "");
  return buf;
}

static int is_error(DBusMessage *m)
{
  return !m || dbus_message_get_type(m) == DBUS_MESSAGE_TYPE_ERROR;
}

/* ---- the D-Bus tables of devices ------------------------------------- */

int bluez_path_addr(const char *path, const char *prefix, char out[18])
{
  size_t n = strlen(prefix);
  uint8_t a[6];
  char text[18];

  if (strncmp(path, prefix, n) || strncmp(path + n, "dev_", 4) || strlen(path + n + 4) != 17)
    return -1;
  memcpy(text, path + n + 4, 18);
  for (int i = 2; i < 17; i += 3) {
    if (text[i] != '_')
      return -1;
    text[i] = ':';
  }
  if (wire_ble_parse(text, a) < 0)
    return -1;
  wire_ble_format(a, out);
  return 0;
}

static struct bz_dev *dev_find(struct bluez *b, const char *path)
{
  for (size_t i = 0; i < b->ndevs; i++)
    if (!strcmp(b->devs[i].path, path))
      return &b->devs[i];
  return NULL;
}

static struct bz_dev *dev_add(struct bluez *b, const char *path, const char *addr)
{
  struct bz_dev *d;

  if (strlen(path) >= sizeof d->path || b->ndevs == MAX_DEVICES)
    return NULL;
  if (b->ndevs == b->capdevs) {
    size_t cap = b->capdevs ? b->capdevs * 2 : 32;
    struct bz_dev *v = realloc(b->devs, cap * sizeof *v);
    if (!v)
      return NULL;
    b->devs = v;
    b->capdevs = cap;
  }
  d = &b->devs[b->ndevs++];
  memset(d, 0, sizeof *d);
  snprintf(d->path, sizeof d->path, "%s", path);
  memcpy(d->addr, addr, 18);
  d->type = SIGHT_TYPE_KEEP;
  return d;
}

static void dev_remove(struct bluez *b, const char *path)
{
  struct bz_dev *d = dev_find(b, path);
  if (d)
    *d = b->devs[--b->ndevs];
}

/* ---- parsing ------------------------------------------------------------ */

static int is_dict(DBusMessageIter *it, int key_type)
{
  if (dbus_message_iter_get_arg_type(it) != DBUS_TYPE_ARRAY ||
      dbus_message_iter_get_element_type(it) != DBUS_TYPE_DICT_ENTRY)
    return 0;
  if (key_type == DBUS_TYPE_INVALID)
    return 1;
  /* the key type is in the signature: a{<key><value>} */
  char *sig = dbus_message_iter_get_signature(it);
  int ok = sig && strlen(sig) >= 3 && sig[2] == key_type;
  dbus_free(sig);
  return ok;
}

static void parse_mfg(DBusMessageIter *var, struct bluez_props *out)
{
  DBusMessageIter arr, entry, val;

  if (!is_dict(var, DBUS_TYPE_UINT16))
    return;
  dbus_message_iter_recurse(var, &arr);
  for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY;
       dbus_message_iter_next(&arr)) {
    dbus_uint16_t company;
    const uint8_t *bytes = NULL;
    int n = 0;

    out->has_mfg = 1;
    dbus_message_iter_recurse(&arr, &entry);
    dbus_message_iter_get_basic(&entry, &company);
    if (!dbus_message_iter_next(&entry) ||
        dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_VARIANT)
      continue;
    dbus_message_iter_recurse(&entry, &val);
    if (dbus_message_iter_get_arg_type(&val) != DBUS_TYPE_ARRAY ||
        dbus_message_iter_get_element_type(&val) != DBUS_TYPE_BYTE)
      continue;
    {
      DBusMessageIter bytes_it;
      dbus_message_iter_recurse(&val, &bytes_it);
      dbus_message_iter_get_fixed_array(&bytes_it, &bytes, &n);
    }
    if (bytes && ibeacon_parse(company, bytes, (size_t)n, &out->ibeacon) == 0)
      out->has_ibeacon = 1;
  }
}

static void parse_prop(const char *key, DBusMessageIter *var, struct bluez_props *out)
{
  int t = dbus_message_iter_get_arg_type(var);
  const char *s = NULL;

  if (!strcmp(key, "Address") && t == DBUS_TYPE_STRING) {
    uint8_t a[6];
    dbus_message_iter_get_basic(var, &s);
    if (wire_ble_parse(s, a) == 0) {
      wire_ble_format(a, out->addr);
      out->has_addr = 1;
    }
  } else if (!strcmp(key, "AddressType") && t == DBUS_TYPE_STRING) {
    dbus_message_iter_get_basic(var, &s);
    out->type = !strcmp(s, "random") ? SIGHT_RANDOM :
                !strcmp(s, "public") ? SIGHT_PUBLIC : SIGHT_TYPE_KEEP;
  } else if (!strcmp(key, "RSSI") && t == DBUS_TYPE_INT16) {
    dbus_int16_t v;
    dbus_message_iter_get_basic(var, &v);
    out->rssi = v;
    out->has_rssi = 1;
  } else if (!strcmp(key, "Name") && t == DBUS_TYPE_STRING) {
    dbus_message_iter_get_basic(var, &s);
    utf8_copy(out->name, sizeof out->name, s);
    out->has_name = 1;
  } else if (!strcmp(key, "ManufacturerData")) {
    parse_mfg(var, out);
  } else if (!strcmp(key, "ServiceData") && is_dict(var, DBUS_TYPE_STRING)) {
    DBusMessageIter arr;
    dbus_message_iter_recurse(var, &arr);
    if (dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY)
      out->has_svc = 1;
  }
}

int bluez_parse_props(DBusMessageIter *iter, struct bluez_props *out)
{
  DBusMessageIter arr, entry, var;

  memset(out, 0, sizeof *out);
  out->type = SIGHT_TYPE_KEEP;
  if (!is_dict(iter, DBUS_TYPE_STRING))
    return -1;
  dbus_message_iter_recurse(iter, &arr);
  for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY;
       dbus_message_iter_next(&arr)) {
    const char *key;
    dbus_message_iter_recurse(&arr, &entry);
    dbus_message_iter_get_basic(&entry, &key);
    if (!dbus_message_iter_next(&entry) ||
        dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_VARIANT)
      continue;
    dbus_message_iter_recurse(&entry, &var);
    parse_prop(key, &var, out);
  }
  return 0;
}

/* ---- what the signals and replies mean --------------------------------- */

static int under_adapter(struct bluez *b, const char *path)
{
  return !strncmp(path, b->dev_prefix, strlen(b->dev_prefix));
}

static int lists_rssi(DBusMessageIter *invalidated)
{
  DBusMessageIter it;
  if (!invalidated || dbus_message_iter_get_arg_type(invalidated) != DBUS_TYPE_ARRAY ||
      dbus_message_iter_get_element_type(invalidated) != DBUS_TYPE_STRING)
    return 0;
  dbus_message_iter_recurse(invalidated, &it);
  for (; dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_STRING; dbus_message_iter_next(&it)) {
    const char *s;
    dbus_message_iter_get_basic(&it, &s);
    if (!strcmp(s, "RSSI"))
      return 1;
  }
  return 0;
}

/* A Device1's properties: all of them (snapshot: GetManagedObjects or
 * InterfacesAdded) or the changed ones (PropertiesChanged).  A device
 * counts as heard when BlueZ gives an RSSI, or, for a change, new
 * advertising data: with DuplicateData BlueZ re-sends ManufacturerData
 * and ServiceData for every advertisement, and once a filter is set it
 * sends every change of RSSI (no delta threshold), so data without an
 * RSSI means the RSSI is what it was. */
static void device_props(struct bluez *b, const char *path, DBusMessageIter *props,
                         int snapshot, DBusMessageIter *invalidated)
{
  struct bluez_props p;
  struct bz_dev *d, tmp;
  char addr[18];
  int heard;

  if (bluez_parse_props(props, &p) < 0)
    return;
  d = dev_find(b, path);
  if (!d) {
    if (p.has_addr)
      memcpy(addr, p.addr, sizeof addr);
    else if (bluez_path_addr(path, b->dev_prefix, addr) < 0)
      return;
    d = dev_add(b, path, addr);
    if (!d) {                 /* table full: use what this message says */
      memset(&tmp, 0, sizeof tmp);
      memcpy(tmp.addr, addr, sizeof addr);
      tmp.type = SIGHT_TYPE_KEEP;
      d = &tmp;
    }
  } else if (p.has_addr) {
    memcpy(d->addr, p.addr, sizeof d->addr);
  }
  if (p.type != SIGHT_TYPE_KEEP)
    d->type = p.type;
  if (p.has_rssi) {
    d->has_rssi = 1;
    d->rssi = p.rssi;
  } else if (lists_rssi(invalidated)) {
    d->has_rssi = 0;          /* BlueZ no longer hears it (or stopped scanning) */
  }
  heard = d->has_rssi && (p.has_rssi || (!snapshot && (p.has_mfg || p.has_svc)));
  if (!heard && !p.has_name && p.type == SIGHT_TYPE_KEEP && !p.has_ibeacon)
    return;
  struct sight_obs o = {
    .addr = d->addr, .type = d->type, .heard = heard, .rssi = d->rssi,
    .name = p.has_name ? p.name : NULL, .ibeacon = p.has_ibeacon ? &p.ibeacon : NULL,
  };
  log_debug("bluez path=%s addr=%s heard=%d rssi=%d", path, d->addr, heard, d->rssi);
  b->fn(b->arg, &o);
}

static void adapter_lost(struct bluez *b, const char *why)
{
  if (b->adapter_ok)
    log_warn("bluez adapter=%s %s; keeping the sightings", b->adapter, why);
  b->adapter_ok = 0;
  b->discovering = 0;
  b->ndevs = 0;
}

static void bluez_gone(struct bluez *b)
{
  log_warn("bluez org.bluez left the bus; keeping the sightings, waiting for it to return");
  b->owner[0] = '\0';
  b->logged_no_bluez = 1;
  adapter_lost(b, "gone with org.bluez");
}

static void sync_soon(struct bluez *b, uint64_t ms);

static void retry_sync(struct bluez *b)
{
  uint64_t ms = next_backoff(&b->sync_backoff);
  log_debug("bluez retry_in_ms=%llu", (unsigned long long)ms);
  sync_soon(b, ms);
}

static void on_name_owner_changed(struct bluez *b, DBusMessage *m)
{
  const char *name, *old, *new_owner;

  if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old,
                             DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) ||
      strcmp(name, BLUEZ_NAME))
    return;
  if (!*new_owner) {
    bluez_gone(b);
    retry_sync(b);
    return;
  }
  log_info("bluez org.bluez is on the bus (owner=%s)", new_owner);
  snprintf(b->owner, sizeof b->owner, "%s", new_owner);
  b->logged_no_bluez = 0;
  b->n_bluez_back++;
  b->sync_backoff = 0;
  sync_soon(b, 0);
}

static void on_interfaces_added(struct bluez *b, DBusMessage *m)
{
  DBusMessageIter it, ifaces, entry, props;
  const char *path;

  if (!dbus_message_iter_init(m, &it) ||
      dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_OBJECT_PATH)
    return;
  dbus_message_iter_get_basic(&it, &path);
  if (!dbus_message_iter_next(&it) || !is_dict(&it, DBUS_TYPE_STRING))
    return;
  dbus_message_iter_recurse(&it, &ifaces);
  for (; dbus_message_iter_get_arg_type(&ifaces) == DBUS_TYPE_DICT_ENTRY;
       dbus_message_iter_next(&ifaces)) {
    const char *iface;
    dbus_message_iter_recurse(&ifaces, &entry);
    dbus_message_iter_get_basic(&entry, &iface);
    if (!dbus_message_iter_next(&entry))
      continue;
    props = entry;
    if (!strcmp(iface, IFACE_ADAPTER) && !strcmp(path, b->adapter_path)) {
      log_info("bluez adapter=%s appeared", b->adapter);
      b->sync_backoff = 0;
      sync_soon(b, 0);
    } else if (!strcmp(iface, IFACE_DEVICE) && under_adapter(b, path)) {
      device_props(b, path, &props, 1, NULL);
    }
  }
}

static void on_interfaces_removed(struct bluez *b, DBusMessage *m)
{
  DBusMessageIter it, arr;
  const char *path;

  if (!dbus_message_iter_init(m, &it) ||
      dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_OBJECT_PATH)
    return;
  dbus_message_iter_get_basic(&it, &path);
  if (!dbus_message_iter_next(&it) || dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY ||
      dbus_message_iter_get_element_type(&it) != DBUS_TYPE_STRING)
    return;
  dbus_message_iter_recurse(&it, &arr);
  for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_STRING; dbus_message_iter_next(&arr)) {
    const char *iface;
    dbus_message_iter_get_basic(&arr, &iface);
    if (!strcmp(iface, IFACE_ADAPTER) && !strcmp(path, b->adapter_path)) {
      adapter_lost(b, "was removed");
      retry_sync(b);
    } else if (!strcmp(iface, IFACE_DEVICE) && under_adapter(b, path)) {
      /* BlueZ dropped the object; the sighting ages out by --forget */
      dev_remove(b, path);
    }
  }
}

static void adapter_changed(struct bluez *b, DBusMessageIter *props)
{
  DBusMessageIter arr, entry, var;
  int powered = -1, discovering = -1;

  if (!is_dict(props, DBUS_TYPE_STRING))
    return;
  dbus_message_iter_recurse(props, &arr);
  for (; dbus_message_iter_get_arg_type(&arr) == DBUS_TYPE_DICT_ENTRY;
       dbus_message_iter_next(&arr)) {
    const char *key;
    dbus_bool_t v;
    dbus_message_iter_recurse(&arr, &entry);
    dbus_message_iter_get_basic(&entry, &key);
    if (!dbus_message_iter_next(&entry))
      continue;
    dbus_message_iter_recurse(&entry, &var);
    if (dbus_message_iter_get_arg_type(&var) != DBUS_TYPE_BOOLEAN)
      continue;
    dbus_message_iter_get_basic(&var, &v);
    if (!strcmp(key, "Powered"))
      powered = v;
    else if (!strcmp(key, "Discovering"))
      discovering = v;
  }
  if (powered == 0 && b->discovering) {
    log_warn("bluez adapter=%s powered off", b->adapter);
    b->discovering = 0;
  }
  /* Powered on again, or discovery stopped under us (BlueZ drops its
   * discovery clients on power-down): ask again; if our session still
   * exists BlueZ answers InProgress, which is fine. */
  if (b->want && b->adapter_ok && (powered == 1 || (discovering == 0 && b->discovering))) {
    b->discovering = 0;
    kick(b);
  }
}

static void on_properties_changed(struct bluez *b, DBusMessage *m)
{
  DBusMessageIter it, changed;
  const char *iface, *path = dbus_message_get_path(m);

  if (!path || !dbus_message_iter_init(m, &it) ||
      dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_STRING)
    return;
  dbus_message_iter_get_basic(&it, &iface);
  if (!dbus_message_iter_next(&it))
    return;
  changed = it;
  dbus_message_iter_next(&it);
  if (!strcmp(iface, IFACE_DEVICE) && under_adapter(b, path))
    device_props(b, path, &changed, 0, &it);
  else if (!strcmp(iface, IFACE_ADAPTER) && !strcmp(path, b->adapter_path))
    adapter_changed(b, &changed);
}

static DBusHandlerResult on_message(DBusConnection *c, DBusMessage *m, void *data)
{
  struct bluez *b = data;
  const char *sender = dbus_message_get_sender(m);

  (void)c;
  if (dbus_message_is_signal(m, DBUS_INTERFACE_LOCAL, "Disconnected")) {
    log_warn("bluez bus connection lost; reconnecting");
    connect_later(b);
    return DBUS_HANDLER_RESULT_HANDLED;
  }
  if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL)
    return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
  b->n_signals++;
  if (dbus_message_is_signal(m, DBUS_INTERFACE_DBUS, "NameOwnerChanged")) {
    if (sender && !strcmp(sender, DBUS_SERVICE_DBUS))
      on_name_owner_changed(b, m);
    return DBUS_HANDLER_RESULT_HANDLED;
  }
  if (!b->owner[0] || !sender || strcmp(sender, b->owner)) {
    log_debug("bluez ignored signal from %s", sender ? sender : "?");
    return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
  }
  if (dbus_message_is_signal(m, IFACE_OM, "InterfacesAdded"))
    on_interfaces_added(b, m);
  else if (dbus_message_is_signal(m, IFACE_OM, "InterfacesRemoved"))
    on_interfaces_removed(b, m);
  else if (dbus_message_is_signal(m, IFACE_PROPS, "PropertiesChanged"))
    on_properties_changed(b, m);
  return DBUS_HANDLER_RESULT_HANDLED;
}

/* ---- discovery --------------------------------------------------------- */

static void after_discovery_call(struct bluez *b)
{
  if (b->kick_again) {
    b->kick_again = 0;
    kick(b);
  }
}

static void on_start_reply(DBusPendingCall *pc, void *data)
{
  struct bluez *b = data;
  DBusMessage *m = take_reply(pc, &b->start_call);
  char why[256];

  if (!is_error(m) || !strcmp(dbus_message_get_error_name(m), "org.bluez.Error.InProgress")) {
    b->discovering = 1;
    b->sync_backoff = 0;
    b->n_discovery_starts++;
    log_info("bluez adapter=%s discovering transport=le duplicates=on", b->adapter);
  } else {
    b->n_errors++;
    log_warn("bluez adapter=%s StartDiscovery failed (%s)", b->adapter,
             error_text(m, why, sizeof why));
    retry_sync(b);
  }
  if (m)
    dbus_message_unref(m);
  after_discovery_call(b);
}

static void start_discovery(struct bluez *b)
{
  DBusMessage *m = dbus_message_new_method_call(BLUEZ_NAME, b->adapter_path, IFACE_ADAPTER,
                                                "StartDiscovery");
  b->start_call = call(b, m, on_start_reply);
  if (!b->start_call)
    retry_sync(b);
}

static void on_filter_reply(DBusPendingCall *pc, void *data)
{
  struct bluez *b = data;
  DBusMessage *m = take_reply(pc, &b->filter_call);
  char why[256];

  if (is_error(m)) {
    b->n_errors++;
    log_warn("bluez adapter=%s SetDiscoveryFilter failed (%s)", b->adapter,
             error_text(m, why, sizeof why));
    retry_sync(b);
  } else if (b->want) {
    start_discovery(b);
  }
  if (m)
    dbus_message_unref(m);
  if (!b->start_call)
    after_discovery_call(b);
}

static int append_entry(DBusMessageIter *dict, const char *key, int type, const char *sig,
                        const void *value)
{
  DBusMessageIter entry, var;
  return dbus_message_iter_open_container(dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) &&
         dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &key) &&
         dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT, sig, &var) &&
         dbus_message_iter_append_basic(&var, type, value) &&
         dbus_message_iter_close_container(&entry, &var) &&
         dbus_message_iter_close_container(dict, &entry);
}

/* {Transport: "le", DuplicateData: true}: LE only, and a signal for
 * every advertisement, which is what keeps a present device fresh. */
static DBusMessage *filter_message(struct bluez *b)
{
  DBusMessage *m = dbus_message_new_method_call(BLUEZ_NAME, b->adapter_path, IFACE_ADAPTER,
                                                "SetDiscoveryFilter");
  DBusMessageIter it, dict;
  const char *le = "le";
  dbus_bool_t yes = TRUE;

  if (!m)
    return NULL;
  dbus_message_iter_init_append(m, &it);
  if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &dict) ||
      !append_entry(&dict, "Transport", DBUS_TYPE_STRING, "s", &le) ||
      !append_entry(&dict, "DuplicateData", DBUS_TYPE_BOOLEAN, "b", &yes) ||
      !dbus_message_iter_close_container(&it, &dict)) {
    dbus_message_unref(m);
    return NULL;
  }
  return m;
}

static void on_stop_reply(DBusPendingCall *pc, void *data)
{
  struct bluez *b = data;
  DBusMessage *m = take_reply(pc, &b->stop_call);
  char why[256];

  if (is_error(m))
    log_warn("bluez adapter=%s StopDiscovery failed (%s)", b->adapter,
             error_text(m, why, sizeof why));
  else
    log_info("bluez adapter=%s discovery stopped", b->adapter);
  b->discovering = 0;
  if (m)
    dbus_message_unref(m);
  after_discovery_call(b);
}

/* Bring discovery to what is wanted, one call at a time. */
static void kick(struct bluez *b)
{
  if (!b->conn || !b->owner[0] || !b->adapter_ok)
    return;
  if (b->filter_call || b->start_call || b->stop_call) {
    b->kick_again = 1;
    return;
  }
  if (b->want && !b->discovering) {
    b->filter_call = call(b, filter_message(b), on_filter_reply);
    if (!b->filter_call)
      retry_sync(b);
  } else if (!b->want && b->discovering) {
    DBusMessage *m = dbus_message_new_method_call(BLUEZ_NAME, b->adapter_path, IFACE_ADAPTER,
                                                  "StopDiscovery");
    b->stop_call = call(b, m, on_stop_reply);
    if (!b->stop_call)
      b->discovering = 0;
  }
}

void bluez_want_discovery(struct bluez *b, int on)
{
  if (b->want == !!on)
    return;
  b->want = !!on;
  kick(b);
}

/* ---- GetManagedObjects ------------------------------------------------- */

static void snapshot_object(struct bluez *b, DBusMessageIter *obj)
{
  DBusMessageIter entry, ifaces, ie, props;
  const char *path;

  dbus_message_iter_recurse(obj, &entry);
  if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_OBJECT_PATH)
    return;
  dbus_message_iter_get_basic(&entry, &path);
  if (!dbus_message_iter_next(&entry) || !is_dict(&entry, DBUS_TYPE_STRING))
    return;
  dbus_message_iter_recurse(&entry, &ifaces);
  for (; dbus_message_iter_get_arg_type(&ifaces) == DBUS_TYPE_DICT_ENTRY;
       dbus_message_iter_next(&ifaces)) {
    const char *iface;
    dbus_message_iter_recurse(&ifaces, &ie);
    dbus_message_iter_get_basic(&ie, &iface);
    if (!dbus_message_iter_next(&ie))
      continue;
    props = ie;
    if (!strcmp(iface, IFACE_ADAPTER) && !strcmp(path, b->adapter_path))
      b->adapter_ok = 1;
    else if (!strcmp(iface, IFACE_DEVICE) && under_adapter(b, path))
      device_props(b, path, &props, 1, NULL);
  }
}

static void on_sync_reply(DBusPendingCall *pc, void *data)
{
  struct bluez *b = data;
  DBusMessage *m = take_reply(pc, &b->sync_call);
  DBusMessageIter it, objs;
  char why[256];

  if (is_error(m)) {
    const char *name = m ? dbus_message_get_error_name(m) : "";
    if (!strcmp(name, DBUS_ERROR_SERVICE_UNKNOWN) || !strcmp(name, DBUS_ERROR_NAME_HAS_NO_OWNER)) {
      if (!b->logged_no_bluez)
        log_warn("bluez org.bluez is not on the bus; retrying");
      b->logged_no_bluez = 1;
      b->owner[0] = '\0';
    } else {
      b->n_errors++;
      log_warn("bluez GetManagedObjects failed (%s)", error_text(m, why, sizeof why));
    }
    retry_sync(b);
    goto done;
  }
  if (dbus_message_get_sender(m))
    snprintf(b->owner, sizeof b->owner, "%s", dbus_message_get_sender(m));
  if (b->logged_no_bluez)
    log_info("bluez org.bluez answered (owner=%s)", b->owner);
  b->logged_no_bluez = 0;
  b->adapter_ok = 0;
  if (dbus_message_iter_init(m, &it) && is_dict(&it, DBUS_TYPE_OBJECT_PATH)) {
    dbus_message_iter_recurse(&it, &objs);
    for (; dbus_message_iter_get_arg_type(&objs) == DBUS_TYPE_DICT_ENTRY;
         dbus_message_iter_next(&objs))
      snapshot_object(b, &objs);
  }
  if (!b->adapter_ok) {
    if (!b->logged_no_adapter)
      log_warn("bluez adapter=%s not found; retrying", b->adapter);
    b->logged_no_adapter = 1;
    b->discovering = 0;
    retry_sync(b);
    goto done;
  }
  if (b->logged_no_adapter)
    log_info("bluez adapter=%s found", b->adapter);
  b->logged_no_adapter = 0;
  if (!b->want)
    b->sync_backoff = 0;
  kick(b);
done:
  if (m)
    dbus_message_unref(m);
  if (b->sync_again) {
    b->sync_again = 0;
    sync_now(b);
  }
}

static void sync_now(struct bluez *b)
{
  DBusMessage *m;

  if (!b->conn)
    return;
  if (b->sync_call) {
    b->sync_again = 1;
    return;
  }
  m = dbus_message_new_method_call(BLUEZ_NAME, "/", IFACE_OM, "GetManagedObjects");
  b->sync_call = call(b, m, on_sync_reply);
  if (!b->sync_call)
    retry_sync(b);
}

static void on_sync_timer(void *arg)
{
  struct bluez *b = arg;
  b->sync_timer = NULL;
  sync_now(b);
}

static void sync_soon(struct bluez *b, uint64_t ms)
{
  if (b->sync_timer)
    loop_cancel(b->sync_timer);
  b->sync_timer = loop_after(ms, on_sync_timer, b);
}

/* ---- libdbus on our loop: watches, timeouts, dispatch ----------------- */

static void dispatch_all(struct bluez *b);

static void on_dispatch_timer(void *arg)
{
  struct bluez *b = arg;
  b->dispatch_timer = NULL;
  dispatch_all(b);
}

static void dispatch_later(struct bluez *b)
{
  if (!b->dispatch_timer)
    b->dispatch_timer = loop_after(0, on_dispatch_timer, b);
}

static void dispatch_all(struct bluez *b)
{
  DBusConnection *c = b->conn;
  int budget = DISPATCH_BUDGET;

  if (!c)
    return;
  dbus_connection_ref(c);
  while (budget-- > 0 && dbus_connection_dispatch(c) == DBUS_DISPATCH_DATA_REMAINS)
    ;
  if (b->conn == c && dbus_connection_get_dispatch_status(c) == DBUS_DISPATCH_DATA_REMAINS)
    dispatch_later(b);
  dbus_connection_unref(c);
}

/* libdbus tells when messages wait; dispatching inside its call is not
 * allowed, so it happens on the next loop turn. */
static void on_dispatch_status(DBusConnection *c, DBusDispatchStatus status, void *data)
{
  (void)c;
  if (status == DBUS_DISPATCH_DATA_REMAINS)
    dispatch_later(data);
}

static struct bz_fd *fd_find(struct bluez *b, int fd)
{
  for (int i = 0; i < b->nfds; i++)
    if (b->fds[i].fd == fd)
      return &b->fds[i];
  return NULL;
}

static void on_fd(int fd, short revents, void *arg);

/* libdbus may give a read and a write watch on one socket; the loop keeps
 * one entry per fd, so the events of the enabled watches are merged. */
static void fd_update(struct bluez *b, int fd)
{
  struct bz_fd *f = fd_find(b, fd);
  short events = 0;

  if (!f)
    return;
  if (!f->nw) {
    loop_del_fd(fd);
    *f = b->fds[--b->nfds];
    return;
  }
  for (int i = 0; i < f->nw; i++) {
    unsigned flags = dbus_watch_get_flags(f->w[i]);
    if (!dbus_watch_get_enabled(f->w[i]))
      continue;
    if (flags & DBUS_WATCH_READABLE)
      events |= POLLIN;
    if (flags & DBUS_WATCH_WRITABLE)
      events |= POLLOUT;
  }
  if (loop_add_fd(fd, events, on_fd, b) < 0)
    log_error("bluez cannot watch fd=%d", fd);
}

static dbus_bool_t add_watch(DBusWatch *w, void *data)
{
  struct bluez *b = data;
  int fd = dbus_watch_get_unix_fd(w);
  struct bz_fd *f = fd_find(b, fd);

  if (!f) {
    if (b->nfds == MAX_WATCH_FDS)
      return FALSE;
    f = &b->fds[b->nfds++];
    memset(f, 0, sizeof *f);
    f->fd = fd;
  }
  if (f->nw == 4)
    return FALSE;
  f->w[f->nw++] = w;
  fd_update(b, fd);
  return TRUE;
}

static void remove_watch(DBusWatch *w, void *data)
{
  struct bluez *b = data;
  int fd = dbus_watch_get_unix_fd(w);
  struct bz_fd *f = fd_find(b, fd);

  if (!f)
    return;
  for (int i = 0; i < f->nw; i++)
    if (f->w[i] == w) {
      f->w[i] = f->w[--f->nw];
      break;
    }
  fd_update(b, fd);
}

static void toggle_watch(DBusWatch *w, void *data)
{
  fd_update(data, dbus_watch_get_unix_fd(w));
}

static int watch_registered(struct bluez *b, int fd, DBusWatch *w)
{
  struct bz_fd *f = fd_find(b, fd);
  for (int i = 0; f && i < f->nw; i++)
    if (f->w[i] == w)
      return 1;
  return 0;
}

static void on_fd(int fd, short revents, void *arg)
{
  struct bluez *b = arg;
  struct bz_fd *f = fd_find(b, fd);
  DBusWatch *ws[4];
  int n;

  if (!f)
    return;
  n = f->nw;
  memcpy(ws, f->w, sizeof ws);
  for (int i = 0; i < n; i++) {
    unsigned flags, cond = 0;
    /* handling one watch may remove the others (a hangup closes all) */
    if (!watch_registered(b, fd, ws[i]) || !dbus_watch_get_enabled(ws[i]))
      continue;
    flags = dbus_watch_get_flags(ws[i]);
    if ((flags & DBUS_WATCH_READABLE) && (revents & POLLIN))
      cond |= DBUS_WATCH_READABLE;
    if ((flags & DBUS_WATCH_WRITABLE) && (revents & POLLOUT))
      cond |= DBUS_WATCH_WRITABLE;
    if (revents & POLLHUP)
      cond |= DBUS_WATCH_HANGUP;
    if (revents & POLLERR)
      cond |= DBUS_WATCH_ERROR;
    if (cond)
      dbus_watch_handle(ws[i], cond);
  }
  dispatch_all(b);
}

static void on_timeout(void *arg)
{
  struct bz_timeout *bt = arg;
  DBusTimeout *t = bt->t;
  /* libdbus timeouts repeat until removed; arm the next one first,
   * because handling it may remove (and free) it */
  bt->timer = loop_after((uint64_t)dbus_timeout_get_interval(t), on_timeout, bt);
  dbus_timeout_handle(t);
}

static void arm_timeout(struct bz_timeout *bt)
{
  if (bt->timer)
    loop_cancel(bt->timer);
  bt->timer = NULL;
  if (dbus_timeout_get_enabled(bt->t))
    bt->timer = loop_after((uint64_t)dbus_timeout_get_interval(bt->t), on_timeout, bt);
}

static void free_timeout(void *p)
{
  struct bz_timeout *bt = p;
  if (bt->timer)
    loop_cancel(bt->timer);
  free(bt);
}

static dbus_bool_t add_timeout(DBusTimeout *t, void *data)
{
  struct bz_timeout *bt = dbus_timeout_get_data(t);
  (void)data;
  if (!bt) {
    bt = calloc(1, sizeof *bt);
    if (!bt)
      return FALSE;
    bt->t = t;
    dbus_timeout_set_data(t, bt, free_timeout);
  }
  arm_timeout(bt);
  return TRUE;
}

static void remove_timeout(DBusTimeout *t, void *data)
{
  struct bz_timeout *bt = dbus_timeout_get_data(t);
  (void)data;
  if (bt && bt->timer) {
    loop_cancel(bt->timer);
    bt->timer = NULL;
  }
}

static void toggle_timeout(DBusTimeout *t, void *data)
{
  struct bz_timeout *bt = dbus_timeout_get_data(t);
  (void)data;
  if (bt)
    arm_timeout(bt);
}

/* ---- the connection ------------------------------------------------------ */

static void drop_connection(struct bluez *b)
{
  DBusConnection *c = b->conn;

  if (!c)
    return;
  drop_call(&b->hello_call);
  drop_call(&b->sync_call);
  drop_call(&b->filter_call);
  drop_call(&b->start_call);
  drop_call(&b->stop_call);
  if (b->sync_timer)
    loop_cancel(b->sync_timer);
  if (b->dispatch_timer)
    loop_cancel(b->dispatch_timer);
  b->sync_timer = b->dispatch_timer = NULL;
  /* replacing the functions removes every watch and timeout from the loop */
  dbus_connection_set_watch_functions(c, NULL, NULL, NULL, NULL, NULL);
  dbus_connection_set_timeout_functions(c, NULL, NULL, NULL, NULL, NULL);
  dbus_connection_set_dispatch_status_function(c, NULL, NULL, NULL);
  dbus_connection_remove_filter(c, on_message, b);
  dbus_connection_close(c);
  dbus_connection_unref(c);
  for (int i = 0; i < b->nfds; i++)
    loop_del_fd(b->fds[i].fd);
  b->nfds = 0;
  b->conn = NULL;
  b->hello_done = 0;
  b->owner[0] = '\0';
  b->sync_again = b->kick_again = 0;
  adapter_lost(b, "unreachable: bus connection closed");
}

static void on_hello_reply(DBusPendingCall *pc, void *data)
{
  struct bluez *b = data;
  DBusMessage *m = take_reply(pc, &b->hello_call);
  const char *name = NULL;
  char why[256];

  if (is_error(m) || !dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID)) {
    log_warn("bluez bus refused Hello (%s)", error_text(m, why, sizeof why));
    if (m)
      dbus_message_unref(m);
    connect_later(b);
    return;
  }
  dbus_bus_set_unique_name(b->conn, name);
  b->hello_done = 1;
  b->connect_backoff = 0;
  b->logged_no_bus = 0;
  log_info("bluez bus=%s connected as %s", b->address, name);
  dbus_message_unref(m);
}

static void add_match(struct bluez *b, const char *rule)
{
  DBusMessage *m = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS,
                                                DBUS_INTERFACE_DBUS, "AddMatch");
  if (!m)
    return;
  /* no reply wanted: a rule that fails only costs signals, and the
   * backoff resync covers what they would have said */
  dbus_message_set_no_reply(m, TRUE);
  if (dbus_message_append_args(m, DBUS_TYPE_STRING, &rule, DBUS_TYPE_INVALID))
    dbus_connection_send(b->conn, m, NULL);
  dbus_message_unref(m);
}

static void subscribe(struct bluez *b)
{
  char rule[256];

  add_match(b, "type='signal',sender='" DBUS_SERVICE_DBUS "',interface='" DBUS_INTERFACE_DBUS
               "',member='NameOwnerChanged',arg0='" BLUEZ_NAME "'");
  add_match(b, "type='signal',sender='" BLUEZ_NAME "',interface='" IFACE_OM "'");
  snprintf(rule, sizeof rule, "type='signal',sender='" BLUEZ_NAME "',interface='" IFACE_PROPS
           "',member='PropertiesChanged',path_namespace='%s'", b->adapter_path);
  add_match(b, rule);
}

static void connect_now(struct bluez *b)
{
  DBusError err;
  DBusMessage *hello;

  dbus_error_init(&err);
  b->n_connects++;
  /* A private connection: nothing else in the process shares it, and
   * Hello is sent by hand so that nothing waits for its answer. */
  b->conn = dbus_connection_open_private(b->address, &err);
  if (!b->conn) {
    if (!b->logged_no_bus)
      log_warn("bluez bus=%s cannot connect (%s); retrying", b->address,
               err.message ? err.message : "?");
    b->logged_no_bus = 1;
    dbus_error_free(&err);
    connect_later(b);
    return;
  }
  dbus_connection_set_exit_on_disconnect(b->conn, FALSE);
  /* past this much unread input libdbus stops reading the socket, which
   * bounds our memory if BlueZ sends faster than we dispatch */
  dbus_connection_set_max_received_size(b->conn, MAX_RECEIVED_BYTES);
  if (!dbus_connection_set_watch_functions(b->conn, add_watch, remove_watch, toggle_watch, b, NULL) ||
      !dbus_connection_set_timeout_functions(b->conn, add_timeout, remove_timeout, toggle_timeout,
                                             b, NULL) ||
      !dbus_connection_add_filter(b->conn, on_message, b, NULL)) {
    log_error("bluez out of memory setting up the bus connection");
    connect_later(b);
    return;
  }
  dbus_connection_set_dispatch_status_function(b->conn, on_dispatch_status, b, NULL);
  hello = dbus_message_new_method_call(DBUS_SERVICE_DBUS, DBUS_PATH_DBUS, DBUS_INTERFACE_DBUS,
                                       "Hello");
  b->hello_call = call(b, hello, on_hello_reply);
  if (!b->hello_call) {
    connect_later(b);
    return;
  }
  /* the bus handles a connection's messages in order: these may follow
   * Hello before its answer */
  subscribe(b);
  sync_now(b);
  dispatch_later(b);
}

static void on_connect_timer(void *arg)
{
  struct bluez *b = arg;
  b->connect_timer = NULL;
  connect_now(b);
}

/* Close what there is and try again after the backoff; used from libdbus
 * callbacks too, so the closing itself happens on the next loop turn. */
static void on_drop_timer(void *arg)
{
  struct bluez *b = arg;
  uint64_t ms = next_backoff(&b->connect_backoff);
  b->drop_timer = NULL;
  drop_connection(b);
  if (!b->connect_timer)
    b->connect_timer = loop_after(ms, on_connect_timer, b);
}

static void connect_later(struct bluez *b)
{
  if (!b->drop_timer)
    b->drop_timer = loop_after(0, on_drop_timer, b);
}

/* ---- public ---------------------------------------------------------------- */

struct bluez *bluez_new(const char *adapter, bluez_seen_fn fn, void *arg)
{
  struct bluez *b;
  const char *addr = getenv("DBUS_SYSTEM_BUS_ADDRESS");
  size_t n = adapter ? strlen(adapter) : 0;

  if (!n || n > 16 || strspn(adapter, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789_") != n)
    return NULL;
  b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  memcpy(b->adapter, adapter, n + 1);
  snprintf(b->adapter_path, sizeof b->adapter_path, "/org/bluez/%s", adapter);
  snprintf(b->dev_prefix, sizeof b->dev_prefix, "%s/", b->adapter_path);
  snprintf(b->address, sizeof b->address, "%s", addr && *addr ? addr : DEFAULT_BUS);
  b->fn = fn;
  b->arg = arg;
  b->connect_timer = loop_after(0, on_connect_timer, b);
  return b;
}

void bluez_free(struct bluez *b)
{
  if (!b)
    return;
  b->adapter_ok = 0;          /* stopping: nothing to warn about */
  drop_connection(b);
  if (b->connect_timer)
    loop_cancel(b->connect_timer);
  if (b->drop_timer)
    loop_cancel(b->drop_timer);
  free(b->devs);
  free(b);
}

const char *bluez_state(const struct bluez *b)
{
  if (!b->conn || !b->hello_done)
    return "connecting";
  if (!b->owner[0])
    return "no-bluez";
  if (!b->adapter_ok)
    return "no-adapter";
  if (!b->want)
    return b->discovering ? "stopping" : "idle";
  return b->discovering ? "discovering" : "starting";
}

void bluez_add_stats(const struct bluez *b, cJSON *obj)
{
  cJSON_AddStringToObject(obj, "bluez_state", bluez_state(b));
  cJSON_AddStringToObject(obj, "bluez_adapter", b->adapter);
  cJSON_AddNumberToObject(obj, "bluez_bus_connects", (double)b->n_connects);
  cJSON_AddNumberToObject(obj, "bluez_returns", (double)b->n_bluez_back);
  cJSON_AddNumberToObject(obj, "bluez_discovery_starts", (double)b->n_discovery_starts);
  cJSON_AddNumberToObject(obj, "bluez_signals", (double)b->n_signals);
  cJSON_AddNumberToObject(obj, "bluez_errors", (double)b->n_errors);
  cJSON_AddNumberToObject(obj, "bluez_objects", (double)b->ndevs);
}
