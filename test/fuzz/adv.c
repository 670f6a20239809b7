/* adv.c - fuzz target: the advertisement parsers of src/sightings.c
 * (wire_ble_parse, ibeacon_uuid_parse, ibeacon_parse, utf8_copy) and
 * bluez_path_addr (src/bluez.c), which read what BlueZ and POST /sim/adv
 * hand bs.
 *
 * The input is used whole by each: as a string (cut at its first NUL)
 * for the text parsers; as a company id (2 bytes, big-endian) and the
 * manufacturer data for ibeacon_parse; its first byte is utf8_copy's
 * buffer size.  Invariants: what parses formats back to the same text in
 * upper case; an iBeacon is 0x004C/0x02/0x15 with its fields where the
 * format puts them; utf8_copy keeps a prefix that fits and ends before a
 * lead byte (never inside a sequence).
 */
#include "bluez.h"
#include "check.h"
#include "sightings.h"

#include <ctype.h>
#include <string.h>

static int same_upper(const char *formatted, const char *s)
{
  for (; *s; s++, formatted++)
    if (*formatted != toupper((unsigned char)*s))
      return 0;
  return *formatted == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1), text[40], out[18], small[81];
  uint8_t addr[6], uuid[16];
  struct ibeacon b;

  if (!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';

  if (wire_ble_parse(s, addr) == 0) {
    wire_ble_format(addr, text);
    CHECK(strlen(s) == 17 && same_upper(text, s));
  }
  if (ibeacon_uuid_parse(s, uuid) == 0) {
    ibeacon_uuid_format(uuid, text);
    CHECK(strlen(s) == 36 && same_upper(text, s));
  }
  if (size >= 2 && ibeacon_parse((uint16_t)(data[0] << 8 | data[1]), data + 2, size - 2, &b) == 0) {
    const uint8_t *m = data + 2;
    CHECK(data[0] == 0x00 && data[1] == 0x4C && size - 2 >= 23 && m[0] == 0x02 && m[1] == 0x15);
    CHECK(!memcmp(b.uuid, m + 2, 16) && b.major == (m[18] << 8 | m[19]) &&
          b.minor == (m[20] << 8 | m[21]) && b.tx_power == (int8_t)m[22]);
  }
  if (size >= 1) {
    size_t cap = 1 + data[0] % sizeof small, n;
    utf8_copy(small, cap, s + 1);
    n = strlen(small);
    CHECK(n < cap && !memcmp(small, s + 1, n));
    /* cut before a lead byte, or at 0 when all it had were continuations */
    CHECK(n == strlen(s + 1) || n == 0 || ((unsigned char)s[1 + n] & 0xC0) != 0x80);
  }
  if (bluez_path_addr(s, "/org/bluez/hci0/", out) == 0) {
    CHECK(!strncmp(s, "/org/bluez/hci0/dev_", 20) && strlen(out) == 17);
    CHECK(wire_ble_parse(out, addr) == 0);
  }
  free(s);
  return 0;
}
