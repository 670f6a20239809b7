#!/usr/bin/python3
"""bluez-ctl.py - drive the fake org.bluez of the bs tests.

The fake bluetoothd is python3-dbusmock's bluez5 template
(/usr/bin/python3 -m dbusmock --template bluez5), run on a private
dbus-daemon whose address is in DBUS_SYSTEM_BUS_ADDRESS.  This script
changes what it shows, the way a radio would:

  bluez-ctl.py wait                         until org.bluez is on the bus (10 s)
  bluez-ctl.py adapter hci0                 an adapter appears (InterfacesAdded)
  bluez-ctl.py device hci0 ADDR NAME        a device is found (RSSI -79)
  bluez-ctl.py rssi hci0 ADDR DBM           it is heard again (PropertiesChanged RSSI)
  bluez-ctl.py random hci0 ADDR             its AddressType becomes "random"
  bluez-ctl.py adv hci0 ADDR                advertising data again, RSSI unchanged
  bluez-ctl.py ibeacon hci0 ADDR UUID MAJOR MINOR   iBeacon manufacturer data
  bluez-ctl.py remove hci0 ADDR             BlueZ drops the device (InterfacesRemoved)
  bluez-ctl.py forge PID ADDR               a stranger (not org.bluez) sends the
                                            client with that pid a forged
                                            InterfacesAdded for ADDR
  bluez-ctl.py filter hci0                  print the discovery filter set on the adapter
"""
import sys
import time
import uuid as uuidlib

import dbus

MOCK = 'org.freedesktop.DBus.Mock'
DEVICE = 'org.bluez.Device1'
ADAPTER = 'org.bluez.Adapter1'
PROPS = 'org.freedesktop.DBus.Properties'


def dev_path(adapter, addr):
    return '/org/bluez/%s/dev_%s' % (adapter, addr.upper().replace(':', '_'))


def emit_changed(bus, path, changed):
    obj = bus.get_object('org.bluez', path)
    obj.EmitSignal(PROPS, 'PropertiesChanged', 'sa{sv}as',
                   [DEVICE, dbus.Dictionary(changed, signature='sv'),
                    dbus.Array([], signature='s')],
                   dbus_interface=MOCK)


def ibeacon_data(uuid, major, minor):
    raw = bytes([0x02, 0x15]) + uuidlib.UUID(uuid).bytes + \
        int(major).to_bytes(2, 'big') + int(minor).to_bytes(2, 'big') + bytes([0xC5])
    return dbus.Dictionary({dbus.UInt16(0x004C): dbus.Array(raw, signature='y', variant_level=1)},
                           signature='qv', variant_level=1)


def forge(bus, pid, addr):
    """Find the connection of process pid and send it a unicast signal."""
    dbus_obj = bus.get_object('org.freedesktop.DBus', '/org/freedesktop/DBus')
    names = dbus_obj.ListNames(dbus_interface='org.freedesktop.DBus')
    for name in names:
        if not name.startswith(':'):
            continue
        try:
            if dbus_obj.GetConnectionUnixProcessID(name, dbus_interface='org.freedesktop.DBus') != pid:
                continue
        except dbus.exceptions.DBusException:
            continue
        msg = dbus.lowlevel.SignalMessage('/', 'org.freedesktop.DBus.ObjectManager', 'InterfacesAdded')
        msg.set_destination(name)
        props = {'Address': dbus.String(addr, variant_level=1),
                 'AddressType': dbus.String('public', variant_level=1),
                 'Name': dbus.String('forged', variant_level=1),
                 'RSSI': dbus.Int16(-30, variant_level=1)}
        msg.append(dbus.ObjectPath(dev_path('hci0', addr)),
                   dbus.Dictionary({DEVICE: dbus.Dictionary(props, signature='sv')}, signature='sa{sv}'),
                   signature='oa{sa{sv}}')
        bus.send_message(msg)
        bus.flush()
        return 0
    print('no connection of pid %d' % pid, file=sys.stderr)
    return 1


def main(argv):
    bus = dbus.SystemBus()
    cmd, args = argv[1], argv[2:]
    if cmd == 'wait':
        for _ in range(100):
            if bus.name_has_owner('org.bluez'):
                return 0
            time.sleep(0.1)
        print('org.bluez did not appear', file=sys.stderr)
        return 1
    root = bus.get_object('org.bluez', '/')
    if cmd == 'adapter':
        root.AddAdapter(args[0], 'nano-test', dbus_interface='org.bluez.Mock')
    elif cmd == 'device':
        root.AddDevice(args[0], args[1], args[2], dbus_interface='org.bluez.Mock')
    elif cmd == 'rssi':
        obj = bus.get_object('org.bluez', dev_path(args[0], args[1]))
        obj.UpdateProperties(DEVICE, {'RSSI': dbus.Int16(int(args[2]))}, dbus_interface=MOCK)
    elif cmd == 'random':
        obj = bus.get_object('org.bluez', dev_path(args[0], args[1]))
        obj.UpdateProperties(DEVICE, {'AddressType': dbus.String('random')}, dbus_interface=MOCK)
    elif cmd == 'adv':
        emit_changed(bus, dev_path(args[0], args[1]),
                     {'ServiceData': dbus.Dictionary(
                         {'0000feaa-0000-1000-8000-00805f9b34fb': dbus.Array(b'\x10\x00', signature='y', variant_level=1)},
                         signature='sv', variant_level=1)})
    elif cmd == 'ibeacon':
        emit_changed(bus, dev_path(args[0], args[1]),
                     {'ManufacturerData': ibeacon_data(args[2], args[3], args[4])})
    elif cmd == 'remove':
        adapter = bus.get_object('org.bluez', '/org/bluez/' + args[0])
        adapter.RemoveDevice(dbus.ObjectPath(dev_path(args[0], args[1])), dbus_interface=ADAPTER)
    elif cmd == 'forge':
        return forge(bus, int(args[0]), args[1])
    elif cmd == 'filter':
        adapter = bus.get_object('org.bluez', '/org/bluez/' + args[0])
        f = adapter.Get(ADAPTER, 'DiscoveryFilter', dbus_interface=PROPS)
        print(' '.join('%s=%s' % (k, f[k]) for k in sorted(f)))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
