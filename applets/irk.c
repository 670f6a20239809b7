/* irk.c - a phone's Identity Resolving Key, for enrolling it in ae.
 *
 * usage: nano irk BLUEZ_INFO_FILE
 *        nano irk --parse IRK
 *
 * The first form reads the IRK BlueZ stored when the phone was paired with
 * this host's adapter (/var/lib/bluetooth/ADAPTER/PHONE/info, section
 * [IdentityResolvingKey], least significant byte first); the second takes
 * an IRK as hex (the specification's order, as ESPresense shows it) or
 * base64 (as macOS's keychain exports it and Home Assistant takes it).
 * Both print it as ae stores it: 32 hex digits, the specification's byte
 * order, ready for {"irk": ...} of PUT ae/participants/ID (README, "Phones").
 */
#include "irk.h"
#include "nano.h"

#include <stdio.h>
#include <string.h>

static const char irk_usage[] =
  "usage: nano irk BLUEZ_INFO_FILE   the IRK of a phone paired with this host\n"
  "       nano irk --parse IRK       an IRK given as hex or base64\n"
  "print it as ae stores it: 32 hex digits, the specification's byte order\n";

int cmd_irk(int argc, char **argv)
{
  uint8_t irk[16];
  char err[300], hex[33];
  int rc;

  if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(irk_usage, stdout);
    return 0;
  }
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
