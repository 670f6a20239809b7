/* backup.c - ae's backups: verified online copies of the database in
 * --backup-dir (at most --backup-keep), and the restore at start.  (The
 * role writes one more at SIGTERM: ae.c's ae_terminate.)
 *
 *   code = backup_write(ae, name, sizeof name, &bytes, &err);   POST /backup
 *   db_start(ae);       open, or restore the newest valid backup first
 *
 * A backup is written under a hidden name, integrity_check'ed, then
 * renamed: a file named like a backup is a sound one.  A missing or
 * corrupt database at start is restored from the newest valid backup; a
 * corrupt one without any is left for a person, and ae does not start.
 */
#include "ae.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BACKUP_NAME_LEN 26        /* "ae-20261127T130000.123Z.db" */

/* ---- files ------------------------------------------------------------ */

int fsync_path(const char *path, int is_dir)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
  int rc;

  if (fd < 0)
    return -1;
  rc = fsync(fd);
  close(fd);
  return rc;
}

static void dir_of(const char *path, char *out, size_t size)
{
  const char *slash = strrchr(path, '/');

  if (!slash)
    snprintf(out, size, ".");
  else if (slash == path)
    snprintf(out, size, "/");
  else
    snprintf(out, size, "%.*s", (int)(slash - path), path);
}

int mkdir_p(const char *dir)
{
  char buf[PATH_MAX];
  struct stat st;

  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
    return -1;
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return -1;
      *p = '/';
    }
  if (mkdir(buf, 0755) < 0 && errno != EEXIST)
    return -1;
  return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* Rename path to path.REASON-TIMESTAMP if it exists (kept for a person
 * to look at, never deleted). */
static void move_aside(const char *path, const char *reason, const char *stamp)
{
  char to[PATH_MAX + 64];

  if (access(path, F_OK) != 0)
    return;
  snprintf(to, sizeof to, "%s.%s-%s", path, reason, stamp);
  if (rename(path, to) == 0)
    log_warn("file=%s moved_to=%s", path, to);
  else
    log_error("file=%s cannot move aside: %s", path, strerror(errno));
}

static void move_db_aside(const char *db_path, const char *reason)
{
  static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
  char stamp[40], path[PATH_MAX + 16];
  time_t t = time(NULL);
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
    snprintf(path, sizeof path, "%s%s", db_path, suffixes[i]);
    move_aside(path, reason, stamp);
  }
}

/* ---- backups ----------------------------------------------------------- */

static void backup_name(uint64_t ms, char *buf, size_t size)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;

  gmtime_r(&t, &tm);
  snprintf(buf, size, "ae-%04d%02d%02dT%02d%02d%02d.%03dZ.db", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static int is_backup_name(const char *name)
{
  size_t n = strlen(name);
  return n == BACKUP_NAME_LEN && !strncmp(name, "ae-", 3) && !strcmp(name + n - 3, ".db");
}

static int cmp_names_desc(const void *a, const void *b)
{
  return strcmp(*(char *const *)b, *(char *const *)a);
}

/* The backups in dir, newest first (their names sort by time). */
static int backup_list(const char *dir, char ***out)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  char **names = NULL;
  int n = 0, cap = 0;

  *out = NULL;
  if (!d)
    return errno == ENOENT ? 0 : -1;
  while ((e = readdir(d))) {
    if (!is_backup_name(e->d_name))
      continue;
    if (n == cap) {
      char **more = realloc(names, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *names);
      if (!more)
        break;
      names = more;
    }
    if (!(names[n] = strdup(e->d_name)))
      break;
    n++;
  }
  closedir(d);
  if (n)
    qsort(names, (size_t)n, sizeof *names, cmp_names_desc);
  *out = names;
  return n;
}

static void names_free(char **names, int n)
{
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static void backup_prune(struct ae *ae)
{
  char **names, path[PATH_MAX + 32];
  int n = backup_list(ae->backup_dir, &names);

  for (int i = ae->backup_keep; i < n; i++) {
    snprintf(path, sizeof path, "%s/%s", ae->backup_dir, names[i]);
    if (unlink(path) == 0)
      log_info("backup=%s pruned", path);
  }
  names_free(names, n > 0 ? n : 0);
}

/* Copy src's main database into a new file at path with the online
 * backup API (readers and the one writer may go on), in rollback-journal
 * mode so the copy is one self-contained file. */
static int copy_database(sqlite3 *src, const char *path, char *why, size_t size)
{
  sqlite3 *dst = NULL;
  sqlite3_backup *b;
  int rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

  if (rc != SQLITE_OK) {
    snprintf(why, size, "open %s: %s", path, dst ? sqlite3_errmsg(dst) : "out of memory");
    sqlite3_close(dst);
    return -1;
  }
  b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) {
    snprintf(why, size, "backup: %s", sqlite3_errmsg(dst));
    sqlite3_close(dst);
    return -1;
  }
  rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    snprintf(why, size, "backup: %s", sqlite3_errstr(rc));
    sqlite3_close(dst);
    return -1;
  }
  if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK ||
      check_ok(dst, "PRAGMA integrity_check", why, size) < 0) {
    if (!*why)
      snprintf(why, size, "%s", sqlite3_errmsg(dst));
    sqlite3_close(dst);
    return -1;
  }
  if (sqlite3_close(dst) != SQLITE_OK) {
    snprintf(why, size, "close failed");
    return -1;
  }
  if (fsync_path(path, 0) < 0) {
    snprintf(why, size, "fsync %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* An online backup into --backup-dir, verified before it counts: written
 * under a hidden temporary name, integrity_check'ed, then renamed. */
int backup_write(struct ae *ae, char *name, size_t name_size, long long *bytes,
                        struct jerr *err)
{
  char tmp[PATH_MAX + 64], path[PATH_MAX + 64], why[256] = "";
  uint64_t ms = wall_ms(), t0 = now_ms();
  struct stat st;

  if (mkdir_p(ae->backup_dir) < 0) {
    log_error("backup_dir=%s cannot create: %s", ae->backup_dir, strerror(errno));
    jerr_set(err, "cannot create the backup directory");
    return 500;
  }
  do {
    backup_name(ms++, name, name_size);
    snprintf(path, sizeof path, "%s/%s", ae->backup_dir, name);
  } while (access(path, F_OK) == 0);
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", ae->backup_dir, name);
  unlink(tmp);
  if (copy_database(ae->db, tmp, why, sizeof why) < 0 || rename(tmp, path) < 0) {
    log_error("backup=%s failed: %s", path, *why ? why : strerror(errno));
    unlink(tmp);
    jerr_set(err, "backup failed");
    return 500;
  }
  fsync_path(ae->backup_dir, 1);
  *bytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
  snprintf(ae->last_backup, sizeof ae->last_backup, "%s", path);
  log_info("backup=%s bytes=%lld ms=%llu integrity=ok", path, *bytes,
           (unsigned long long)(now_ms() - t0));
  backup_prune(ae);
  return 0;
}

/* A backup restores only if it is sound and not from a newer nano. */
static int backup_valid(const char *path, char *why, size_t size)
{
  sqlite3 *db = NULL;
  int v = -1, ok;

  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    snprintf(why, size, "%s", db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return -1;
  }
  ok = check_ok(db, "PRAGMA integrity_check", why, size) == 0 && user_version(db, &v) == 0;
  if (ok && (v < 1 || v > schema_version)) {
    snprintf(why, size, "schema version %d", v);
    ok = 0;
  }
  sqlite3_close(db);
  return ok ? 0 : -1;
}

/* The newest backup in dir that is valid, into path; 0 if found, 1 if
 * there is none. */
static int newest_valid_backup(const char *dir, char *path, size_t size)
{
  char **names, why[256];
  int n = backup_list(dir, &names), rc = 1;

  for (int i = 0; i < n && rc == 1; i++) {
    snprintf(path, size, "%s/%s", dir, names[i]);
    if (backup_valid(path, why, sizeof why) == 0)
      rc = 0;
    else
      log_warn("backup=%s skipped: not valid (%s)", path, why);
  }
  names_free(names, n > 0 ? n : 0);
  return rc;
}

/* Copy the backup to db_path through a temporary file and a rename, so
 * a crash halfway leaves no half database under the real name. */
static int restore_from(const char *backup, const char *db_path)
{
  char tmp[PATH_MAX + 16], why[256] = "", dir[PATH_MAX];
  sqlite3 *src = NULL;
  int ok;

  snprintf(tmp, sizeof tmp, "%s.restore", db_path);
  unlink(tmp);
  ok = sqlite3_open_v2(backup, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
       copy_database(src, tmp, why, sizeof why) == 0 && rename(tmp, db_path) == 0;
  sqlite3_close(src);
  if (!ok) {
    log_error("backup=%s cannot restore: %s", backup, *why ? why : strerror(errno));
    unlink(tmp);
    return -1;
  }
  dir_of(db_path, dir, sizeof dir);
  fsync_path(dir, 1);
  return 0;
}

/* ---- the restore at start -------------------------------------------- */

enum db_state { DB_MISSING, DB_OK, DB_CORRUPT, DB_NEWER };

/* Look at the file before serving from it.  An empty file counts as
 * missing: SQLite would take it for a fresh database and lose nothing
 * visible, while a backup may hold the real data. */
static enum db_state db_inspect(const char *path, char *why, size_t size)
{
  struct stat st;
  sqlite3 *db = NULL;
  int v = 0;
  enum db_state state = DB_OK;

  if (stat(path, &st) < 0 || st.st_size == 0)
    return DB_MISSING;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    snprintf(why, size, "%s", db ? sqlite3_errmsg(db) : "cannot open");
    state = DB_CORRUPT;
  } else if (check_ok(db, "PRAGMA quick_check", why, size) < 0 || user_version(db, &v) < 0) {
    state = DB_CORRUPT;
  } else if (v > schema_version) {
    snprintf(why, size, "schema version %d is newer than this nano's %d", v, schema_version);
    state = DB_NEWER;
  }
  sqlite3_close(db);
  return state;
}


/* Open the database, restoring the newest valid backup first when the
 * file is missing or corrupt (paper Fig. 4: a restarted AE finds its data). */
int db_start(struct ae *ae)
{
  char why[256] = "", backup[PATH_MAX + 32], dir[PATH_MAX];
  enum db_state state;
  int found;

  dir_of(ae->db_path, dir, sizeof dir);
  if (mkdir_p(dir) < 0) {
    log_error("db=%s cannot create directory %s: %s", ae->db_path, dir, strerror(errno));
    return -1;
  }
  state = db_inspect(ae->db_path, why, sizeof why);
  if (state == DB_NEWER) {
    log_error("db=%s %s; refusing to start", ae->db_path, why);
    return -1;
  }
  if (state == DB_CORRUPT)
    log_error("db=%s is corrupt: %s", ae->db_path, why);
  if (state == DB_OK)
    return db_open(ae) < 0 ? -1 : ids_continue(ae, NULL);
  found = newest_valid_backup(ae->backup_dir, backup, sizeof backup) == 0;
  if (state == DB_CORRUPT && !found) {
    /* Left where it is for a person: starting empty would hide the loss. */
    log_error("db=%s corrupt and no valid backup in %s; refusing to start",
              ae->db_path, ae->backup_dir);
    return -1;
  }
  /* A stale -wal next to a replaced file would be replayed into it. */
  move_db_aside(ae->db_path, state == DB_CORRUPT ? "corrupt" : "orphan");
  if (found) {
    if (restore_from(backup, ae->db_path) < 0)
      return -1;
    log_warn("db=%s RESTORED from backup=%s because the database was %s", ae->db_path,
             backup, state == DB_CORRUPT ? "corrupt" : "missing");
  } else {
    log_info("db=%s new database (no backup in %s)", ae->db_path, ae->backup_dir);
  }
  if (db_open(ae) < 0)
    return -1;
  return ids_continue(ae, found ? backup : NULL);
}
