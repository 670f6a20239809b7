/* wire.c - unit tests of the wire contract's validator (src/wire.c). */
#include "wire.h"
#include "tap.h"

#include <stdlib.h>

#define U(s) wire_utf8_ok(s, sizeof s - 1)

static cJSON *parse(const char *s)
{
  struct jerr err;
  return json_parse_object((const uint8_t *)s, strlen(s), 4096, &err);
}

int main(void)
{
  char buf[300];
  struct jerr err;
  const char *s;
  cJSON *o;

  plan(88);

  /* UTF-8 (RFC 3629) */
  ok(U("") && U("plain ascii"), "ASCII is UTF-8");
  ok(U("M\xc3\xbcller"), "2-byte sequence");
  ok(U("\xe2\x82\xac") && U("\xef\xbf\xbd"), "3-byte sequences");
  ok(U("\xf0\x9f\x98\x80") && U("\xf4\x8f\xbf\xbf"), "4-byte sequences up to U+10FFFF");
  ok(U("\xed\x9f\xbf") && U("\xee\x80\x80"), "U+D7FF and U+E000 (around the surrogates)");
  ok(!U("\xff") && !U("\xfe") && !U("a\xffz"), "0xFF and 0xFE are never UTF-8");
  ok(!U("\x80") && !U("a\xbfz"), "a lone continuation byte");
  ok(!U("\xc0\x80") && !U("\xc1\xbf"), "overlong 2-byte (C0 80 is an overlong NUL)");
  ok(!U("\xe0\x80\xaf") && !U("\xe0\x9f\xbf"), "overlong 3-byte");
  ok(!U("\xf0\x80\x80\xaf") && !U("\xf0\x8f\xbf\xbf"), "overlong 4-byte");
  ok(!U("\xed\xa0\x80") && !U("\xed\xbf\xbf"), "UTF-16 surrogates D800 and DFFF");
  ok(!U("\xed\xa0\xbd\xed\xb8\x80"), "a CESU-8 surrogate pair");
  ok(!U("\xf4\x90\x80\x80") && !U("\xf5\x80\x80\x80") && !U("\xf8\x88\x80\x80\x80"),
     "above U+10FFFF");
  ok(!U("\xc3") && !U("a\xe2\x82") && !U("\xf0\x9f\x98"), "a sequence cut at the end");
  ok(!U("\xc3z") && !U("\xe2\x82z") && !U("\xf0\x9f\x98z"), "a sequence cut in the middle");
  ok(!wire_utf8_ok("\xe2\x82\xac", 2), "the length is honoured (cut by n)");
  ok(wire_utf8_ok("a\0b", 3), "NUL is UTF-8 (U+0000); the control check refuses it");

  /* control characters */
  ok(!wire_has_control("M\xc3\xbcller \xe2\x82\xac", 11), "text without controls");
  ok(wire_has_control("a\0b", 3), "NUL");
  ok(wire_has_control("a\x01", 2) && wire_has_control("\x1f", 1), "C0");
  ok(wire_has_control("a\nb", 3) && wire_has_control("\t", 1), "newline and tab");
  ok(wire_has_control("\x7f", 1), "DEL");
  ok(wire_has_control("\xc2\x80", 2) && wire_has_control("x\xc2\x9f", 3), "C1 (U+0080-009F)");
  ok(!wire_has_control("\xc2\xa0\xc2\xbf", 4), "U+00A0 and U+00BF are not controls");

  /* ids */
  ok(!wire_check_id("alice") && !wire_check_id("o'brien") &&
     !wire_check_id("2026-12-01T10:00~R2") && !wire_check_id("a.b_c-d@e"),
     "ids like o'brien and 2026-12-01T10:00~R2");
  ok(!wire_check_id("-._~!$&'()*+,;=:@"), "every id punctuation character");
  /* README: "." and ".." are no ids (URI clients remove them from paths) */
  is_str(wire_check_id("."), "may not be . or .. (URI clients remove them from paths)",
         "the id '.' is refused");
  ok(wire_check_id("..") && wire_check_path_id(".."), "the id '..' is refused, in a path too");
  ok(!wire_check_id("...") && !wire_check_id(".a") && !wire_check_id("a..") &&
     !wire_check_id("-"), "'...', '.a', 'a..' are ids");
  is_str(wire_check_id(""), "is empty", "an empty id");
  is_str(wire_check_id(NULL), "is empty", "no id");
  is_str(wire_check(WIRE_ID, "ev\0il", 5), "contains a control character", "NUL in an id");
  is_str(wire_check_id("ev\x01il"), "contains a control character", "\\x01 in an id");
  is_str(wire_check_id("a\x7f"), "contains a control character", "DEL in an id");
  is_str(wire_check_id("a\xff"), "is not valid UTF-8", "invalid UTF-8 in an id");
  is_str(wire_check_id("a b"), "may only hold letters, digits and -._~!$&'()*+,;=:@",
         "a space in an id");
  ok(wire_check_id("a/b") && wire_check_id("a?b") && wire_check_id("a#b") &&
     wire_check_id("a%20b") && wire_check_id("a\"b") && wire_check_id("a\\b"),
     "'/', '?', '#', '%%', quotes and backslashes are not id characters");
  ok(wire_check_id("M\xc3\xbcller") != NULL, "ids are ASCII");
  memset(buf, 'x', 64);
  buf[64] = '\0';
  ok(!wire_check_id(buf), "an id of 64 bytes");
  buf[64] = 'x';
  buf[65] = '\0';
  is_str(wire_check_id(buf), "is longer than 64 bytes", "an id of 65 bytes");

  /* names */
  ok(!wire_check_name("Alice") && !wire_check_name("Robert'); DROP TABLE x; -- \"B\" \\ %"),
     "names with any printable ASCII");
  ok(!wire_check_name("Zo\xc3\xab M\xc3\xbcller \xf0\x9f\x98\x80"), "names in any script");
  is_str(wire_check_name(""), "is empty", "an empty name");
  is_str(wire_check_name("Ev\x01"), "contains a control character", "\\x01 in a name");
  is_str(wire_check_name("a\nb"), "contains a control character", "a newline in a name");
  is_str(wire_check_name("a\xc2\x85"), "contains a control character", "NEL (C1) in a name");
  is_str(wire_check_name("\xc0\xae"), "is not valid UTF-8", "an overlong '.' in a name");
  is_str(wire_check_name("\xed\xa0\x80"), "is not valid UTF-8", "a surrogate in a name");
  memset(buf, 'n', 256);
  buf[256] = '\0';
  ok(!wire_check_name(buf), "a name of 256 bytes");
  memset(buf, 'n', 200);
  buf[200] = '\0';
  ok(!wire_check_name(buf), "a name of 200 bytes (ae grants it, mcs takes it)");
  memset(buf, 'n', 257);
  buf[257] = '\0';
  is_str(wire_check_name(buf), "is longer than 256 bytes", "a name of 257 bytes");

  /* rooms and locations */
  ok(!wire_check_room("R1") && !wire_check_room("room_2.14-b") &&
     !wire_check_location("entrance"), "rooms and locations");
  ok(!wire_check_location("entrance\0x"), "(a C string ends at its NUL)");
  is_str(wire_check(WIRE_LOCATION, "entrance\0x", 10), "contains a control character",
         "a NUL inside a location, with its length");
  is_str(wire_check_room("R 1"), "may only hold letters, digits and -_.", "a space in a room");
  ok(wire_check_room("R1=x") && wire_check_room("a/b") && wire_check_room("R'1") &&
     wire_check_room("R@1"), "=, /, quotes and @ are not room characters");
  is_str(wire_check_room("R\x01"), "contains a control character", "\\x01 in a room");
  is_str(wire_check_location("\xff"), "is not valid UTF-8", "invalid UTF-8 in a location");
  memset(buf, 'r', 65);
  buf[65] = '\0';
  is_str(wire_check_room(buf), "is longer than 64 bytes", "a room of 65 bytes");
  buf[64] = '\0';
  ok(!wire_check_location(buf), "a location of 64 bytes");

  /* free text */
  ok(!wire_check_text("") && !wire_check_text("Bob's phone \xe2\x98\x8e"), "free text");
  ok(wire_check_text("a\x01") && wire_check_text("\xc3"), "free text: controls, bad UTF-8");

  /* path tails, as libcoap percent-encodes them */
  ok(!wire_check_path_id("alice") && !wire_check_path_id("o'brien"), "a tail that is an id");
  is_str(wire_check_path_id("ev%00il"), "contains a control character", "%%00 in a tail");
  is_str(wire_check_path_id("a%FF"), "is not valid UTF-8", "%%FF in a tail");
  is_str(wire_check_path_id("a%20b"), "may only hold letters, digits and -._~!$&'()*+,;=:@",
         "%%20 in a tail");
  ok(wire_check_path_id("a%2Fb") && wire_check_path_id("M%C3%BCller") &&
     wire_check_path_id("a%") && wire_check_path_id("a/b"),
     "an encoded '/', UTF-8, a bare '%%', two segments");

  /* BLE addresses: the one parser every role uses */
  {
    uint8_t a[6];
    char text[WIRE_BLE_LEN + 1] = "untouched";

    ok(wire_ble_parse("aa:BB:0c:dD:ee:0F", a) == 0, "a mixed-case address parses");
    wire_ble_format(a, text);
    is_str(text, "AA:BB:0C:DD:EE:0F", "formatted in upper case");
    ok(wire_ble_parse("AA:BB:CC:DD:EE", a) < 0, "five bytes refused");
    ok(wire_ble_parse("AA:BB:CC:DD:EE:FF:", a) < 0, "a trailing colon refused");
    ok(wire_ble_parse("AA-BB-CC-DD-EE-FF", a) < 0 && wire_ble_parse("AABBCCDDEEFF", a) < 0,
       "dashes and no separators refused");
    ok(wire_ble_parse("AA:BB:CC:DD:EE:FG", a) < 0 && wire_ble_parse("AA:BB:CC:DD:E :FF", a) < 0,
       "a non-hex digit refused");
    ok(wire_ble_parse("", a) < 0 && wire_ble_parse(NULL, a) < 0, "empty and NULL refused");
    ok(wire_ble_normalize("aa:bb:cc:dd:ee:01", text) == 0 &&
       !strcmp(text, "AA:BB:CC:DD:EE:01"), "normalize: lower case in, upper case out");
    strcpy(text, "untouched");
    ok(wire_ble_normalize("aa:bb:cc:dd:ee:0", text) < 0 && !strcmp(text, "untouched"),
       "normalize: -1 for a malformed address, the output untouched");
    ok(wire_ble_normalize("AA:BB:CC:DD:EE:01\0", text) == 0 &&
       wire_ble_normalize("AA:BB:CC:DD:EE:01 ", text) < 0, "normalize: exactly 17 bytes");
  }

  /* wire_get on JSON fields */
  o = parse("{\"participant\":\"bob\",\"name\":\"Bob \\u00e9\",\"room\":\"R 1\","
            "\"ctl\":\"a\\u0001\",\"n\":7,\"e\":\"\"}");
  ok(o != NULL, "a test object");
  s = NULL;
  ok(wire_get(o, "participant", WIRE_ID, JSON_REQUIRED, &s, &err) == 0 && s &&
     !strcmp(s, "bob"), "wire_get: an id");
  ok(wire_get(o, "name", WIRE_NAME, JSON_REQUIRED, &s, &err) == 0 &&
     !strcmp(s, "Bob \xc3\xa9"), "wire_get: a name");
  ok(wire_get(o, "room", WIRE_ROOM, JSON_REQUIRED, &s, &err) < 0, "wire_get: a bad room");
  is_str(err.msg, "field 'room' may only hold letters, digits and -_.", "the reason names the field");
  ok(wire_get(o, "ctl", WIRE_NAME, JSON_REQUIRED, &s, &err) < 0, "wire_get: \\u0001");
  is_str(err.msg, "field 'ctl' contains a control character", "the reason for \\u0001");
  ok(wire_get(o, "n", WIRE_NAME, JSON_REQUIRED, &s, &err) < 0 &&
     !strcmp(err.msg, "field 'n' must be a string"), "wire_get: a number is not a string");
  ok(wire_get(o, "e", WIRE_ID, JSON_OPTIONAL, &s, &err) < 0 &&
     !strcmp(err.msg, "field 'e' is empty"), "wire_get: an empty optional id is refused");
  s = "default";
  ok(wire_get(o, "missing", WIRE_NAME, JSON_OPTIONAL, &s, &err) == 0 &&
     !strcmp(s, "default"), "wire_get: a missing optional field leaves *out alone");
  ok(wire_get(o, "missing", WIRE_ID, JSON_REQUIRED, &s, &err) < 0 &&
     !strcmp(err.msg, "missing field 'missing'"), "wire_get: a missing required field");
  cJSON_Delete(o);

  return done_testing();
}
