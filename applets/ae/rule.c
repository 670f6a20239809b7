/* rule.c - ae's decision: may the person behind this BLE address enter
 * here, now?  (paper Fig. 3, step d; README, the building rule)
 *
 *   struct auth_req a = { .location = "room-1", .now = wall_ms(), ... };
 *   code = auth_building(ae, &a, &err);                  once per request
 *   code = auth_decide(ae, &a, "AA:BB:CC:DD:EE:FF", &err);   per address
 *
 * Who: the address is a participant's own or one of their identities; else
 * the badge beacon the request heard on it; else a resolvable private
 * address one of the stored IRKs made.  Where: the location's building
 * (auth_building).  Granted when a meeting they are invited to admits now
 * (from --early before its start until its end) in that building or in
 * none; one in the location's own room first, then the earliest.  Every
 * decision is one event row with its reason.  Nothing here needs the
 * server: a struct ae with an open database is enough (test/unit/ae_rule.c).
 */
#include "ae.h"
#include "irk.h"
#include "sightings.h"

#include <string.h>

/* The location's building (README, the building rule): when meetings
 * admit now in the room the location names, theirs (none if none of them
 * names one); else the location itself when a meeting names it as its
 * building; else none.  Only meetings admitting now say which building a
 * room is in, so a meeting for tomorrow with another (or a mistyped)
 * building cannot change today's decision. */
int auth_building(struct ae *ae, struct auth_req *a, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, S_ROOM_BUILDING);
  int rc;

  bind_text(s, 1, a->location);
  sqlite3_bind_int64(s, 2, ae->early_ms);
  sqlite3_bind_int64(s, 3, a->now);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW && col_text(s, 0)) {
    snprintf(a->building_buf, sizeof a->building_buf, "%s", col_text(s, 0));
    a->building = a->building_buf;
  }
  sqlite3_reset(s);
  if (rc == SQLITE_ROW)
    return 0;                   /* a room in use now: its building, or none */
  if (rc != SQLITE_DONE)
    return db_fail(ae, "room building", err);
  rc = exists(ae, S_LOC_IS_BUILDING, a->location);
  if (rc < 0)
    return db_fail(ae, "building", err);
  if (rc)
    a->building = a->location;
  return 0;
}

/* Why a known participant is denied, for the event log. */
static int deny_reason(struct ae *ae, struct auth_req *a, const char *participant,
                       char *detail, size_t size, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, S_AUTH_NEXT);
  char t[40];
  int rc;

  bind_text(s, 1, participant);
  sqlite3_bind_int64(s, 2, a->now);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    int64_t opens = sqlite3_column_int64(s, 1) - ae->early_ms;
    if (opens > a->now)
      snprintf(detail, size, "too early: meeting '%s' admits from %s", col_text(s, 0),
               rfc3339((uint64_t)opens, t, sizeof t));
    else
      snprintf(detail, size, "meeting '%s' is in building '%s', not '%s'", col_text(s, 0),
               col_text(s, 2) ? col_text(s, 2) : "?", a->building ? a->building : "?");
  }
  sqlite3_reset(s);
  if (rc == SQLITE_ROW)
    return 0;
  if (rc != SQLITE_DONE)
    return db_fail(ae, "deny reason", err);
  rc = exists(ae, S_AUTH_ANY, participant);
  if (rc < 0)
    return db_fail(ae, "invitations", err);
  snprintf(detail, size, "%s", rc ? "meeting ended" : "not invited to any meeting");
  return 0;
}

static int auth_granted(struct auth_req *a, const char *ble, const char *participant,
                        const char *name, const char *meeting, const char *room,
                        int64_t end_ms, const char *resolved)
{
  struct jout j = { 0 };
  cJSON *g = cJSON_CreateObject();

  if (!g)
    return -1;
  put_str(&j, g, "participant", participant);
  put_str(&j, g, "name", name);
  put_str(&j, g, "meeting", meeting);
  put_str(&j, g, "room", room);
  put_time(&j, g, "end", end_ms);       /* when the meeting's visit ends */
  put_str(&j, g, "ble", ble);
  put_str(&j, g, "resolved", resolved);
  put_item(&j, a->granted, g);
  return j.oom ? -1 : 0;
}

/* The participant (id, name: the first two columns) that statement id
 * finds for key: 1 with participant and name set, 0 when none, else an
 * error code (what names the lookup in the log). */
static int participant_lookup(struct ae *ae, enum stmt_id id, const char *key,
                              char participant[WIRE_ID_MAX + 1], char name[WIRE_NAME_MAX + 1],
                              const char *what, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, id);
  int rc;

  bind_text(s, 1, key);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    snprintf(participant, WIRE_ID_MAX + 1, "%s", col_text(s, 0));
    snprintf(name, WIRE_NAME_MAX + 1, "%s", col_text(s, 1));
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(ae, what, err);
  return rc == SQLITE_ROW;
}

/* The participant whose IRK made ble, when ble is a resolvable private
 * address no participant has as theirs: from the cache of addresses
 * resolved lately, else by trying every stored IRK (irk.h).  1 with
 * participant and name set, 0 when nobody's, else an error code. */
static int rpa_resolve(struct ae *ae, const char *ble, char participant[WIRE_ID_MAX + 1],
                       char name[WIRE_NAME_MAX + 1], struct jerr *err)
{
  uint8_t addr[6];
  uint64_t now = now_ms();
  struct rpa_seen *slot = &ae->rpa[0];
  sqlite3_stmt *s;
  int rc, found = 0;

  if (wire_ble_parse(ble, addr) < 0 || !irk_is_rpa(addr))
    return 0;
  for (int i = 0; i < AE_RPA_CACHE; i++) {
    struct rpa_seen *c = &ae->rpa[i];
    if (c->ble[0] && now - c->seen_ms > AE_RPA_FORGET_MS)
      memset(c, 0, sizeof *c);
    if (c->ble[0] && !strcmp(c->ble, ble)) {
      c->seen_ms = now;
      ae->rpa_hits++;
      return participant_lookup(ae, S_P_GET, c->participant, participant, name,
                                "auth resolve", err);
    }
    if (c->seen_ms < slot->seen_ms)
      slot = c;                 /* the least lately seen, to reuse */
  }
  ae->rpa_scans++;
  s = stmt(ae, S_P_IRKS);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    if (sqlite3_column_bytes(s, 2) == 16 &&
        irk_resolves(sqlite3_column_blob(s, 2), addr)) {
      snprintf(participant, WIRE_ID_MAX + 1, "%s", col_text(s, 0));
      snprintf(name, WIRE_NAME_MAX + 1, "%s", col_text(s, 1));
      found = 1;
      break;
    }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(ae, "auth resolve", err);
  if (found) {
    ae->rpa_resolved++;
    snprintf(slot->ble, sizeof slot->ble, "%.17s", ble);
    snprintf(slot->participant, sizeof slot->participant, "%s", participant);
    slot->seen_ms = now;
  }
  return found;
}

/* The participant whose badge beacon the address carried, if the request
 * says it heard one there: 1 with participant and name set, 0 when
 * nobody's, else an error code. */
static int beacon_resolve(struct ae *ae, struct auth_req *a, const char *ble,
                          char participant[WIRE_ID_MAX + 1], char name[WIRE_NAME_MAX + 1],
                          struct jerr *err)
{
  const cJSON *v = NULL, *el;
  char key[IBEACON_KEY_MAX];

  cJSON_ArrayForEach(el, a->ibeacons) {
    char norm[18];
    if (el->string && wire_ble_normalize(el->string, norm) == 0 && !strcmp(norm, ble))
      v = el;
  }
  if (!v || ibeacon_key_parse(v, key, NULL, 0) < 0)
    return 0;
  return participant_lookup(ae, S_P_BY_BEACON, key, participant, name, "auth beacon", err);
}

/* One decision for one address, logged as one event row. */
int auth_decide(struct ae *ae, struct auth_req *a, const char *ble, struct jerr *err)
{
  char participant[WIRE_ID_MAX + 1] = "", name[WIRE_NAME_MAX + 1] = "";
  char meeting[WIRE_ID_MAX + 1] = "", room[WIRE_ROOM_MAX + 1] = "", detail[256] = "";
  sqlite3_stmt *s;
  const char *resolved = NULL;
  int64_t end_ms = 0;
  int rc, code;

  rc = participant_lookup(ae, S_P_BY_BLE, ble, participant, name, "auth participant", err);
  if (rc < 0 || rc > 1)
    return rc;
  rc = rc ? SQLITE_ROW : SQLITE_DONE;
  if (rc == SQLITE_DONE) {
    int r = beacon_resolve(ae, a, ble, participant, name, err);
    if (r == 1)
      resolved = "ibeacon";
    else if (!r && (r = rpa_resolve(ae, ble, participant, name, err)) == 1)
      resolved = "irk";
    if (r < 0 || r > 1)
      return r;
    rc = r ? SQLITE_ROW : SQLITE_DONE;
  }
  if (rc == SQLITE_DONE) {
    snprintf(detail, sizeof detail, "unknown address");
  } else {
    s = stmt(ae, S_AUTH_PICK);
    bind_text(s, 1, participant);
    sqlite3_bind_int64(s, 2, ae->early_ms);
    sqlite3_bind_int64(s, 3, a->now);
    bind_text(s, 4, a->building);
    bind_text(s, 5, a->location);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      snprintf(meeting, sizeof meeting, "%s", col_text(s, 0));
      snprintf(room, sizeof room, "%s", col_text(s, 1));
      end_ms = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return db_fail(ae, "auth meeting", err);
    if (rc == SQLITE_DONE && (code = deny_reason(ae, a, participant, detail, sizeof detail, err)))
      return code;
  }
  if (*meeting) {
    snprintf(detail, sizeof detail, "room %s%s%s%s", room, resolved ? " (resolved by " : "",
             resolved ? resolved : "", resolved ? ")" : "");
    if (auth_granted(a, ble, participant, name, meeting, room, end_ms, resolved) < 0) {
      jerr_set(err, "out of memory");
      return 500;
    }
    a->ngranted++;
  } else {
    struct jout j = { 0 };
    put_item(&j, a->denied, cJSON_CreateString(ble));
    if (j.oom) {
      jerr_set(err, "out of memory");
      return 500;
    }
    a->ndenied++;
  }
  return event_add(ae, "auth", a->location, ble, *participant ? participant : NULL,
                   *meeting ? meeting : NULL, *meeting ? "granted" : "denied", detail, err);
}

