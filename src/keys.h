/* keys.h - pre-shared keys for CoAP over DTLS (RFC 7252 9.1.3.1).
 *
 *   struct keyring kr;
 *   char err[200];
 *   if (keyring_load("/run/secrets/nano-keys", &kr, err, sizeof err) < 0)
 *     fail(err);
 *   const struct psk *me = keyring_find(&kr, "mcs", 3);
 *   ...  keyring_free(&kr);
 *
 * A keys file has one "IDENTITY HEXKEY" line per identity; blank lines and
 * lines starting with '#' are skipped.  An identity is 1-64 characters of
 * letters, digits and "-_.@"; a key is 16 to 64 bytes (32 to 128 hex
 * digits).  A role uses its own line for the calls it makes and accepts a
 * caller whose identity and key are in its file, so each role's file
 * holds its own line and the lines of those that call it.
 */
#ifndef NANO_KEYS_H
#define NANO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEY_ID_MAX 64
#define KEY_MIN 16
#define KEY_MAX 64
#define KEYRING_MAX 1024          /* lines in one file */

struct psk {
  char identity[KEY_ID_MAX + 1];
  uint8_t key[KEY_MAX];
  size_t key_len;
};

struct keyring {
  struct psk *keys;
  int n;
};

/* 0, or -1 with why in err (the file and line). */
int keyring_load(const char *path, struct keyring *kr, char *err, size_t errsize);
/* Parse one "IDENTITY HEXKEY" pair (the -u and -k of nano coap). */
int psk_parse(const char *identity, const char *hexkey, struct psk *out, char *err,
              size_t errsize);
const struct psk *keyring_find(const struct keyring *kr, const char *identity,
                               size_t len);
void keyring_free(struct keyring *kr);
/* A fresh key of len bytes from the kernel's random source (getrandom);
 * -1 with errno when there is none. */
int psk_random(const char *identity, size_t len, struct psk *out);
/* "IDENTITY HEXKEY" into buf (>= KEY_ID_MAX + 2 * KEY_MAX + 2 bytes). */
char *psk_line(const struct psk *k, char *buf, size_t size);
/* Is s a well-formed identity? */
int key_identity_ok(const char *s, size_t len);

#endif
