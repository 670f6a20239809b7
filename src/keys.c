/* keys.c - the keys file of pre-shared keys (see keys.h). */
#include "keys.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int key_identity_ok(const char *s, size_t len)
{
  if (!len || len > KEY_ID_MAX)
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c == '.' || c == '@'))
      return 0;
  }
  return 1;
}

int psk_parse(const char *identity, const char *hexkey, struct psk *out, char *err,
              size_t errsize)
{
  size_t n = strlen(hexkey);

  memset(out, 0, sizeof *out);
  if (!key_identity_ok(identity, strlen(identity))) {
    snprintf(err, errsize, "identity '%.80s' is not 1-%d of letters, digits, -_.@",
             identity, KEY_ID_MAX);
    return -1;
  }
  if (n % 2 || n / 2 < KEY_MIN || n / 2 > KEY_MAX) {
    snprintf(err, errsize, "the key of '%s' is not %d to %d bytes in hex digits",
             identity, KEY_MIN, KEY_MAX);
    return -1;
  }
  for (size_t i = 0; i < n; i += 2) {
    int hi = wire_hexval((unsigned char)hexkey[i]), lo = wire_hexval((unsigned char)hexkey[i + 1]);
    if (hi < 0 || lo < 0) {
      snprintf(err, errsize, "the key of '%s' has a character that is not a hex digit",
               identity);
      memset(out, 0, sizeof *out);
      return -1;
    }
    out->key[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  out->key_len = n / 2;
  snprintf(out->identity, sizeof out->identity, "%s", identity);
  return 0;
}

int keyring_load(const char *path, struct keyring *kr, char *err, size_t errsize)
{
  char line[512], why[200];
  int lineno = 0;
  FILE *f = fopen(path, "r");

  memset(kr, 0, sizeof *kr);
  if (!f) {
    snprintf(err, errsize, "%s: %s", path, strerror(errno));
    return -1;
  }
  while (fgets(line, sizeof line, f)) {
    char *id, *key, *extra, *save = NULL;
    lineno++;
    if (!strchr(line, '\n') && !feof(f)) {
      snprintf(err, errsize, "%s:%d: line too long", path, lineno);
      goto fail;
    }
    id = strtok_r(line, " \t\r\n", &save);
    if (!id || *id == '#')
      continue;
    key = strtok_r(NULL, " \t\r\n", &save);
    extra = strtok_r(NULL, " \t\r\n", &save);
    if (!key || extra) {
      snprintf(err, errsize, "%s:%d: want 'IDENTITY HEXKEY'", path, lineno);
      goto fail;
    }
    if (kr->n == KEYRING_MAX) {
      snprintf(err, errsize, "%s: more than %d keys", path, KEYRING_MAX);
      goto fail;
    }
    if (keyring_find(kr, id, strlen(id))) {
      snprintf(err, errsize, "%s:%d: '%s' has a key already", path, lineno, id);
      goto fail;
    }
    if (!kr->keys && !(kr->keys = calloc(KEYRING_MAX, sizeof *kr->keys))) {
      snprintf(err, errsize, "out of memory");
      goto fail;
    }
    if (psk_parse(id, key, &kr->keys[kr->n], why, sizeof why) < 0) {
      snprintf(err, errsize, "%s:%d: %s", path, lineno, why);
      goto fail;
    }
    kr->n++;
  }
  memset(line, 0, sizeof line);
  fclose(f);
  if (!kr->n) {
    snprintf(err, errsize, "%s: no keys", path);
    keyring_free(kr);
    return -1;
  }
  return 0;
fail:
  memset(line, 0, sizeof line);
  fclose(f);
  keyring_free(kr);
  return -1;
}

const struct psk *keyring_find(const struct keyring *kr, const char *identity,
                               size_t len)
{
  for (int i = 0; kr && i < kr->n; i++)
    if (strlen(kr->keys[i].identity) == len && !memcmp(kr->keys[i].identity, identity, len))
      return &kr->keys[i];
  return NULL;
}

void keyring_free(struct keyring *kr)
{
  if (kr->keys) {
    memset(kr->keys, 0, KEYRING_MAX * sizeof *kr->keys);
    free(kr->keys);
  }
  kr->keys = NULL;
  kr->n = 0;
}

int psk_random(const char *identity, size_t len, struct psk *out)
{
  size_t got = 0;

  memset(out, 0, sizeof *out);
  if (len < KEY_MIN || len > KEY_MAX || !key_identity_ok(identity, strlen(identity))) {
    errno = EINVAL;
    return -1;
  }
  while (got < len) {
    ssize_t n = getrandom(out->key + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      memset(out, 0, sizeof *out);
      return -1;
    }
    got += (size_t)n;
  }
  out->key_len = len;
  snprintf(out->identity, sizeof out->identity, "%s", identity);
  return 0;
}

char *psk_line(const struct psk *k, char *buf, size_t size)
{
  size_t n = (size_t)snprintf(buf, size, "%s ", k->identity);

  for (size_t i = 0; i < k->key_len && n + 3 <= size; i++, n += 2)
    snprintf(buf + n, size - n, "%02x", k->key[i]);
  return buf;
}
