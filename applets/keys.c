/* keys.c - pre-shared keys for the roles' DTLS links.
 *
 * usage: nano keys new IDENTITY...
 *        nano keys pick FILE IDENTITY...
 *        nano keys check FILE
 *
 * new prints one "IDENTITY HEXKEY" line per identity, each a fresh 32-byte
 * key from the kernel's random source (getrandom), for a keys file
 * (README: "Keys").  pick prints the lines of those identities from FILE
 * (one role's file, out of the building's): exit 1 if one is missing.
 * check loads FILE as a role would and lists its
 * identities (never the keys): exit 0 when every line is well formed.
 */
#include "keys.h"
#include "nano.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NEW_KEY_BYTES 32

static const char keys_usage[] =
  "usage: nano keys new IDENTITY...   fresh 'IDENTITY HEXKEY' lines (32-byte keys)\n"
  "       nano keys pick FILE ID...   those identities' lines of FILE (a role's file)\n"
  "       nano keys check FILE        load a keys file, list its identities\n";

static int keys_new(int argc, char **argv)
{
  struct psk k;
  char line[KEY_ID_MAX + 2 * KEY_MAX + 2];

  for (int i = 0; i < argc; i++)
    if (!key_identity_ok(argv[i], strlen(argv[i]))) {
      fprintf(stderr, "keys: '%s' is not an identity (1-%d of letters, digits, -_.@)\n",
              argv[i], KEY_ID_MAX);
      return 2;
    }
  for (int i = 0; i < argc; i++) {
    if (psk_random(argv[i], NEW_KEY_BYTES, &k) < 0) {
      fprintf(stderr, "keys: no random bytes from the kernel: %s\n", strerror(errno));
      return 1;
    }
    printf("%s\n", psk_line(&k, line, sizeof line));
  }
  memset(&k, 0, sizeof k);
  memset(line, 0, sizeof line);
  return fflush(stdout) == 0 ? 0 : 1;
}

static int keys_check(const char *path)
{
  struct keyring kr;
  char err[300];

  if (keyring_load(path, &kr, err, sizeof err) < 0) {
    fprintf(stderr, "keys: %s\n", err);
    return 1;
  }
  for (int i = 0; i < kr.n; i++)
    printf("%s %zu-byte key\n", kr.keys[i].identity, kr.keys[i].key_len);
  keyring_free(&kr);
  return 0;
}

static int keys_pick(const char *path, int argc, char **argv)
{
  struct keyring kr;
  char err[300], line[KEY_ID_MAX + 2 * KEY_MAX + 2];
  int missing = 0;

  if (keyring_load(path, &kr, err, sizeof err) < 0) {
    fprintf(stderr, "keys: %s\n", err);
    return 1;
  }
  for (int i = 0; i < argc; i++)
    if (!keyring_find(&kr, argv[i], strlen(argv[i]))) {
      fprintf(stderr, "keys: '%s' has no line in %s\n", argv[i], path);
      missing = 1;
    }
  for (int i = 0; i < argc && !missing; i++)
    printf("%s\n", psk_line(keyring_find(&kr, argv[i], strlen(argv[i])), line, sizeof line));
  memset(line, 0, sizeof line);
  keyring_free(&kr);
  return missing ? 1 : fflush(stdout) == 0 ? 0 : 1;
}

int cmd_keys(int argc, char **argv)
{
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(keys_usage, stdout);
    return 0;
  }
  if (argc >= 3 && !strcmp(argv[1], "new"))
    return keys_new(argc - 2, argv + 2);
  if (argc >= 4 && !strcmp(argv[1], "pick"))
    return keys_pick(argv[2], argc - 3, argv + 3);
  if (argc == 3 && !strcmp(argv[1], "check"))
    return keys_check(argv[2]);
  fputs(keys_usage, stderr);
  return 2;
}
