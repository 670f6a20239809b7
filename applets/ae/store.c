/* store.c - ae's SQLite database: the schema, migrated forward by
 * PRAGMA user_version; every statement ae runs, prepared once; the
 * transactions around each answered write; the event log, trimmed to
 * --events-keep by each write that adds to it; and the event ids readers
 * were given, so that ids never repeat across a restore.
 *
 *   db_open(ae);  txn_begin(ae, &err);
 *   code = event_add(ae, "auth", location, ble, who, meeting, "granted", detail, &err);
 *   code = txn_end(ae, code, &err);     committed when code is 0, else rolled back
 *
 * Every value is bound, never spliced into SQL.
 */
#include "ae.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How many rows beyond its own a write may trim: a backlog (a lower
 * --events-keep at restart, an age limit after a quiet night) is worked
 * off in steps rather than in one long stall of the loop. */
#define EVENTS_PRUNE_STEP 1000
#define EVENTS_PRUNE_START_STEP 10000
/* The -wal file is checkpointed and reused every ~1000 pages (4 MB);
 * after a larger transaction, or a reader that held a checkpoint back,
 * it is cut back to this size instead of staying at its peak. */
#define WAL_SIZE_LIMIT "8388608"

/* ---- the schema, migrated forward by PRAGMA user_version ----------- */

/* Each entry moves the schema from version i to i + 1 and sets
 * user_version itself, so no SQL is ever built from strings. */
static const char *const migrations[] = {
  "CREATE TABLE participants("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  name TEXT NOT NULL,"
  "  ble TEXT NOT NULL UNIQUE,"           /* AA:BB:CC:DD:EE:FF, upper case */
  "  irk BLOB"                            /* identity resolving key, later */
  ") STRICT;"
  "CREATE TABLE meetings("
  "  id TEXT PRIMARY KEY NOT NULL,"
  "  title TEXT NOT NULL,"
  "  room TEXT NOT NULL,"
  "  building TEXT,"
  "  organizer TEXT REFERENCES participants(id),"
  "  start_ms INTEGER NOT NULL,"
  "  end_ms INTEGER NOT NULL CHECK (end_ms > start_ms),"
  "  content_format INTEGER NOT NULL DEFAULT 0,"
  "  content BLOB NOT NULL DEFAULT x''"  /* last: listings never read it */
  ") STRICT;"
  "CREATE INDEX meetings_organizer ON meetings(organizer);"
  "CREATE INDEX meetings_building ON meetings(building);"  /* the building rule */
  "CREATE INDEX meetings_room ON meetings(room, start_ms);"
  "CREATE TABLE invitations("
  "  participant TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,"
  "  meeting TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,"
  "  PRIMARY KEY (participant, meeting)"
  ") STRICT, WITHOUT ROWID;"
  "CREATE INDEX invitations_meeting ON invitations(meeting);"
  /* The log keeps names, not references: it outlives what it names.
   * No AUTOINCREMENT: events are never deleted from the top (retention
   * trims the oldest and always keeps the newest), so ids still only
   * grow, and each commit writes one page less. */
  "CREATE TABLE events("
  "  id INTEGER PRIMARY KEY,"
  "  time_ms INTEGER NOT NULL,"
  "  kind TEXT NOT NULL,"
  "  location TEXT, ble TEXT, participant TEXT, meeting TEXT,"
  "  decision TEXT, detail TEXT"
  ") STRICT;"
  "PRAGMA user_version = 1;",
  /* More identities than the one address: other addresses (a second
   * phone, a watch), more IRKs, badge beacons (iBeacon UUID/major/minor,
   * sightings.h's key).  Each identity is one participant's. */
  "CREATE TABLE identities("
  "  participant TEXT NOT NULL REFERENCES participants(id) ON DELETE CASCADE,"
  "  kind TEXT NOT NULL CHECK (kind IN ('ble', 'irk', 'ibeacon')),"
  "  value ANY NOT NULL,"                 /* text; the IRK a 16-byte blob */
  "  PRIMARY KEY (kind, value)"
  /* a rowid table: SQLite 3.40's integrity_check, which every backup
   * runs, reports false NULLs in a WITHOUT ROWID one with this index */
  ") STRICT;"
  "CREATE INDEX identities_participant ON identities(participant);"
  "PRAGMA user_version = 2;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof *migrations))
const int schema_version = SCHEMA_VERSION;

/* ---- prepared statements (enum stmt_id: ae.h) ------------------------ */

static const char *const stmt_sql[S_COUNT_OF_STMTS] = {
  [S_BEGIN] = "BEGIN IMMEDIATE",
  [S_COMMIT] = "COMMIT",
  [S_ROLLBACK] = "ROLLBACK",
  /* one request's part of a group commit, undone alone on its error */
  [S_SAVEPOINT] = "SAVEPOINT auth",
  [S_RELEASE] = "RELEASE auth",
  [S_ROLLBACK_TO] = "ROLLBACK TO auth",
  [S_P_GET] = "SELECT id, name, ble, irk IS NOT NULL FROM participants WHERE id = ?1",
  [S_P_LIST] = "SELECT id, name, ble, irk IS NOT NULL FROM participants ORDER BY id",
  /* whose address: the participant's own, or one of their identities */
  [S_P_BY_BLE] = "SELECT id, name FROM participants WHERE ble = ?1 UNION ALL "
                 "SELECT p.id, p.name FROM identities i JOIN participants p "
                 "ON p.id = i.participant WHERE i.kind = 'ble' AND i.value = ?1 LIMIT 1",
  [S_P_INSERT] = "INSERT INTO participants(id, name, ble, irk) VALUES (?1, ?2, ?3, ?4)",
  /* An upsert keeps the IRK when none is given: GET never shows it, so a
   * read-modify-PUT must not erase it. */
  [S_P_UPSERT] = "INSERT INTO participants(id, name, ble, irk) VALUES (?1, ?2, ?3, ?4) "
                 "ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                 "ble = excluded.ble, irk = coalesce(excluded.irk, irk)",
  [S_P_DELETE] = "DELETE FROM participants WHERE id = ?1",
  /* every IRK, to resolve an address no participant has (irk.h) */
  [S_P_IRKS] = "SELECT id, name, irk FROM participants WHERE irk IS NOT NULL UNION ALL "
               "SELECT p.id, p.name, i.value FROM identities i JOIN participants p "
               "ON p.id = i.participant WHERE i.kind = 'irk'",
  [S_P_BY_BEACON] = "SELECT p.id, p.name FROM identities i JOIN participants p "
                    "ON p.id = i.participant WHERE i.kind = 'ibeacon' AND i.value = ?1",
  [S_ID_OWNER] = "SELECT participant FROM identities WHERE kind = ?1 AND value = ?2 "
                 "UNION ALL SELECT id FROM participants WHERE ?1 = 'irk' AND irk = ?2 LIMIT 1",
  [S_ID_HAS] = "SELECT 1 FROM identities WHERE kind = ?1 AND value = ?2",
  [S_ID_ADD] = "INSERT INTO identities(participant, kind, value) VALUES (?1, ?2, ?3)",
  [S_ID_CLEAR] = "DELETE FROM identities WHERE participant = ?1",
  [S_ID_OF] = "SELECT kind, value FROM identities WHERE participant = ?1 ORDER BY kind, value",
  [S_P_ORGANIZES] = "SELECT id FROM meetings WHERE organizer = ?1 ORDER BY id LIMIT 1",
  [S_M_GET] = "SELECT " MEETING_COLS " FROM meetings WHERE id = ?1",
  [S_M_LIST] = "SELECT " MEETING_COLS " FROM meetings ORDER BY start_ms, id",
  [S_M_INSERT] = "INSERT INTO meetings(id, title, room, building, organizer, start_ms, "
                 "end_ms, content_format, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
  [S_M_UPSERT] = "INSERT INTO meetings(id, title, room, building, organizer, start_ms, "
                 "end_ms, content_format, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
                 "ON CONFLICT(id) DO UPDATE SET title = excluded.title, room = excluded.room, "
                 "building = excluded.building, organizer = excluded.organizer, "
                 "start_ms = excluded.start_ms, end_ms = excluded.end_ms, "
                 "content_format = excluded.content_format, content = excluded.content",
  [S_M_DELETE] = "DELETE FROM meetings WHERE id = ?1",
  [S_M_CONTENT] = "SELECT content, content_format FROM meetings WHERE id = ?1",
  [S_I_ADD] = "INSERT OR IGNORE INTO invitations(participant, meeting) VALUES (?1, ?2)",
  [S_I_CLEAR] = "DELETE FROM invitations WHERE meeting = ?1",
  [S_I_OF_MEETING] = "SELECT participant FROM invitations WHERE meeting = ?1 "
                     "ORDER BY participant",
  [S_LOC_IS_BUILDING] = "SELECT 1 FROM meetings WHERE building = ?1 LIMIT 1",
  /* A room's building, from the meetings admitting now in it only (a
   * meeting for tomorrow or one that ended never decides today): a row
   * when the location is such a room, its building NULL when none of
   * them names one; the earliest start first, as the pick orders. */
  [S_ROOM_BUILDING] = "SELECT building FROM meetings WHERE room = ?1 "
                      "AND start_ms - ?2 <= ?3 AND ?3 < end_ms "
                      "ORDER BY building IS NULL, start_ms, id LIMIT 1",
  /* The building rule (README): meetings on now the participant is
   * invited to, in the location's building (or without a building); one
   * in the location's own room first, then the earliest start. */
  [S_AUTH_PICK] = "SELECT m.id, m.room, m.end_ms FROM invitations i JOIN meetings m ON m.id = i.meeting "
                  "WHERE i.participant = ?1 AND m.start_ms - ?2 <= ?3 AND ?3 < m.end_ms "
                  "AND (?4 IS NULL OR m.building IS NULL OR m.building = ?4) "
                  "ORDER BY m.room = ?5 DESC, m.start_ms, m.id LIMIT 1",
  /* Why not: the next meeting that has not ended. */
  [S_AUTH_NEXT] = "SELECT m.id, m.start_ms, m.building FROM invitations i "
                  "JOIN meetings m ON m.id = i.meeting "
                  "WHERE i.participant = ?1 AND m.end_ms > ?2 "
                  "ORDER BY m.start_ms, m.id LIMIT 1",
  [S_AUTH_ANY] = "SELECT 1 FROM invitations WHERE participant = ?1 LIMIT 1",
  /* ?9 NULL: the next id (the largest + 1); else that id (a jump) */
  [S_E_ADD] = "INSERT INTO events(id, time_ms, kind, location, ble, participant, meeting, "
              "decision, detail) VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
  [S_E_PAGE] = "SELECT id, time_ms, kind, location, ble, participant, meeting, decision, "
               "detail FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
  /* Retention works on id ranges of the rowid b-tree: min() and max()
   * are one descent each (as two subqueries; min(id), max(id) in one
   * SELECT would scan), the age test reads only the ids it may delete. */
  [S_E_BOUNDS] = "SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)",
  [S_E_FIRST_NEWER] = "SELECT id FROM events WHERE id BETWEEN ?1 AND ?2 AND time_ms >= ?3 "
                      "ORDER BY id LIMIT 1",
  [S_E_PRUNE] = "DELETE FROM events WHERE id <= ?1",
  [S_COUNTS] = "SELECT (SELECT count(*) FROM participants), (SELECT count(*) FROM meetings), "
               "(SELECT coalesce(max(id), 0) FROM events), "
               "(SELECT coalesce(min(id), 0) FROM events)",
  [S_HEALTH] = "SELECT 1",
};

/* ---- transactions and the event log ----------------------------------- */

/* Delete the oldest events beyond --events-keep, at most limit rows;
 * returns how many went, or -1 after logging a database error.  Only
 * ids are compared: the oldest rows are the first keys of the table's
 * rowid b-tree, so this reads the rows it deletes and a few pages more,
 * never the whole log, and needs no index.  The newest row always stays,
 * so ids keep growing and a reader's since= keeps its meaning.  An age
 * limit takes ids for time order (a clock stepped back keeps some rows
 * longer, never deletes a newer one early). */
static long long events_prune(struct ae *ae, long long limit)
{
  sqlite3_stmt *s = stmt(ae, S_E_BOUNDS);
  long long lo, hi, cut;
  int rc = sqlite3_step(s);

  if (rc != SQLITE_ROW) {
    sqlite3_reset(s);
    goto fail;
  }
  if (sqlite3_column_type(s, 0) == SQLITE_NULL) {    /* no events */
    sqlite3_reset(s);
    return 0;
  }
  lo = sqlite3_column_int64(s, 0);
  hi = sqlite3_column_int64(s, 1);
  sqlite3_reset(s);
  cut = hi - 1 < lo + limit - 1 ? hi - 1 : lo + limit - 1;   /* the last id that may go */
  if (ae->events_keep_rows && hi - ae->events_keep_rows < cut)
    cut = hi - ae->events_keep_rows;
  if (ae->events_keep_ms && cut >= lo) {
    s = stmt(ae, S_E_FIRST_NEWER);
    sqlite3_bind_int64(s, 1, lo);
    sqlite3_bind_int64(s, 2, cut);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)wall_ms() - ae->events_keep_ms);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
      cut = sqlite3_column_int64(s, 0) - 1;
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      goto fail;
  }
  if (cut < lo)
    return 0;
  s = stmt(ae, S_E_PRUNE);
  sqlite3_bind_int64(s, 1, cut);
  if (step_done(s) != SQLITE_DONE)
    goto fail;
  ae->events_pruned += (uint64_t)sqlite3_changes(ae->db);
  return sqlite3_changes(ae->db);
fail:
  log_error("db=%s op=events_prune error=\"%s\"", ae->db_path, sqlite3_errmsg(ae->db));
  return -1;
}

int txn_begin(struct ae *ae, struct jerr *err)
{
  ae->events_added = 0;
  return step_done(stmt(ae, S_BEGIN)) == SQLITE_DONE ? 0 : db_fail(ae, "begin", err);
}

/* Commit when code is 0 (else roll back); returns code, or 500 when the
 * commit failed, so that nothing is answered 2.xx that is not stored.
 * A write that added events trims the log in the same commit; a failed
 * trim is logged and rolled back on its own (SQLite undoes the one
 * statement), and the write still counts. */
int txn_end(struct ae *ae, int code, struct jerr *err)
{
  if (code == 0 && ae->events_added)
    events_prune(ae, ae->events_added + EVENTS_PRUNE_STEP);
  ae->events_added = 0;
  if (code == 0 && step_done(stmt(ae, S_COMMIT)) == SQLITE_DONE)
    return 0;
  if (code == 0)
    code = db_fail(ae, "commit", err);
  if (sqlite3_get_autocommit(ae->db) == 0 && step_done(stmt(ae, S_ROLLBACK)) != SQLITE_DONE)
    log_error("db=%s op=rollback error=\"%s\"", ae->db_path, sqlite3_errmsg(ae->db));
  return code;
}

int event_add(struct ae *ae, const char *kind, const char *location,
                     const char *ble, const char *participant, const char *meeting,
                     const char *decision, const char *detail, struct jerr *err)
{
  sqlite3_stmt *s = stmt(ae, S_E_ADD);

  sqlite3_bind_int64(s, 1, (sqlite3_int64)wall_ms());
  bind_text(s, 2, kind);
  bind_text(s, 3, location);
  bind_text(s, 4, ble);
  bind_text(s, 5, participant);
  bind_text(s, 6, meeting);
  bind_text(s, 7, decision);
  bind_text(s, 8, detail);
  if (ae->id_floor)
    sqlite3_bind_int64(s, 9, ae->id_floor);
  if (step_done(s) != SQLITE_DONE)
    return db_fail(ae, "event", err);
  ae->id_floor = 0;
  ae->events_added++;
  /* outside a transaction (a backup, a restore): trimmed at once */
  if (sqlite3_get_autocommit(ae->db)) {
    events_prune(ae, ae->events_added + EVENTS_PRUNE_STEP);
    ae->events_added = 0;
  }
  return 0;
}

/* A pragma or check whose only good answer is one row "ok". */
int check_ok(sqlite3 *db, const char *sql, char *why, size_t size)
{
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL), rows = 0, ok = 0;

  if (rc != SQLITE_OK) {
    snprintf(why, size, "%s", sqlite3_errmsg(db));
    return -1;
  }
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *t = col_text(s, 0);
    if (rows++ == 0) {
      ok = t && !strcmp(t, "ok");
      snprintf(why, size, "%s", t ? t : "?");
    }
  }
  if (rc != SQLITE_DONE) {
    snprintf(why, size, "%s", sqlite3_errmsg(db));
    ok = 0;
  }
  sqlite3_finalize(s);
  return ok && rows == 1 ? 0 : -1;
}

int user_version(sqlite3 *db, int *v)
{
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);

  if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW)
    *v = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  return rc == SQLITE_ROW ? 0 : -1;
}


/* ---- the event ids readers were given ---------------------------------- */

/* Event ids only grow, across a restore too: a reader follows GET /events
 * with since=, so an id given out twice would be an event it never sees.
 * The highest id ae has given a reader (GET /events, /stats) is written
 * to --backup-dir/events-served before the answer goes out, beside the
 * backups, which outlive a lost database; at start, when the database's
 * last event is below it (restored from a backup, or a database lost
 * without one), the next event takes the id after it. */
#define SERVED_FILE "events-served"

static void served_path(const struct ae *ae, char *buf, size_t size)
{
  snprintf(buf, size, "%s/" SERVED_FILE, ae->backup_dir);
}

/* The recorded high-water mark, 0 when there is none. */
static long long served_read(const struct ae *ae)
{
  char path[PATH_MAX + 32], line[32], *end;
  long long v = 0;
  FILE *f;

  served_path(ae, path, sizeof path);
  if (!(f = fopen(path, "re")))
    return 0;
  if (!fgets(line, sizeof line, f) || (errno = 0, v = strtoll(line, &end, 10)) < 0 ||
      errno || (*end && *end != '\n')) {
    log_warn("file=%s unreadable; event ids continue from the database alone", path);
    v = 0;
  }
  fclose(f);
  return v;
}

/* A reader is about to be given ids up to id: record it first (a fixed
 * width line rewritten in place; fsync'ed with --sync full).  A failure
 * is logged once and does not fail the read. */
void served_upto(struct ae *ae, long long id)
{
  char path[PATH_MAX + 32], line[32];
  int fd, n, ok;

  if (id <= ae->served)
    return;
  served_path(ae, path, sizeof path);
  n = snprintf(line, sizeof line, "%020lld\n", id);
  fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT && mkdir_p(ae->backup_dir) == 0)
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ok = fd >= 0 && pwrite(fd, line, (size_t)n, 0) == n && (!ae->sync_full || fsync(fd) == 0);
  if (fd >= 0)
    close(fd);
  if (!ok) {
    if (!ae->served_warned++)
      log_warn("file=%s cannot record the event ids served (%s): after a restore, "
               "ids could be given out again", path, strerror(errno));
    return;
  }
  if (ae->sync_full && !ae->served)
    fsync_path(ae->backup_dir, 1);
  ae->served = id;
}

/* The database's last event id, 0 when it has none, -1 on error. */
static long long events_last(struct ae *ae)
{
  sqlite3_stmt *s = stmt(ae, S_E_BOUNDS);
  long long v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 1) : -1;

  sqlite3_reset(s);
  return v;
}

/* ---- opening the database ------------------------------------------- */

static int migrate(struct ae *ae)
{
  int v;

  if (user_version(ae->db, &v) < 0)
    return -1;
  for (; v < SCHEMA_VERSION; v++) {
    char *msg = NULL;
    if (sqlite3_exec(ae->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(ae->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(ae->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
      log_error("db=%s migration to version %d failed: %s", ae->db_path, v + 1,
                msg ? msg : "?");
      sqlite3_free(msg);
      sqlite3_exec(ae->db, "ROLLBACK", NULL, NULL, NULL);
      return -1;
    }
    log_info("db=%s schema_version=%d migrated", ae->db_path, v + 1);
  }
  return 0;
}

int db_open(struct ae *ae)
{
  char *msg = NULL;
  const char *setup_sync = ae->sync_full ? "PRAGMA synchronous = FULL"
                                         : "PRAGMA synchronous = NORMAL";

  if (sqlite3_open_v2(ae->db_path, &ae->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK) {
    log_error("db=%s cannot open: %s", ae->db_path,
              ae->db ? sqlite3_errmsg(ae->db) : "out of memory");
    return -1;
  }
  sqlite3_extended_result_codes(ae->db, 1);
  sqlite3_busy_timeout(ae->db, 5000);
  if (sqlite3_exec(ae->db, "PRAGMA journal_mode = WAL", NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(ae->db, "PRAGMA foreign_keys = ON", NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(ae->db, setup_sync, NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(ae->db, "PRAGMA temp_store = MEMORY", NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(ae->db, "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT, NULL, NULL,
                   &msg) != SQLITE_OK) {
    log_error("db=%s setup failed: %s", ae->db_path, msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
  }
  if (migrate(ae) < 0)
    return -1;
  for (int i = 0; i < S_COUNT_OF_STMTS; i++)
    if (sqlite3_prepare_v3(ae->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                           &ae->stmt[i], NULL) != SQLITE_OK) {
      log_error("db=%s cannot prepare statement %d: %s", ae->db_path, i,
                sqlite3_errmsg(ae->db));
      return -1;
    }
  return 0;
}

void db_close(struct ae *ae)
{
  for (int i = 0; i < S_COUNT_OF_STMTS; i++) {
    sqlite3_finalize(ae->stmt[i]);
    ae->stmt[i] = NULL;
  }
  if (ae->db && sqlite3_close(ae->db) != SQLITE_OK)
    log_error("db=%s close: %s", ae->db_path, sqlite3_errmsg(ae->db));
  ae->db = NULL;
}

/* Bring the log within --events-keep before serving (a database from
 * before retention, or a bound lowered since): in steps of their own
 * transactions, so the -wal stays small while millions of rows go. */
int events_prune_backlog(struct ae *ae)
{
  struct jerr err;
  uint64_t t0 = now_ms(), before = ae->events_pruned;
  long long n;

  do {
    if (txn_begin(ae, &err))
      return -1;
    n = events_prune(ae, EVENTS_PRUNE_START_STEP);
    if (txn_end(ae, n < 0 ? 500 : 0, &err))
      return -1;
  } while (n == EVENTS_PRUNE_START_STEP);
  if (ae->events_pruned > before)
    log_info("db=%s events_pruned=%llu ms=%llu (--events-keep)", ae->db_path,
             (unsigned long long)(ae->events_pruned - before),
             (unsigned long long)(now_ms() - t0));
  return 0;
}

/* After the database is open: ids continue above every id a reader was
 * given.  A restore (backup: its path) is an event, whose id is the first
 * of the new ones; ids a reader saw that this database lacks (lost with
 * the database, or with the last commits in a power loss under --sync
 * normal) are skipped, said in the log and, without a restore, by an
 * event "gap". */
int ids_continue(struct ae *ae, const char *backup)
{
  struct jerr err;
  long long last = events_last(ae), served = served_read(ae);
  char detail[96];

  if (last < 0) {
    log_error("db=%s cannot read the event ids: %s", ae->db_path, sqlite3_errmsg(ae->db));
    return -1;
  }
  ae->served = served;
  if (served > last) {
    ae->id_floor = served + 1;
    log_warn("db=%s events %lld..%lld were given to readers and are not in this database; "
             "new events start at id %lld", ae->db_path, last + 1, served, served + 1);
  }
  if (backup) {
    if (event_add(ae, "restore", NULL, NULL, NULL, NULL, NULL, backup, &err))
      log_warn("restore not logged as an event");
  } else if (ae->id_floor) {
    snprintf(detail, sizeof detail, "events %lld..%lld are not in this database",
             last + 1, served);
    if (event_add(ae, "gap", NULL, NULL, NULL, NULL, NULL, detail, &err))
      log_warn("gap not logged as an event");
  }
  return 0;
}

