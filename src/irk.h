/* irk.h - resolvable private addresses (Bluetooth Core Vol 3 Part H 2.2.2).
 *
 *   uint8_t irk[16], addr[6];
 *   irk_parse("ec0234a357c8ad05341010a60a397d9b", irk, err, sizeof err);
 *   wire_ble_parse("70:81:94:0D:FB:AA", addr);
 *   if (irk_is_rpa(addr) && irk_resolves(irk, addr)) ... the phone is irk's
 *
 * A phone advertises a random address whose two top bits are 01: 24 bits
 * of prand (those two bits included) and a 24-bit hash = ah(IRK, prand).
 * Whoever holds the phone's Identity Resolving Key can tell the address is
 * that phone's; nobody else can link two of its addresses.  AES-128 is
 * mbedTLS's (the library DTLS brings), never our own.
 */
#ifndef NANO_IRK_H
#define NANO_IRK_H

#include <stddef.h>
#include <stdint.h>

/* ah(k, r) = e(k, r') mod 2^24, r' = 104 zero bits || r (MSB first, as
 * the specification writes keys and addresses).  0, or -1 if AES failed. */
int irk_ah(const uint8_t irk[16], const uint8_t prand[3], uint8_t hash[3]);
/* addr[0] is the most significant byte, as "70:81:94:0D:FB:AA" reads:
 * a resolvable private address has its two top bits 01. */
int irk_is_rpa(const uint8_t addr[6]);
/* 1 when addr is a resolvable private address made with irk. */
int irk_resolves(const uint8_t irk[16], const uint8_t addr[6]);
/* A fresh resolvable private address of irk's phone from 24 random bits
 * (its two top bits are made 01; the rest may not be all 0 or all 1,
 * which the specification forbids, so those are nudged).  -1 if AES
 * failed. */
int irk_make_rpa(const uint8_t irk[16], const uint8_t random[3], uint8_t addr[6]);
/* An IRK as users have it into the specification's byte order (the one
 * ae stores): 32 hex digits, with or without colons, as iOS/Android tools
 * and ESPresense show it; or 24 characters of base64 (ending in '='), as
 * macOS's keychain exports it and Home Assistant takes it, least
 * significant byte first.  -1 with why in err. */
int irk_parse(const char *text, uint8_t out[16], char *err, size_t errsize);
/* The IRK of BlueZ's info file for a paired device
 * (/var/lib/bluetooth/ADAPTER/DEVICE/info: "[IdentityResolvingKey]" then
 * "Key=" and 32 hex digits, least significant byte first) into the
 * specification's byte order.  -1 with why in err. */
int irk_from_bluez_info(const char *path, uint8_t out[16], char *err, size_t errsize);
/* 32 lower-case hex digits, the specification's byte order, into buf. */
char *irk_hex(const uint8_t irk[16], char buf[33]);

#endif
