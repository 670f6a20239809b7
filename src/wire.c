/* wire.c - the wire contract's limits and its one validator (see wire.h). */
#include "wire.h"

#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* Besides letters and digits (ASCII only). */
#define ID_CHARS    "-._~!$&'()*+,;=:@"
#define PLACE_CHARS "-_."

int wire_utf8_ok(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s, *end = p + n;

  while (p < end) {
    unsigned c = *p++;
    unsigned lo = 0x80, hi = 0xBF;      /* the second byte's range */
    int more;

    if (c < 0x80)
      continue;
    if (c >= 0xC2 && c <= 0xDF)
      more = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      more = 2;
      if (c == 0xE0)
        lo = 0xA0;                      /* overlong below U+0800 */
      else if (c == 0xED)
        hi = 0x9F;                      /* surrogates U+D800-DFFF */
    } else if (c >= 0xF0 && c <= 0xF4) {
      more = 3;
      if (c == 0xF0)
        lo = 0x90;                      /* overlong below U+10000 */
      else if (c == 0xF4)
        hi = 0x8F;                      /* above U+10FFFF */
    } else {
      return 0;         /* a continuation byte, C0/C1 (overlong), F5-FF */
    }
    if (end - p < more || *p < lo || *p > hi)
      return 0;
    p++;
    while (--more) {
      if (*p < 0x80 || *p > 0xBF)
        return 0;
      p++;
    }
  }
  return 1;
}

int wire_has_control(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s;

  for (size_t i = 0; i < n; i++) {
    if (p[i] < 0x20 || p[i] == 0x7F)
      return 1;
    /* U+0080-009F is C2 80..C2 9F; in valid UTF-8 a C2 starts a character */
    if (p[i] == 0xC2 && i + 1 < n && p[i + 1] <= 0x9F)
      return 1;
  }
  return 0;
}

static int only(const char *s, size_t n, const char *extra)
{
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          (c && strchr(extra, c))))
      return 0;
  }
  return 1;
}

/* Printable UTF-8: the part every kind shares. */
static const char *text_check(const char *s, size_t n)
{
  if (!wire_utf8_ok(s, n))
    return "is not valid UTF-8";
  if (wire_has_control(s, n))
    return "contains a control character";
  return NULL;
}

const char *wire_check(enum wire_kind kind, const char *s, size_t n)
{
  const char *why;

  if (!s || !n)
    return "is empty";
  if ((why = text_check(s, n)))
    return why;
  switch (kind) {
  case WIRE_ID:
    if (n > WIRE_ID_MAX)
      return "is longer than " STR(WIRE_ID_MAX) " bytes";
    if (!only(s, n, ID_CHARS))
      return "may only hold letters, digits and " ID_CHARS;
    /* "." and ".." are path segments every URI client removes (RFC 3986
     * 5.2.4): participants/.. would never reach the id. */
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
      return "may not be . or .. (URI clients remove them from paths)";
    return NULL;
  case WIRE_NAME:
    if (n > WIRE_NAME_MAX)
      return "is longer than " STR(WIRE_NAME_MAX) " bytes";
    return NULL;
  case WIRE_ROOM:
  case WIRE_LOCATION:
    if (n > WIRE_ROOM_MAX)
      return "is longer than " STR(WIRE_ROOM_MAX) " bytes";
    if (!only(s, n, PLACE_CHARS))
      return "may only hold letters, digits and " PLACE_CHARS;
    return NULL;
  }
  return "is of an unknown kind";
}

const char *wire_check_id(const char *s)
{
  return wire_check(WIRE_ID, s, s ? strlen(s) : 0);
}

const char *wire_check_name(const char *s)
{
  return wire_check(WIRE_NAME, s, s ? strlen(s) : 0);
}

const char *wire_check_room(const char *s)
{
  return wire_check(WIRE_ROOM, s, s ? strlen(s) : 0);
}

const char *wire_check_location(const char *s)
{
  return wire_check(WIRE_LOCATION, s, s ? strlen(s) : 0);
}

const char *wire_check_text(const char *s)
{
  return s ? text_check(s, strlen(s)) : NULL;
}

int wire_hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int wire_ble_parse(const char *s, uint8_t out[6])
{
  if (!s || strlen(s) != WIRE_BLE_LEN)
    return -1;
  for (int i = 0; i < 6; i++) {
    int hi = wire_hexval((unsigned char)s[3 * i]), lo = wire_hexval((unsigned char)s[3 * i + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
      return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

void wire_ble_format(const uint8_t a[6], char out[WIRE_BLE_LEN + 1])
{
  static const char hex[] = "0123456789ABCDEF";

  for (int i = 0; i < 6; i++) {
    out[3 * i] = hex[a[i] >> 4];
    out[3 * i + 1] = hex[a[i] & 15];
    out[3 * i + 2] = i < 5 ? ':' : '\0';
  }
}

int wire_ble_normalize(const char *in, char out[WIRE_BLE_LEN + 1])
{
  uint8_t a[6];

  if (wire_ble_parse(in, a) < 0)
    return -1;
  wire_ble_format(a, out);
  return 0;
}

const char *wire_check_path_id(const char *tail)
{
  char buf[256];
  size_t n = 0, len = tail ? strlen(tail) : 0;
  const char *why;

  if (!strchr(tail ? tail : "", '%'))
    return wire_check(WIRE_ID, tail, len);
  /* Decode to say what is wrong (a NUL is "a control character", not
   * "may only hold"); a tail with a '%' is never an id as it stands. */
  if (len >= sizeof buf)
    return "is longer than " STR(WIRE_ID_MAX) " bytes";
  for (size_t i = 0; i < len; i++) {
    int hi, lo;
    if (tail[i] == '%' && (hi = wire_hexval((unsigned char)tail[i + 1])) >= 0 &&
        (lo = wire_hexval((unsigned char)tail[i + 2])) >= 0) {
      buf[n++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      buf[n++] = tail[i];
    }
  }
  why = wire_check(WIRE_ID, buf, n);
  return why ? why : "may only hold letters, digits and " ID_CHARS;
}

int wire_get(const cJSON *obj, const char *key, enum wire_kind kind, int required,
             const char **out, struct jerr *err)
{
  const char *s = NULL, *why;

  if (json_get_string(obj, key, required, (size_t)-1, &s, err) < 0)
    return -1;
  if (!s)
    return 0;                   /* optional and missing: *out untouched */
  if ((why = wire_check(kind, s, strlen(s)))) {
    jerr_set(err, "field '%s' %s", key, why);
    return -1;
  }
  *out = s;
  return 0;
}
