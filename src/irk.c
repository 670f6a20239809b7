/* irk.c - resolvable private addresses with mbedTLS's AES (see irk.h). */
#include "irk.h"
#include "wire.h"

#include <errno.h>
#include <mbedtls/aes.h>
#include <mbedtls/base64.h>
#include <stdio.h>
#include <string.h>

int irk_ah(const uint8_t irk[16], const uint8_t prand[3], uint8_t hash[3])
{
  uint8_t in[16] = { 0 }, out[16];
  mbedtls_aes_context aes;
  int rc;

  /* r' = padding || r: the 24 bits of prand in the low-order bytes */
  memcpy(in + 13, prand, 3);
  mbedtls_aes_init(&aes);
  rc = mbedtls_aes_setkey_enc(&aes, irk, 128);
  if (!rc)
    rc = mbedtls_aes_crypt_ecb(&aes, MBEDTLS_AES_ENCRYPT, in, out);
  mbedtls_aes_free(&aes);
  if (rc)
    return -1;
  memcpy(hash, out + 13, 3);       /* mod 2^24: the low-order 24 bits */
  return 0;
}

int irk_is_rpa(const uint8_t addr[6])
{
  return (addr[0] & 0xc0) == 0x40;
}

int irk_resolves(const uint8_t irk[16], const uint8_t addr[6])
{
  uint8_t hash[3];

  return irk_is_rpa(addr) && irk_ah(irk, addr, hash) == 0 && !memcmp(hash, addr + 3, 3);
}

int irk_make_rpa(const uint8_t irk[16], const uint8_t random[3], uint8_t addr[6])
{
  addr[0] = (uint8_t)((random[0] & 0x3f) | 0x40);
  addr[1] = random[1];
  addr[2] = random[2];
  if ((addr[0] & 0x3f) == 0 && !addr[1] && !addr[2])
    addr[2] = 1;
  else if ((addr[0] & 0x3f) == 0x3f && addr[1] == 0xff && addr[2] == 0xff)
    addr[2] = 0xfe;
  return irk_ah(irk, addr, addr + 3);
}

static void reverse16(uint8_t b[16])
{
  for (int i = 0; i < 8; i++) {
    uint8_t t = b[i];
    b[i] = b[15 - i];
    b[15 - i] = t;
  }
}

/* hex digits, colons, dashes and blanks skipped; exactly 16 bytes */
static int hex16(const char *text, uint8_t out[16])
{
  int n = 0;

  for (const char *p = text; *p; p++) {
    int hi, lo;
    if (*p == ':' || *p == '-' || *p == ' ')
      continue;
    hi = wire_hexval((unsigned char)p[0]);
    lo = hi < 0 || !p[1] ? -1 : wire_hexval((unsigned char)p[1]);
    if (lo < 0 || n == 16)
      return -1;
    out[n++] = (uint8_t)(hi << 4 | lo);
    p++;
  }
  return n == 16 ? 0 : -1;
}

int irk_parse(const char *text, uint8_t out[16], char *err, size_t errsize)
{
  size_t len = strlen(text), n = 0;

  if (len == 24 && text[23] == '=') {
    uint8_t b[18];
    if (mbedtls_base64_decode(b, sizeof b, &n, (const unsigned char *)text, len) || n != 16) {
      snprintf(err, errsize, "an IRK in base64 is 24 characters for 16 bytes");
      return -1;
    }
    memcpy(out, b, 16);
    reverse16(out);           /* the keychain's order is the reverse */
    return 0;
  }
  if (hex16(text, out) < 0) {
    snprintf(err, errsize, "an IRK is 32 hex digits (16 bytes) or 24 characters of base64");
    return -1;
  }
  return 0;
}

int irk_from_bluez_info(const char *path, uint8_t out[16], char *err, size_t errsize)
{
  char line[256];
  int in_section = 0, found = 0;
  FILE *f = fopen(path, "r");

  if (!f) {
    snprintf(err, errsize, "%s: %s", path, strerror(errno));
    return -1;
  }
  while (!found && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '[')
      in_section = !strcmp(line, "[IdentityResolvingKey]");
    else if (in_section && !strncmp(line, "Key=", 4))
      found = hex16(line + 4, out) == 0 ? 1 : -1;
  }
  fclose(f);
  if (found <= 0) {
    snprintf(err, errsize, "%s: %s", path, found < 0 ? "the IdentityResolvingKey's Key= "
             "is not 32 hex digits" : "no [IdentityResolvingKey] with a Key= (pair the "
             "phone with this adapter first)");
    return -1;
  }
  reverse16(out);             /* BlueZ stores it least significant byte first */
  return 0;
}

char *irk_hex(const uint8_t irk[16], char buf[33])
{
  for (int i = 0; i < 16; i++)
    snprintf(buf + 2 * i, 3, "%02x", irk[i]);
  return buf;
}
