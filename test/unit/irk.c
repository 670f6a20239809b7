/* unit/irk.c - ah and address resolution against the specification's
 * vector (Bluetooth Core Vol 3 Part H, Appendix D.7). */
#include "irk.h"
#include "sightings.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
  uint8_t irk[16], other[16], addr[6], hash[3];
  static const uint8_t prand[3] = { 0x70, 0x81, 0x94 }, want[3] = { 0x0d, 0xfb, 0xaa };
  char err[128];

  plan(21);
  ok(irk_parse("ec0234a357c8ad05341010a60a397d9b", irk, err, sizeof err) == 0,
     "the specification's IRK parses");
  ok(irk_ah(irk, prand, hash) == 0 && !memcmp(hash, want, 3),
     "ah(IRK, 708194) = 0dfbaa (D.7)");
  ok(wire_ble_parse("70:81:94:0D:FB:AA", addr) == 0 && irk_is_rpa(addr),
     "70:81:94:0D:FB:AA is a resolvable private address");
  ok(irk_resolves(irk, addr), "... and resolves with the IRK");
  addr[5] ^= 1;
  ok(!irk_resolves(irk, addr), "one bit of the hash changed: no match");
  ok(irk_parse("EC:02:34:A3:57:C8:AD:05:34:10:10:A6:0A:39:7D:9B", other, err, sizeof err) == 0 &&
     !memcmp(irk, other, 16), "colons and upper case are the same IRK");
  memcpy(other, irk, 16);
  other[15] ^= 1;
  wire_ble_parse("70:81:94:0D:FB:AA", addr);
  ok(!irk_resolves(other, addr), "a wrong IRK never matches");
  /* the same low 46 bits with the type bits of a static (11) or a
   * non-resolvable (00) random address, and a public-looking 10 */
  addr[0] = (uint8_t)(0xc0 | (addr[0] & 0x3f));
  ok(!irk_is_rpa(addr) && !irk_resolves(irk, addr), "a static random address never resolves");
  addr[0] &= 0x3f;
  ok(!irk_resolves(irk, addr), "a non-resolvable private address never resolves");
  addr[0] = (uint8_t)(0x80 | (addr[0] & 0x3f));
  ok(!irk_resolves(irk, addr), "top bits 10 never resolve");
  ok(irk_parse("ec0234a357c8ad05341010a60a397d9", other, err, sizeof err) < 0,
     "31 hex digits refused");
  ok(irk_parse("zz0234a357c8ad05341010a60a397d9b", other, err, sizeof err) < 0,
     "a non-hex digit refused");
  /* the same key as Home Assistant and macOS's keychain write it, and as
   * BlueZ stores it: least significant byte first */
  ok(irk_parse("m305CqYQEDQFrchXozQC7A==", other, err, sizeof err) == 0 &&
     !memcmp(irk, other, 16), "base64, least significant byte first, is the same IRK");
  ok(irk_parse("m305CqYQEDQFrchXozQC7A=!", other, err, sizeof err) < 0, "bad base64 refused");
  {
    char path[] = "/tmp/nano-unit-irk.XXXXXX", hex[33];
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f) {
      fputs("[General]\nName=Phone\n\n[IdentityResolvingKey]\n"
            "Key=9B7D390AA610103405ADC857A33402EC\n\n[LongTermKey]\nKey=00\n", f);
      fclose(f);
    }
    ok(irk_from_bluez_info(path, other, err, sizeof err) == 0 && !memcmp(irk, other, 16),
       "BlueZ's info file: the same IRK");
    is_str(irk_hex(other, hex), "ec0234a357c8ad05341010a60a397d9b", "printed as ae stores it");
    f = fopen(path, "w");
    if (f) {
      fputs("[General]\nName=Phone\n", f);
      fclose(f);
    }
    ok(irk_from_bluez_info(path, other, err, sizeof err) < 0 && strstr(err, "pair"),
       "an info file without an IRK says to pair first");
    unlink(path);
  }
  {
    /* the specification's prand 708194 makes its address; the type bits
     * are forced to 01 and all-0 / all-1 random parts nudged */
    const uint8_t zero[3] = { 0 }, ones[3] = { 0xff, 0xff, 0xff };
    uint8_t made[6];
    ok(irk_make_rpa(irk, prand, made) == 0 && !memcmp(made, "\x70\x81\x94\x0d\xfb\xaa", 6),
       "irk_make_rpa from prand 708194 is 70:81:94:0D:FB:AA");
    ok(irk_make_rpa(irk, zero, made) == 0 && irk_resolves(irk, made) &&
       ((made[0] & 0x3f) || made[1] || made[2]), "an all-zero random part is nudged, still resolves");
    ok(irk_make_rpa(irk, ones, made) == 0 && irk_resolves(irk, made) &&
       !((made[0] & 0x3f) == 0x3f && made[1] == 0xff && made[2] == 0xff),
       "an all-one random part is nudged, still resolves");
    ok(irk_make_rpa(irk, (const uint8_t[3]){ 0xc1, 2, 3 }, made) == 0 && irk_is_rpa(made),
       "the two top bits are always 01");
  }
  return done_testing();
}
