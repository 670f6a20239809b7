/* irk.h - resolvable private addresses (Bluetooth Core Vol 3 Part H 2.2.2).
 *
 *   uint8_t irk[16], addr[6];
 *   irk_parse("ec0234a357c8ad05341010a60a397d9b", irk, err, sizeof err);
 *   bt_addr_parse("70:81:94:0D:FB:AA", addr);
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
/* An IRK as users have it into the specification's byte order: 32 hex
 * digits (with or without colons; what iOS/Android tools and ESPresense
 * show).  -1 with why in err. */
int irk_parse(const char *text, uint8_t out[16], char *err, size_t errsize);

#endif
