/* ae_rule.c - unit tests of ae's decision (applets/ae/rule.c) on an
 * in-memory SQLite database with ae's own schema (store.c's migrations):
 * granted in the meeting's room and building, --early, a meeting ended,
 * not invited, an unknown address, an address resolved by an IRK and by
 * a badge beacon, the building rule (a room in use now names its
 * building, a building's name as a location, tomorrow's meetings decide
 * nothing today), and which meeting a participant invited to two is
 * given.  Every decision is also checked in the event log, as GET
 * /events shows it.  The clock is the test's: each request's now is
 * passed in. */
#include "ae/ae.h"
#include "irk.h"
#include "sightings.h"
#include "tap.h"

#include <stdlib.h>

#define MIN (60 * 1000LL)
#define T0 1795784400000LL          /* 2026-11-27T13:00:00Z: "now" */
#define EARLY (15 * MIN)

static struct ae ae;

static void sql(const char *text)
{
  char *msg = NULL;

  if (sqlite3_exec(ae.db, text, NULL, NULL, &msg) != SQLITE_OK) {
    printf("Bail out! %s: %s\n", text, msg ? msg : "?");
    exit(1);
  }
}

/* A meeting from start to end (minutes from T0), its invitees listed. */
static void meeting(const char *id, const char *room, const char *building, long long start,
                    long long end, const char *invitees)
{
  char buf[1024], b[64], *list = strdup(invitees);

  snprintf(b, sizeof b, building ? "'%s'" : "NULL", building);
  snprintf(buf, sizeof buf, "INSERT INTO meetings(id, title, room, building, start_ms, end_ms) "
           "VALUES ('%s', 'title', '%s', %s, %lld, %lld)", id, room, b,
           T0 + start * MIN, T0 + end * MIN);
  sql(buf);
  for (char *who = strtok(list, " "); who; who = strtok(NULL, " ")) {
    snprintf(buf, sizeof buf, "INSERT INTO invitations VALUES ('%s', '%s')", who, id);
    sql(buf);
  }
  free(list);
}

/* What one request of one address got. */
struct got {
  int code;
  char building[64];            /* auth_building's, "" for none */
  char meeting[64], room[64], participant[64], resolved[16];    /* "" if denied */
  int denied;
  char decision[16], detail[256];   /* its event row */
};

static const char *json_str(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

/* One POST /auth of ble at location at now (minutes from T0), with the
 * badges heard ({"ADDR":"KEY"}, or NULL), as post_auth decides it. */
static struct got decide(const char *location, const char *ble, long long now,
                         const char *ibeacons)
{
  struct auth_req a = { 0 };
  struct got g = { 0 };
  struct jerr err = { 0 };
  cJSON *out = cJSON_CreateObject(), *beacons = ibeacons ? cJSON_Parse(ibeacons) : NULL;
  sqlite3_stmt *s;

  a.location = location;
  a.ibeacons = beacons;
  a.now = T0 + now * MIN;
  a.granted = cJSON_AddArrayToObject(out, "granted");
  a.denied = cJSON_AddArrayToObject(out, "denied");
  g.code = txn_begin(&ae, &err);
  if (!g.code)
    g.code = auth_building(&ae, &a, &err);
  if (!g.code)
    g.code = auth_decide(&ae, &a, ble, &err);
  g.code = txn_end(&ae, g.code, &err);
  snprintf(g.building, sizeof g.building, "%s", a.building ? a.building : "");
  if (cJSON_GetArraySize(a.granted) == 1) {
    const cJSON *one = cJSON_GetArrayItem(a.granted, 0);
    snprintf(g.meeting, sizeof g.meeting, "%s", json_str(one, "meeting"));
    snprintf(g.room, sizeof g.room, "%s", json_str(one, "room"));
    snprintf(g.participant, sizeof g.participant, "%s", json_str(one, "participant"));
    snprintf(g.resolved, sizeof g.resolved, "%s", json_str(one, "resolved"));
  }
  g.denied = cJSON_GetArraySize(a.denied);
  sqlite3_prepare_v2(ae.db, "SELECT decision, detail FROM events WHERE kind = 'auth' "
                     "ORDER BY id DESC LIMIT 1", -1, &s, NULL);
  if (sqlite3_step(s) == SQLITE_ROW) {
    snprintf(g.decision, sizeof g.decision, "%s", sqlite3_column_text(s, 0));
    snprintf(g.detail, sizeof g.detail, "%s", sqlite3_column_text(s, 1));
  }
  sqlite3_finalize(s);
  cJSON_Delete(out);
  cJSON_Delete(beacons);
  return g;
}

static void is_granted(struct got g, const char *meeting, const char *what)
{
  is_int(g.code, 0, "%s: decided", what);
  is_str(g.meeting, meeting, "%s: granted the meeting", what);
  is_str(g.decision, "granted", "%s: the event says granted", what);
}

static void is_denied(struct got g, const char *detail, const char *what)
{
  is_int(g.code, 0, "%s: decided", what);
  ok(g.denied == 1 && !*g.meeting, "%s: denied", what);
  is_str(g.decision, "denied", "%s: the event says denied", what);
  is_str(g.detail, detail, "%s: why", what);
}

int main(void)
{
  uint8_t irk[16], addr[6], rnd[3] = { 0x12, 0x34, 0x56 };
  char rpa[18], why[96], beacon_key[IBEACON_KEY_MAX], buf[512];
  cJSON *v;
  struct got g;

  plan(101);
  log_init("ae_rule", NLOG_ERROR);
  ae.db_path = ":memory:";
  ae.early_ms = EARLY;
  ae.events_keep_rows = 100000;       /* --events-keep's default */
  if (db_open(&ae) < 0) {
    printf("Bail out! db_open(\":memory:\") failed\n");
    return 1;
  }

  /* alice, bob, carol, dave, gina, hank: their own addresses; erin by an
   * IRK only; frank by a badge beacon only. */
  sql("INSERT INTO participants(id, name, ble) VALUES "
      "('alice', 'Alice', 'AA:00:00:00:00:01'), ('bob', 'Bob', 'AA:00:00:00:00:02'), "
      "('carol', 'Carol', 'AA:00:00:00:00:03'), ('dave', 'Dave', 'AA:00:00:00:00:04'), "
      "('erin', 'Erin', 'AA:00:00:00:00:05'), ('frank', 'Frank', 'AA:00:00:00:00:06'), "
      "('gina', 'Gina', 'AA:00:00:00:00:07'), ('hank', 'Hank', 'AA:00:00:00:00:08')");
  irk_parse("ec0234a357c8ad05341010a60a397d9b", irk, why, sizeof why);
  {
    sqlite3_stmt *s;
    sqlite3_prepare_v2(ae.db, "UPDATE participants SET irk = ?1 WHERE id = 'erin'", -1, &s,
                       NULL);
    sqlite3_bind_blob(s, 1, irk, sizeof irk, SQLITE_STATIC);
    sqlite3_step(s);
    sqlite3_finalize(s);
  }
  irk_make_rpa(irk, rnd, addr);
  wire_ble_format(addr, rpa);
  v = cJSON_CreateString("e2c56db5-dffb-48d2-b060-d0f5a71096e0/1/2");
  ibeacon_key_parse(v, beacon_key, why, sizeof why);
  cJSON_Delete(v);
  snprintf(buf, sizeof buf, "INSERT INTO identities VALUES ('frank', 'ibeacon', '%s')",
           beacon_key);
  sql(buf);

  /* now is T0 (minutes from it); --early is 15 */
  meeting("standup", "r1", "B1", -10, 50, "alice erin frank");
  meeting("review", "r2", "B1", 60, 120, "bob");               /* admits from +45 */
  meeting("retro", "r3", "B1", -120, -1, "carol");              /* ended a minute ago */
  meeting("offsite", "r9", "B2", -30, 90, "gina");
  meeting("tomorrow-r1", "r1", "B9", 24 * 60, 25 * 60, "");      /* another building */
  meeting("tomorrow-r5", "r5", "B3", 24 * 60, 25 * 60, "");      /* r5's only meeting */
  meeting("today-r6", "r6", NULL, -60, 60, "");                  /* no building */
  meeting("tomorrow-r6", "r6", "B9", 24 * 60, 25 * 60, "");
  meeting("r7-early", "r7", NULL, -60, 60, "");                 /* r7 now: one without */
  meeting("r7-later", "r7", "B4", -5, 60, "");                   /* and one with B4 */
  meeting("soon-r8", "r8", "B5", 10, 60, "");                   /* admits from -5 */
  meeting("design", "r1", "B1", -5, 55, "hank");                /* hank's two: */
  meeting("planning", "r3", "B1", -20, 40, "hank");             /* the earlier start */

  /* granted in the meeting's room, and anywhere in its building */
  g = decide("r1", "AA:00:00:00:00:01", 0, NULL);
  is_granted(g, "standup", "alice in the meeting's room");
  is_str(g.room, "r1", "alice is sent to r1");
  is_str(g.participant, "alice", "the grant names alice");
  is_str(g.building, "B1", "r1, in use now, is in B1");
  is_str(g.detail, "room r1", "the event says the room");
  g = decide("entrance", "aa:00:00:00:00:01", 0, NULL);
  is_str(g.meeting, "", "an address is decided as given: the caller upper-cases it");
  g = decide("entrance", "AA:00:00:00:00:01", 0, NULL);
  is_granted(g, "standup", "alice at the entrance (no building)");
  is_str(g.building, "", "the entrance names no building");

  /* --early: admitted from 15 minutes before the start, not sooner */
  g = decide("entrance", "AA:00:00:00:00:02", 0, NULL);
  is_denied(g, "too early: meeting 'review' admits from 2026-11-27T13:45:00Z",
            "bob an hour early");
  g = decide("entrance", "AA:00:00:00:00:02", 44, NULL);
  is_str(g.decision, "denied", "bob 16 minutes early is denied");
  g = decide("entrance", "AA:00:00:00:00:02", 45, NULL);
  is_granted(g, "review", "bob 15 minutes early (--early)");

  /* ended, not invited, unknown */
  g = decide("entrance", "AA:00:00:00:00:03", 0, NULL);
  is_denied(g, "meeting ended", "carol after her meeting");
  g = decide("entrance", "AA:00:00:00:00:03", -2, NULL);
  is_granted(g, "retro", "carol two minutes before its end");
  g = decide("entrance", "AA:00:00:00:00:04", 0, NULL);
  is_denied(g, "not invited to any meeting", "dave, invited to nothing");
  g = decide("entrance", "AA:00:00:00:00:FF", 0, NULL);
  is_denied(g, "unknown address", "an address nobody has");

  /* erin by her IRK: the private address is nobody's own */
  ok(irk_is_rpa(addr), "irk_make_rpa made a resolvable private address (%s)", rpa);
  g = decide("r1", rpa, 0, NULL);
  is_granted(g, "standup", "erin's private address");
  is_str(g.participant, "erin", "resolved to erin");
  is_str(g.resolved, "irk", "resolved by her IRK");
  is_str(g.detail, "room r1 (resolved by irk)", "the event says how");
  g = decide("r1", rpa, 0, NULL);
  is_str(g.participant, "erin", "again: from the cache of addresses resolved");
  is_int(ae.rpa_hits, 1, "the second was a cache hit");
  rnd[2] ^= 0xff;
  irk_make_rpa((const uint8_t[16]){ 1, 2, 3 }, rnd, addr);
  wire_ble_format(addr, rpa);
  g = decide("r1", rpa, 0, NULL);
  is_denied(g, "unknown address", "a private address of an IRK nobody has");

  /* frank by the badge beacon heard on an address */
  snprintf(buf, sizeof buf, "{\"cc:00:00:00:00:99\":\"%s\"}", beacon_key);
  g = decide("r1", "CC:00:00:00:00:99", 0, buf);
  is_granted(g, "standup", "frank's badge on a stranger's address");
  is_str(g.participant, "frank", "resolved to frank");
  is_str(g.resolved, "ibeacon", "resolved by his beacon");
  g = decide("r1", "CC:00:00:00:00:99", 0, NULL);
  is_denied(g, "unknown address", "the same address without the beacon heard");
  g = decide("r1", "CC:00:00:00:00:98", 0, buf);
  is_denied(g, "unknown address", "the beacon heard on another address only");

  /* the building rule */
  g = decide("r1", "AA:00:00:00:00:07", 0, NULL);
  is_denied(g, "meeting 'offsite' is in building 'B2', not 'B1'",
            "gina in a room of B1, her meeting in B2");
  is_str(g.building, "B1", "r1 is in B1: tomorrow's meeting there (B9) decides nothing");
  g = decide("B2", "AA:00:00:00:00:07", 0, NULL);
  is_granted(g, "offsite", "gina at a location named as her meeting's building");
  is_str(g.building, "B2", "a building's name is its building");
  g = decide("B1", "AA:00:00:00:00:07", 0, NULL);
  is_str(g.decision, "denied", "gina at B1's name");
  g = decide("r5", "AA:00:00:00:00:07", 0, NULL);
  is_granted(g, "offsite", "gina in r5, whose only meeting (B3) is tomorrow");
  is_str(g.building, "", "r5 is in no building today");
  g = decide("r6", "AA:00:00:00:00:07", 0, NULL);
  is_granted(g, "offsite", "gina in r6, in use now without a building");
  is_str(g.building, "", "r6's meeting now names none; tomorrow's B9 does not count");
  g = decide("r7", "AA:00:00:00:00:07", 0, NULL);
  is_str(g.building, "B4", "r7 has two meetings now: the one that names a building says");
  is_str(g.decision, "denied", "gina in r7 (B4)");
  g = decide("r8", "AA:00:00:00:00:07", 0, NULL);
  is_str(g.building, "B5", "r8's meeting admits already (--early): r8 is in B5");
  g = decide("r1", "AA:00:00:00:00:07", 24 * 60 + 10, NULL);
  is_str(g.building, "B9", "tomorrow, r1 is in tomorrow's meeting's building");
  g = decide("B9", "AA:00:00:00:00:07", 0, NULL);
  is_denied(g, "meeting 'offsite' is in building 'B2', not 'B9'",
            "gina at B9's name, a building only tomorrow's meeting names");
  is_str(g.building, "B9", "a building's name is one whenever its meetings are");

  /* invited to two meetings on now */
  g = decide("entrance", "AA:00:00:00:00:08", 0, NULL);
  is_granted(g, "planning", "hank at the entrance: the earlier start");
  g = decide("r1", "AA:00:00:00:00:08", 0, NULL);
  is_granted(g, "design", "hank in r1: the meeting in that room first");
  is_str(g.room, "r1", "hank is sent to r1");
  g = decide("r3", "AA:00:00:00:00:08", 0, NULL);
  is_granted(g, "planning", "hank in r3: the meeting in r3");
  g = decide("entrance", "AA:00:00:00:00:08", 41, NULL);
  is_granted(g, "design", "hank after the earlier one ended: the other");

  db_close(&ae);
  return done_testing();
}
