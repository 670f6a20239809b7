/* wire.h - the wire contract: the limits and the rules of every id, name,
 * room and location the roles send each other, and one validator for all.
 *
 *   const char *id;
 *   if (wire_get(o, "participant", WIRE_ID, JSON_REQUIRED, &id, &err) < 0)
 *     return req_reply_error(r, 400, "%s", err.msg);
 *       -> "field 'participant' contains a control character"
 *   why = wire_check_path_id(r->tail);     (participants/<id>, guide/<id>)
 *   why = wire_check_location(opt_str(opts, "location"));
 *   if (wire_ble_normalize("aa:bb:cc:dd:ee:01", ble) < 0) ...   -> "AA:BB:CC:DD:EE:01"
 *
 * A check returns NULL when the string is fine, else a short reason that
 * reads after the field's name: "is not valid UTF-8", "contains a control
 * character", "is longer than 64 bytes", "is empty", "may only hold ...".
 *
 * The fields, by kind (every role that sends or takes one checks it the
 * same way, so what ae grants mcs, mrs and ug accept):
 *
 *   WIRE_ID        participant and meeting ids: "id", "participant",
 *                  "organizer", "meeting", "participants":[...], a pd's
 *                  "node"; the <id> of participants/<id>, meetings/<id>,
 *                  guide/<id>.  1-64 bytes of letters, digits and
 *                  -._~!$&'()*+,;=:@, but not "." or ".."
 *   WIRE_NAME      a participant's "name", a meeting's "title": 1-256
 *                  bytes of UTF-8 without control characters.
 *   WIRE_ROOM      "room", "building", --room, --route ROOM=, --mrs ROOM=
 *   WIRE_LOCATION  "location", --location, --bs LOC=: "entrance", "room"
 *                  or a room.  Both 1-64 bytes of letters, digits and -_.
 *
 * Why these rules, one for each kind (the roles had five, and a
 * participant ae granted could be refused by mcs, mrs or ug):
 *
 *   - Ids travel in URI paths.  The id characters are exactly the bytes
 *     libcoap leaves as they are when it turns Uri-Path options into the
 *     path a handler sees (RFC 3986 unreserved and sub-delims, ':', '@'),
 *     so the <id> at the end of a path is the id byte for byte, and a
 *     path built as "guide/%s" needs no escaping.  "." and ".." are the
 *     exception: clients remove them as dot-segments (RFC 3986 5.2.4,
 *     libcoap and coap-client alike), so guide/.. would be guide.  They keep out what
 *     breaks a path or a log line: '/', '?', '#', '%', whitespace,
 *     quotes, control characters, NUL, and non-ASCII (invalid UTF-8 and
 *     look-alike ids).  It is ae's rule, wider than mrs's and mcs's old
 *     "letters, digits, -_.@" (o'brien and 2026-12-01T10:00~R2 are ids),
 *     narrower than ug's "anything but '/' and control characters", which
 *     let ids through that no other role would take.
 *   - Names and titles are free text for people: any UTF-8 but control
 *     characters (C0, DEL, C1), which only ever garble a display or a log.
 *   - Rooms and locations name the places bs, pd, mrs and ug are started
 *     for, on their command lines (ROOM=URI, ROOM=L1,L2) and in key=value
 *     log lines; a room ae stored with other characters could never be
 *     served, so ae now refuses it.
 *
 * Free text (a meeting's content) may keep newlines and tabs: it is only
 * checked for UTF-8 (json_parse_object refuses every body that is not
 * UTF-8 or whose strings hold \u0000).
 */
#ifndef NANO_WIRE_H
#define NANO_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "json.h"

#define WIRE_ID_MAX        64     /* participant and meeting ids, nodes */
#define WIRE_NAME_MAX      256    /* names and titles */
#define WIRE_ROOM_MAX      64     /* rooms and buildings */
#define WIRE_LOCATION_MAX  WIRE_ROOM_MAX   /* a location may be a room */
#define WIRE_TIME_MAX      40     /* an RFC 3339 time */
#define WIRE_BLE_LEN       17     /* AA:BB:CC:DD:EE:FF */
#define WIRE_DEVICE_NAME_MAX 64   /* a BLE device's name as bs reports it,
                                     cut on a UTF-8 boundary */
#define WIRE_AUTH_MAX      64     /* BLE addresses in one POST /auth */
#define WIRE_IRK_TEXT_MAX  47     /* an IRK as text (irk.h): 32 hex digits and
                                     15 separators, or 24 of base64 */

enum wire_kind { WIRE_ID, WIRE_NAME, WIRE_ROOM, WIRE_LOCATION };

/* 1 if s[0..n) is UTF-8 as RFC 3629 has it: no overlong forms, no
 * surrogates (U+D800-DFFF), nothing above U+10FFFF, no cut sequence. */
int wire_utf8_ok(const char *s, size_t n);
/* The value of one hex digit, or -1. */
int wire_hexval(int c);
/* 1 if valid UTF-8 s[0..n) holds a control character: U+0000-001F,
 * U+007F or U+0080-009F. */
int wire_has_control(const char *s, size_t n);

/* NULL if s[0..n) is a good value of kind, else why not.  n counts
 * bytes, so a NUL inside is caught (as a control character). */
const char *wire_check(enum wire_kind kind, const char *s, size_t n);
const char *wire_check_id(const char *s);
const char *wire_check_name(const char *s);
const char *wire_check_room(const char *s);
const char *wire_check_location(const char *s);
/* UTF-8 without control characters, of any length, may be empty (a BLE
 * device's advertised name: its length is the caller's). */
const char *wire_check_text(const char *s);
/* The <id> of a path as the server gives it (libcoap percent-encodes
 * every byte that is not an id character, so "ev%00il" is the id "ev\0il"
 * and is refused as one).  NULL if the tail is an id: then it is the id. */
const char *wire_check_path_id(const char *tail);

/* BLE addresses travel as six hex pairs with colons, in either case
 * ("aa:BB:0c:dD:ee:0F"); the roles store and compare them in upper case.
 * The one parser of every role: 0, or -1 unless exactly that form. */
int wire_ble_parse(const char *s, uint8_t out[6]);
/* 6 bytes -> "AA:BB:CC:DD:EE:FF" (WIRE_BLE_LEN + 1 bytes with the NUL). */
void wire_ble_format(const uint8_t a[6], char out[WIRE_BLE_LEN + 1]);
/* Parse and format: any case in, upper case out; 0, or -1 (out untouched). */
int wire_ble_normalize(const char *in, char out[WIRE_BLE_LEN + 1]);

/* A string field of kind: like json_get_string (an optional field that is
 * missing or null leaves *out alone), then wire_check; -1 with "field
 * 'KEY' REASON" in err. */
int wire_get(const cJSON *obj, const char *key, enum wire_kind kind, int required,
             const char **out, struct jerr *err);

#endif
