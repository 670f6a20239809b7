/* irk.c - resolvable private addresses with mbedTLS's AES (see irk.h). */
#include "irk.h"
#include "wire.h"

#include <mbedtls/aes.h>
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

int irk_parse(const char *text, uint8_t out[16], char *err, size_t errsize)
{
  int n = 0;

  for (const char *p = text; *p; p++) {
    int hi, lo;
    if (*p == ':' || *p == '-' || *p == ' ')
      continue;
    hi = wire_hexval((unsigned char)p[0]);
    lo = hi < 0 || !p[1] ? -1 : wire_hexval((unsigned char)p[1]);
    if (lo < 0 || n == 16) {
      snprintf(err, errsize, "an IRK is 32 hex digits (16 bytes)");
      return -1;
    }
    out[n++] = (uint8_t)(hi << 4 | lo);
    p++;
  }
  if (n != 16) {
    snprintf(err, errsize, "an IRK is 32 hex digits (16 bytes)");
    return -1;
  }
  return 0;
}
