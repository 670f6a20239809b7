/* irk.c - a phone's Identity Resolving Key, for enrolling it in ae.
 *
 * usage: nano irk BLUEZ_INFO_FILE
 *        nano irk --parse IRK
 *        nano irk --rpa IRK [PRAND]
 *
 * The first form reads the IRK BlueZ stored when the phone was paired with
 * this host's adapter (/var/lib/bluetooth/ADAPTER/PHONE/info, section
 * [IdentityResolvingKey], least significant byte first); the second takes
 * an IRK as hex (the specification's order, as ESPresense shows it) or
 * base64 (as macOS's keychain exports it and Home Assistant takes it).
 * Both print it as ae stores it: 32 hex digits, the specification's byte
 * order, ready for {"irk": ...} of PUT ae/participants/ID (README, "Phones").
 * --rpa prints a resolvable private address that IRK's phone could send
 * (from 3 bytes of prand, as "4a:11:22" or six hex digits, else random):
 * for checking a deployment, or a test, without the phone.
 */
#include "irk.h"
#include "nano.h"

#include "sightings.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char irk_usage[] =
  "usage: nano irk BLUEZ_INFO_FILE   the IRK of a phone paired with this host\n"
  "       nano irk --parse IRK       an IRK given as hex or base64\n"
  "       nano irk --rpa IRK [PRAND]  an address that IRK's phone could send\n"
  "print it as ae stores it: 32 hex digits, the specification's byte order\n";

/* "4a:11:22" or "4a1122" -> 3 bytes; -1 if not that. */
static int prand_parse(const char *s, uint8_t out[3])
{
  char addr[18];
  uint8_t a[6];

  if (strlen(s) == 8)
    snprintf(addr, sizeof addr, "%s:00:00:00", s);
  else if (strlen(s) == 6)
    snprintf(addr, sizeof addr, "%.2s:%.2s:%.2s:00:00:00", s, s + 2, s + 4);
  else
    return -1;
  if (wire_ble_parse(addr, a) < 0)
    return -1;
  memcpy(out, a, 3);
  return 0;
}

static int print_rpa(const char *irk_text, const char *prand_text)
{
  uint8_t irk[16], prand[3], addr[6];
  char err[300], text[18];

  if (irk_parse(irk_text, irk, err, sizeof err) < 0) {
    fprintf(stderr, "irk: %s\n", err);
    return 1;
  }
  if (prand_text ? prand_parse(prand_text, prand) < 0
                 : getrandom(prand, sizeof prand, 0) != (ssize_t)sizeof prand) {
    fprintf(stderr, "irk: %s\n", prand_text ? "PRAND is 3 bytes of hex, like 4a:11:22"
                                            : "no random bytes");
    return prand_text ? 2 : 1;
  }
  if (irk_make_rpa(irk, prand, addr) < 0) {
    fprintf(stderr, "irk: AES failed\n");
    return 1;
  }
  wire_ble_format(addr, text);
  printf("%s\n", text);
  return 0;
}

int cmd_irk(int argc, char **argv)
{
  uint8_t irk[16];
  char err[300], hex[33];
  int rc;

  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(irk_usage, stdout);
    return 0;
  }
  if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--rpa"))
    return print_rpa(argv[2], argc == 4 ? argv[3] : NULL);
  if (argc == 3 && !strcmp(argv[1], "--parse"))
    rc = irk_parse(argv[2], irk, err, sizeof err);
  else if (argc == 2 && argv[1][0] != '-')
    rc = irk_from_bluez_info(argv[1], irk, err, sizeof err);
  else {
    fputs(irk_usage, stderr);
    return 2;
  }
  if (rc < 0) {
    fprintf(stderr, "irk: %s\n", err);
    return 1;
  }
  printf("%s\n", irk_hex(irk, hex));
  memset(irk, 0, sizeof irk);
  return 0;
}
