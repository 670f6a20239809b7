/* demo.c - the smart-meeting scenario of the paper on one machine.
 *
 * usage: nano demo [--speed X] [--participants N [--rooms K]] [--within DUR]
 *                  [--net A.B.C] [--port P] [--json] [--keep] [--stay] [--timeout DUR]
 *
 * Starts every role as a child process of this same binary
 * (/proc/self/exe) on loopback addresses NET.1, NET.2, ... (default
 * 127.250.0.x, away from the tests' 127.10-209.N.x): ae with a fresh database
 * in a temp dir seeded with the paper's meeting (Alice organizes; Bob,
 * Carl and David attend; BLE keys AA:BB:CC:DD:EE:01..04; on now in room
 * R1), mcs, ug, one mrs per room, and pd + bs at the entrance and at the
 * room, all with simulated hardware.  Then it plays the scenario over
 * real CoAP: each participant arrives at the entrance (their key
 * advertised to the entrance bs, then motion at its pd), walks the
 * corridor (10 s in the paper, divided by --speed) and reaches the room
 * (their key at the room's bs, motion at its pd).  A stranger, Eve, with
 * a key AE does not know, comes to the entrance too and must be denied.
 * They carry what people carry: Alice a tag with a fixed address; Bob a
 * phone that sends resolvable private addresses from its IRK and rotates
 * while he walks (the room hears an address the door never did); Carl a
 * phone whose address stays the same on his way; David a badge beacon
 * (iBeacon) that ae knows by its UUID/major/minor, not its address.
 *
 * It prints mcs's timeline and, per step, the latency p50/max measured
 * from the moment the demo made the motion (motion -> auth decision ->
 * guidance on -> arrival -> content shown), beside the paper's figures.
 * Exit 0 only if every participant reached the room display (mcs state
 * presenting and listed by the room's mrs) and every stranger was denied,
 * by mcs and in AE's event log.  Every child is stopped (SIGTERM, then
 * SIGKILL after 5 s) and waited for on exit and on Ctrl-C.
 *
 * --participants N replaces the four with N synthetic participants in K
 * meetings (one per room, R1..RK), arriving --within DUR; --json prints
 * the results (latency percentiles, peak RSS of every role from
 * /proc/PID/status VmHWM) for benchmarks.
 *
 * Each mrs serves its room's kiosk page on NET.(9 + room):8080 (its CoAP
 * address, port 8080); the demo prints the URLs.  --stay keeps every role
 * running after the report, so a person can open the page and try more,
 * until Ctrl-C or SIGTERM (then the exit code is the report's).
 */
#include "client.h"
#include "irk.h"
#include "keys.h"
#include "json.h"
#include "loop.h"
#include "nano.h"
#include "role.h"
#include "sightings.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ROOMS 16
#define MAX_CHILDREN (8 + MAX_ROOMS)
#define MAX_PEOPLE 10000
#define PAPER_WALK_MS 10000       /* 14 m of corridor, section V */
#define PAPER_GAP_MS 3000         /* between two arrivals, unscaled */
#define KIOSK_PORT 8080           /* each mrs's page, on its own address */

struct child {
  char label[32];                 /* "ae", "mrs R1", "pd entrance" */
  char host[40];                  /* "127.250.0.1:5683" */
  char *argv[32];
  int argc;
  pid_t pid;
  int done, status;
  long peak_rss_kb;
};

enum carry { CARRY_TAG, CARRY_PHONE_ROTATING, CARRY_PHONE, CARRY_BADGE };

static const char *const carry_names[] = {
  "tag (fixed address)", "phone (IRK; rotates while walking)", "phone (IRK)",
  "badge (iBeacon)"
};

#define DEMO_BADGE_UUID "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0"

struct person {
  char id[32], name[32], ble[24], meeting[16], room[16];
  enum carry carry;
  char irk[33];                   /* a phone's IRK (hex) */
  char sends[24];                 /* the address it advertises from */
  int stranger;
  uint64_t motion_ms;             /* wall ms the demo made the motion */
  uint64_t room_ms;               /* wall ms the key reached the room */
  /* from mcs and mrs at the end (wall ms, 0: never) */
  char state[20];
  uint64_t decided, guidance_on, arrived, shown;
};

static struct {
  /* options */
  double speed;
  int npeople, rooms, json, keep, stay, insecure;
  char net[32];
  unsigned port;
  const char *scheme;         /* "coaps" (DTLS, keys made for the run) or "coap" */
  struct psk admin;           /* the demo speaks to the roles as admin */
  double handshake_ms, request_ms;
  uint64_t gap_ms, walk_ms, timeout_ms;
  const char *log_level;
  /* run */
  char dir[PATH_MAX];
  struct child kids[MAX_CHILDREN];
  int nkids;
  struct person *people;
  int ntotal;                     /* people + strangers */
  coap_context_t *ctx;
  uint64_t t0;                    /* wall ms of the first arrival */
  uint64_t deadline;              /* monotonic */
  int arrivals_sent, room_sent, waiting;
  int collected, failed;
  char failures[8][160];
  int nfailures;
  int exit_code;
  cJSON *timeline;                /* mcs's entries, collected */
  uint64_t tl_since;
  cJSON *ae_events;
  uint64_t ev_since;
  int displays_left;
} D;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
  va_list ap;
  D.failed = 1;
  if (D.nfailures < 8) {
    va_start(ap, fmt);
    vsnprintf(D.failures[D.nfailures++], sizeof D.failures[0], fmt, ap);
    va_end(ap);
  }
}

static uint64_t scaled(uint64_t ms)
{
  double v = (double)ms / D.speed;
  return v < 1 ? 1 : (uint64_t)v;
}

/* ---- children ------------------------------------------------------------ */

static const char *host_of(int n, char *buf, size_t size)
{
  snprintf(buf, size, "%s.%d:%u", D.net, n, D.port);
  return buf;
}

static struct child *child_add(const char *label, int hostnum)
{
  struct child *c = &D.kids[D.nkids++];
  memset(c, 0, sizeof *c);
  snprintf(c->label, sizeof c->label, "%s", label);
  host_of(hostnum, c->host, sizeof c->host);
  return c;
}

static void arg(struct child *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct child *c, const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;

  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  if (c->argc < 31 && s)
    c->argv[c->argc++] = s;
  else
    free(s);
}

static struct child *child_find(const char *label)
{
  for (int i = 0; i < D.nkids; i++)
    if (!strcmp(D.kids[i].label, label))
      return &D.kids[i];
  return NULL;
}

/* The simulated PIR (pd, at host number first) and BLE scanner (bs, at
 * first + 1) of one location, both reporting to mcs. */
static void plan_location(const char *where, int first, const char *mcs)
{
  char label[32];
  struct child *c;

  snprintf(label, sizeof label, "pd %s", where);
  c = child_add(label, first);
  arg(c, "pd"); arg(c, "--listen=%s", c->host); arg(c, "--location=%s", where);
  arg(c, "--sensor=sim"); arg(c, "--mcs=%s", mcs); arg(c, "--node=%s-pir", where);
  arg(c, "--hold=200ms");

  snprintf(label, sizeof label, "bs %s", where);
  c = child_add(label, first + 1);
  arg(c, "bs"); arg(c, "--listen=%s", c->host); arg(c, "--location=%s", where);
  arg(c, "--adapter=sim"); arg(c, "--mcs=%s", mcs);
  if (D.npeople > 256)
    arg(c, "--max-devices=%d", D.npeople + 256);   /* all may be in range at once */
}

/* Every role of the scenario, with the flags that wire them together. */
static void plan_children(void)
{
  char ae[64], mcs[64], ug[64], bs[64], bsr[64], pdr[64], h[48];
  struct child *c;

  snprintf(ae, sizeof ae, "%s://%s", D.scheme, host_of(1, h, sizeof h));
  snprintf(mcs, sizeof mcs, "%s://%s", D.scheme, host_of(2, h, sizeof h));
  snprintf(ug, sizeof ug, "%s://%s", D.scheme, host_of(3, h, sizeof h));
  snprintf(bs, sizeof bs, "%s://%s", D.scheme, host_of(5, h, sizeof h));
  snprintf(pdr, sizeof pdr, "%s://%s", D.scheme, host_of(6, h, sizeof h));
  snprintf(bsr, sizeof bsr, "%s://%s", D.scheme, host_of(7, h, sizeof h));

  c = child_add("ae", 1);
  arg(c, "ae"); arg(c, "--listen=%s", c->host);
  arg(c, "--db=%s/ae.db", D.dir); arg(c, "--backup-dir=%s/backup", D.dir);
  arg(c, "--seed=%s/seed.json", D.dir);

  c = child_add("mcs", 2);
  arg(c, "mcs"); arg(c, "--listen=%s", c->host);
  arg(c, "--ae=%s", ae); arg(c, "--ug=%s", ug); arg(c, "--bs=%s", bs);
  arg(c, "--bs-room=%s", bsr); arg(c, "--pd-room=%s", pdr); arg(c, "--watch=1s");
  if (D.npeople > 4000)
    arg(c, "--max-tracks=%d", D.npeople + 1000);   /* everyone's track to the end */
  for (int r = 1; r <= D.rooms; r++)
    arg(c, "--mrs=R%d=%s://%s", r, D.scheme, host_of(9 + r, h, sizeof h));

  c = child_add("ug", 3);
  arg(c, "ug"); arg(c, "--listen=%s", c->host);
  /* Room r's path: the corridor LEDs 1..3, then LED 3 + r. */
  arg(c, "--leds=sim:1,2,3");
  if (D.npeople > 64)
    arg(c, "--max-guides=%d", D.npeople);
  for (int r = 1; r <= D.rooms; r++)
    arg(c, "--route=R%d=1,2,3", r);

  plan_location("entrance", 4, mcs);
  plan_location("room", 6, mcs);

  for (int r = 1; r <= D.rooms; r++) {
    char label[16];
    snprintf(label, sizeof label, "mrs R%d", r);
    c = child_add(label, 9 + r);
    arg(c, "mrs"); arg(c, "--listen=%s", c->host); arg(c, "--room=R%d", r);
    arg(c, "--ae=%s", ae); arg(c, "--http=%s.%d:%d", D.net, 9 + r, KIOSK_PORT);
  }
  for (int i = 0; i < D.nkids; i++)
    arg(&D.kids[i], "--log-level=%s", D.log_level);
}

static int child_start(struct child *c)
{
  char log[PATH_MAX + 64];
  pid_t parent = getpid();
  int fd;

  snprintf(log, sizeof log, "%s/%s.log", D.dir, c->label);
  for (char *p = log + strlen(D.dir) + 1; *p; p++)
    if (*p == ' ')
      *p = '-';
  fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "demo: %s: %s\n", log, strerror(errno));
    return -1;
  }
  c->pid = fork();
  if (c->pid < 0) {
    close(fd);
    fprintf(stderr, "demo: fork: %s\n", strerror(errno));
    return -1;
  }
  if (c->pid == 0) {
    /* A child must not outlive the demo, even if the demo is killed. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(1);
    /* Out of the terminal's process group: Ctrl-C reaches the demo
     * alone, which then stops every role in order. */
    setpgid(0, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    /* The demo's roles are configured by their flags alone. */
    for (char **e = environ; *e; )
      if (!strncmp(*e, "NANO_", 5)) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(strcspn(*e, "=")), *e);
        unsetenv(name);
        e = environ;
      } else {
        e++;
      }
    c->argv[c->argc] = NULL;
    execv("/proc/self/exe", c->argv);
    fprintf(stderr, "demo: exec: %s\n", strerror(errno));
    _exit(127);
  }
  close(fd);
  return 0;
}

static long vmhwm_kb(pid_t pid)
{
  char path[64], line[256];
  long kb = -1;
  FILE *f;

  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  if (!(f = fopen(path, "r")))
    return -1;
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) {
      kb = strtol(line + 6, NULL, 10);
      break;
    }
  fclose(f);
  return kb;
}

/* Has a child died under us? */
static void children_reap(void)
{
  for (int i = 0; i < D.nkids; i++) {
    struct child *c = &D.kids[i];
    if (c->pid > 0 && !c->done && waitpid(c->pid, &c->status, WNOHANG) == c->pid) {
      c->done = 1;
      fail("%s exited early (status %d); see its log", c->label,
           WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 128 + WTERMSIG(c->status));
    }
  }
}

static void children_stop(void)
{
  uint64_t until;
  int left;

  for (int i = 0; i < D.nkids; i++)
    if (D.kids[i].pid > 0 && !D.kids[i].done) {
      D.kids[i].peak_rss_kb = vmhwm_kb(D.kids[i].pid);
      kill(D.kids[i].pid, SIGTERM);
    }
  until = now_ms() + 5000;
  do {
    left = 0;
    for (int i = 0; i < D.nkids; i++) {
      struct child *c = &D.kids[i];
      if (c->pid <= 0 || c->done)
        continue;
      if (waitpid(c->pid, &c->status, WNOHANG) == c->pid)
        c->done = 1;
      else
        left++;
    }
    if (left)
      usleep(20000);
  } while (left && now_ms() < until);
  for (int i = 0; i < D.nkids; i++) {
    struct child *c = &D.kids[i];
    if (c->pid > 0 && !c->done) {
      fprintf(stderr, "demo: %s did not stop in 5 s; killing it\n", c->label);
      kill(c->pid, SIGKILL);
      waitpid(c->pid, &c->status, 0);
      c->done = 1;
    }
  }
}

/* ---- the scenario's data ------------------------------------------------- */

/* The paper's four carry different things (the file's header). */
static int people_carry(struct person *p, int i)
{
  uint8_t irk[16], rnd[3], addr[6];
  char hex[33];

  p->carry = (enum carry)i;
  if (p->carry == CARRY_BADGE) {
    snprintf(p->sends, sizeof p->sends, "C0:BA:D9:E0:00:%02X", (unsigned)i + 1);
    return 0;
  }
  if (p->carry == CARRY_TAG)
    return 0;
  /* a phone: a fresh IRK for the run, as pairing would make */
  if (getrandom(irk, sizeof irk, 0) != (ssize_t)sizeof irk ||
      getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd ||
      irk_make_rpa(irk, rnd, addr) < 0) {
    fprintf(stderr, "demo: no random bytes for the phones' IRKs\n");
    return -1;
  }
  snprintf(p->irk, sizeof p->irk, "%s", irk_hex(irk, hex));
  wire_ble_format(addr, p->sends);
  return 0;
}

static int people_plan(void)
{
  static const char *const paper[][2] = {
    { "alice", "Alice" }, { "bob", "Bob" }, { "carl", "Carl" }, { "david", "David" }
  };
  int n = D.npeople ? D.npeople : 4;

  D.ntotal = n + 1;
  D.people = calloc((size_t)D.ntotal, sizeof *D.people);
  if (!D.people)
    return -1;
  for (int i = 0; i < n; i++) {
    struct person *p = &D.people[i];
    if (!D.npeople) {
      snprintf(p->id, sizeof p->id, "%s", paper[i][0]);
      snprintf(p->name, sizeof p->name, "%s", paper[i][1]);
      snprintf(p->ble, sizeof p->ble, "AA:BB:CC:DD:EE:%02X", (unsigned)(i + 1) & 0xff);
    } else {
      snprintf(p->id, sizeof p->id, "p%04d", i + 1);
      snprintf(p->name, sizeof p->name, "Participant %d", i + 1);
      snprintf(p->ble, sizeof p->ble, "02:00:00:00:%02X:%02X", (unsigned)((i + 1) >> 8) & 0xff,
               (unsigned)(i + 1) & 0xff);
    }
    snprintf(p->room, sizeof p->room, "R%d", i % D.rooms + 1);
    snprintf(p->meeting, sizeof p->meeting, "m%d", i % D.rooms + 1);
    snprintf(p->sends, sizeof p->sends, "%s", p->ble);
    if (!D.npeople && people_carry(p, i) < 0)
      return -1;
  }
  /* Eve: a key AE has never heard of. */
  struct person *eve = &D.people[n];
  snprintf(eve->id, sizeof eve->id, "eve");
  snprintf(eve->name, sizeof eve->name, "Eve (stranger)");
  snprintf(eve->ble, sizeof eve->ble, "EE:0E:0E:0E:0E:05");
  snprintf(eve->sends, sizeof eve->sends, "%s", eve->ble);
  eve->stranger = 1;
  return 0;
}

static int seed_write(void)
{
  cJSON *root = cJSON_CreateObject();
  cJSON *parts = cJSON_AddArrayToObject(root, "participants");
  cJSON *meetings = cJSON_AddArrayToObject(root, "meetings");
  uint64_t now = wall_ms();
  char path[PATH_MAX + 16], ts[40], *text;
  FILE *f;
  int ok;

  for (int i = 0; i < D.ntotal; i++) {
    const struct person *p = &D.people[i];
    cJSON *o;
    if (p->stranger)
      continue;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "ble", p->ble);
    if (p->irk[0])
      cJSON_AddStringToObject(o, "irk", p->irk);
    if (p->carry == CARRY_BADGE) {
      char beacon[64];
      cJSON *ids = cJSON_AddArrayToObject(o, "identities"), *b = cJSON_CreateObject();
      snprintf(beacon, sizeof beacon, DEMO_BADGE_UUID "/1/%d", (int)(p - D.people) + 1);
      cJSON_AddStringToObject(b, "ibeacon", beacon);
      cJSON_AddItemToArray(ids, b);
    }
    cJSON_AddItemToArray(parts, o);
  }
  for (int r = 1; r <= D.rooms; r++) {
    cJSON *m = cJSON_CreateObject(), *who;
    char id[24], room[24], title[64], content[160];
    const char *organizer = NULL;
    snprintf(id, sizeof id, "m%d", r);
    snprintf(room, sizeof room, "R%d", r);
    snprintf(title, sizeof title, D.npeople ? "Synthetic meeting %d" : "Kickoff", r);
    snprintf(content, sizeof content, "%s: agenda, slides and notes for room %s",
             D.npeople ? title : "Nanoservices at the local IoT edge", room);
    cJSON_AddStringToObject(m, "id", id);
    cJSON_AddStringToObject(m, "title", title);
    cJSON_AddStringToObject(m, "room", room);
    cJSON_AddStringToObject(m, "start", rfc3339(now - 5 * 60000, ts, sizeof ts));
    cJSON_AddStringToObject(m, "end", rfc3339(now + 2 * 3600000, ts, sizeof ts));
    who = cJSON_AddArrayToObject(m, "participants");
    for (int i = 0; i < D.ntotal; i++)
      if (!D.people[i].stranger && !strcmp(D.people[i].room, room)) {
        if (!organizer)
          organizer = D.people[i].id;
        cJSON_AddItemToArray(who, cJSON_CreateString(D.people[i].id));
      }
    cJSON_AddStringToObject(m, "organizer", organizer ? organizer : "");
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddItemToArray(meetings, m);
  }
  text = json_print(root);
  cJSON_Delete(root);
  snprintf(path, sizeof path, "%s/seed.json", D.dir);
  f = fopen(path, "w");
  ok = f && text && fputs(text, f) >= 0;
  if (f && fclose(f) != 0)
    ok = 0;
  free(text);
  if (!ok)
    fprintf(stderr, "demo: cannot write %s\n", path);
  return ok ? 0 : -1;
}

static struct person *person_by_ble(const char *ble)
{
  for (int i = 0; ble && i < D.ntotal; i++)
    if (!strcasecmp(D.people[i].ble, ble) || !strcasecmp(D.people[i].sends, ble))
      return &D.people[i];
  return NULL;
}

static struct person *person_by_id(const char *id)
{
  for (int i = 0; id && i < D.ntotal; i++)
    if (!D.people[i].stranger && !strcmp(D.people[i].id, id))
      return &D.people[i];
  return NULL;
}

/* ---- talking to the roles ----------------------------------------------- */

static void request(const char *label, int method, const char *path, const char *body,
                    client_fn fn, void *a)
{
  struct child *c = child_find(label);
  char uri[160];
  const char *err = NULL;
  struct client_opts o = { 5000, 0, 0, -1 };

  snprintf(uri, sizeof uri, "%s://%s/%s", D.scheme, c->host, path);
  if (!client_request(D.ctx, method, uri, body, body ? strlen(body) : 0, &o, fn, a, &err))
    fn(a, CLIENT_FAILED, NULL, 0);
}

static void expect_ok(void *a, int code, const uint8_t *body, size_t len)
{
  char buf[16];
  (void)body;
  (void)len;
  if (code / 100 != 2)
    fail("%s: %s", (const char *)a, client_code_text(code, buf, sizeof buf));
}

static void motion(const char *pd, int on)
{
  request(pd, COAP_REQUEST_POST, "sim/motion", on ? "{\"motion\":true}" : "{\"motion\":false}",
          expect_ok, (void *)pd);
}

static void motion_off_entrance(void *a) { (void)a; motion("pd entrance", 0); }
static void motion_off_room(void *a) { (void)a; motion("pd room", 0); }

/* What p carries comes in range of bs for ttl_ms.  Bob's phone makes its
 * own addresses at each bs (so the room hears one the door never did) and
 * rotates halfway down the corridor; Carl's keeps the one the demo made. */
static void advertise(const char *bs, const struct person *p, uint64_t ttl_ms, client_fn fn,
                      void *a)
{
  char body[320];
  int n = snprintf(body, sizeof body, "{\"rssi\":-58,\"ttl_ms\":%llu,",
                   (unsigned long long)ttl_ms);

  if (p->carry == CARRY_PHONE_ROTATING)
    snprintf(body + n, sizeof body - (size_t)n,
             "\"irk\":\"%s\",\"rotate_ms\":%llu,\"name\":\"phone\"}", p->irk,
             (unsigned long long)(D.walk_ms / 2 > 100 ? D.walk_ms / 2 : 100));
  else if (p->carry == CARRY_BADGE)
    snprintf(body + n, sizeof body - (size_t)n,
             "\"addr\":\"%s\",\"type\":\"random\",\"name\":\"badge\",\"ibeacon\":"
             "{\"uuid\":\"" DEMO_BADGE_UUID "\",\"major\":1,\"minor\":%d}}", p->sends,
             (int)(p - D.people) + 1);
  else
    snprintf(body + n, sizeof body - (size_t)n, "\"addr\":\"%s\",\"type\":\"%s\","
             "\"name\":\"%s\"}", p->sends, p->carry == CARRY_PHONE ? "random" : "public",
             p->stranger || p->carry == CARRY_PHONE ? "phone" : "ring");
  request(bs, COAP_REQUEST_POST, "sim/adv", body, fn, a);
}

/* The room: the key reaches the room's bs (which tells mcs), and the
 * room's pd sees motion. */
static void reach_room(void *a)
{
  struct person *p = a;
  p->room_ms = wall_ms();
  D.room_sent++;
  /* Long enough for the room's bs to report it; short enough that 1,000
   * participants do not fill bs's table of simulated devices. */
  advertise("bs room", p, 3000, expect_ok, "bs room sim/adv");
  motion("pd room", 1);
  loop_after(100, motion_off_room, NULL);
}

/* The key is in range of the entrance bs: now the PIR sees the person. */
static void entrance_key_seen(void *a, int code, const uint8_t *body, size_t len)
{
  struct person *p = a;
  char buf[16];

  (void)body;
  (void)len;
  if (code / 100 != 2) {
    fail("bs entrance sim/adv: %s", client_code_text(code, buf, sizeof buf));
    return;
  }
  p->motion_ms = wall_ms();
  if (!D.t0)
    D.t0 = p->motion_ms;
  motion("pd entrance", 1);
  loop_after(100, motion_off_entrance, NULL);
  if (!p->stranger)
    loop_after(D.walk_ms, reach_room, p);
}

static void arrive(void *a)
{
  struct person *p = a;
  /* In range of the entrance bs while at the door and the first metres. */
  uint64_t ttl = D.walk_ms > 2000 ? D.walk_ms : 2000;
  D.arrivals_sent++;
  advertise("bs entrance", p, ttl, entrance_key_seen, p);
}

static void schedule_arrivals(void)
{
  int n = D.ntotal - 1;
  /* Eve comes after the second participant (in the middle of the flow). */
  int eve_slot = n >= 2 ? 2 : n;

  for (int i = 0, slot = 0; i < n; i++, slot++) {
    if (slot == eve_slot)
      loop_after(D.gap_ms * (uint64_t)slot++ + 100, arrive, &D.people[n]);
    loop_after(D.gap_ms * (uint64_t)slot + 100, arrive, &D.people[i]);
  }
  if (eve_slot == n)
    loop_after(D.gap_ms * (uint64_t)n + 100, arrive, &D.people[n]);
}

/* ---- collecting the results -------------------------------------------- */

static void finish(int code);
static void collect_start(void);

static uint64_t parse_time(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  int64_t ms;
  return cJSON_IsString(v) && rfc3339_parse(v->valuestring, &ms) == 0 ? (uint64_t)ms : 0;
}

static void on_events(void *a, int code, const uint8_t *body, size_t len)
{
  struct jerr err;
  cJSON *o = code / 100 == 2 ? json_parse_object(body, len, 8 << 20, &err) : NULL;
  const cJSON *ev, *more, *next;
  char uri[64];

  (void)a;
  if (!o) {
    fail("ae /events could not be read");
    finish(1);
    return;
  }
  cJSON_ArrayForEach(ev, cJSON_GetObjectItemCaseSensitive(o, "events"))
    cJSON_AddItemToArray(D.ae_events, cJSON_Duplicate(ev, 1));
  more = cJSON_GetObjectItemCaseSensitive(o, "more");
  next = cJSON_GetObjectItemCaseSensitive(o, "next");
  if (cJSON_IsTrue(more) && cJSON_IsNumber(next) && next->valuedouble > (double)D.ev_since) {
    D.ev_since = (uint64_t)next->valuedouble;
    snprintf(uri, sizeof uri, "events?since=%llu&limit=1000", (unsigned long long)D.ev_since);
    request("ae", COAP_REQUEST_GET, uri, NULL, on_events, NULL);
  } else {
    finish(D.failed);
  }
  cJSON_Delete(o);
}

static void on_timeline(void *a, int code, const uint8_t *body, size_t len)
{
  struct jerr err;
  cJSON *o = code / 100 == 2 ? json_parse_object(body, len, 8 << 20, &err) : NULL;
  const cJSON *e, *last;
  char uri[64];
  int n = 0, more;

  (void)a;
  if (!o) {
    fail("mcs /timeline could not be read");
    finish(1);
    return;
  }
  cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(o, "timeline")) {
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(e, "seq");
    cJSON_AddItemToArray(D.timeline, cJSON_Duplicate(e, 1));
    if (cJSON_IsNumber(seq))
      D.tl_since = (uint64_t)seq->valuedouble;
    n++;
  }
  last = cJSON_GetObjectItemCaseSensitive(o, "last");
  more = n && cJSON_IsNumber(last) && (uint64_t)last->valuedouble > D.tl_since;
  cJSON_Delete(o);
  if (more) {
    snprintf(uri, sizeof uri, "timeline?since=%llu&limit=1000", (unsigned long long)D.tl_since);
    request("mcs", COAP_REQUEST_GET, uri, NULL, on_timeline, NULL);
    return;
  }
  request("ae", COAP_REQUEST_GET, "events?limit=1000", NULL, on_events, NULL);
}

static void on_display(void *a, int code, const uint8_t *body, size_t len)
{
  struct jerr err;
  cJSON *o = code / 100 == 2 ? json_parse_object(body, len, 16 << 20, &err) : NULL;
  const cJSON *att;

  if (!o) {
    fail("%s /display could not be read", (const char *)a);
  } else {
    cJSON_ArrayForEach(att, cJSON_GetObjectItemCaseSensitive(o, "attendees")) {
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(att, "participant");
      struct person *p = person_by_id(cJSON_IsString(id) ? id->valuestring : NULL);
      if (p)
        p->shown = parse_time(att, "shown");
    }
    cJSON_Delete(o);
  }
  if (--D.displays_left == 0)
    request("mcs", COAP_REQUEST_GET, "timeline?since=0&limit=1000", NULL, on_timeline, NULL);
}

static void on_participants(void *a, int code, const uint8_t *body, size_t len)
{
  struct jerr err;
  cJSON *o = code / 100 == 2 ? json_parse_object(body, len, 64 << 20, &err) : NULL;
  const cJSON *t;

  (void)a;
  if (!o) {
    fail("mcs /participants could not be read");
    finish(1);
    return;
  }
  cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(o, "participants")) {
    const cJSON *ble = cJSON_GetObjectItemCaseSensitive(t, "ble");
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(t, "participant");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(t, "state");
    const cJSON *steps = cJSON_GetObjectItemCaseSensitive(t, "steps");
    /* one track per person, whatever address it was heard on last */
    struct person *p = cJSON_IsString(who) ? person_by_id(who->valuestring) :
                       person_by_ble(cJSON_IsString(ble) ? ble->valuestring : NULL);
    if (!p || !cJSON_IsString(state))
      continue;
    snprintf(p->state, sizeof p->state, "%s", state->valuestring);
    p->decided = parse_time(steps, p->stranger ? "denied" : "granted");
    p->guidance_on = parse_time(steps, "guidance_on");
    p->arrived = parse_time(steps, "arrived");
  }
  cJSON_Delete(o);
  D.displays_left = D.rooms;
  for (int r = 1; r <= D.rooms; r++) {
    static char labels[MAX_ROOMS][16];
    snprintf(labels[r - 1], sizeof labels[0], "mrs R%d", r);
    request(labels[r - 1], COAP_REQUEST_GET, "display", NULL, on_display, labels[r - 1]);
  }
}

static void collect_start(void)
{
  if (D.collected)
    return;
  D.collected = 1;
  D.timeline = cJSON_CreateArray();
  D.ae_events = cJSON_CreateArray();
  request("mcs", COAP_REQUEST_GET, "participants", NULL, on_participants, NULL);
}

/* ---- waiting for the flow ----------------------------------------------- */

static void poll_progress(void *a);

static void on_counts(void *a, int code, const uint8_t *body, size_t len)
{
  struct jerr err;
  cJSON *o = code / 100 == 2 ? json_parse_object(body, len, 1 << 20, &err) : NULL;
  const cJSON *counts = o ? cJSON_GetObjectItemCaseSensitive(o, "counts") : NULL;
  const cJSON *pres = cJSON_GetObjectItemCaseSensitive(counts, "presenting");
  const cJSON *den = cJSON_GetObjectItemCaseSensitive(counts, "denied");
  int participants = D.ntotal - 1;

  (void)a;
  D.waiting = 0;
  if (cJSON_IsNumber(pres) && cJSON_IsNumber(den) && D.arrivals_sent == D.ntotal &&
      D.room_sent == participants && pres->valueint >= participants && den->valueint >= 1) {
    cJSON_Delete(o);
    collect_start();
    return;
  }
  cJSON_Delete(o);
  if (now_ms() > D.deadline) {
    fail("not every participant reached the display in time");
    collect_start();
    return;
  }
  loop_after(D.ntotal > 50 ? 250 : 100, poll_progress, NULL);
}

static void poll_progress(void *a)
{
  (void)a;
  children_reap();
  if (D.failed) {
    collect_start();
    return;
  }
  D.waiting = 1;
  request("mcs", COAP_REQUEST_GET, "participants?limit=0", NULL, on_counts, NULL);
}

/* Wait for every role's /health before playing the scenario. */
static int health_left;
static uint64_t health_deadline;
static void health_check(void *a);

static void measure_handshake(void);

static void on_health(void *a, int code, const uint8_t *body, size_t len)
{
  struct child *c = a;
  (void)body;
  (void)len;
  if (code / 100 == 2) {
    if (--health_left == 0)
      measure_handshake();
    return;
  }
  children_reap();
  if (D.failed || now_ms() > health_deadline) {
    fail("%s did not become healthy", c->label);
    finish(1);
    return;
  }
  loop_after(100, health_check, c);
}

/* ---- keys ----------------------------------------------------------------- */

/* The identity a child runs as: what role.c makes of its flags. */
static void child_identity(const struct child *c, char *buf, size_t size)
{
  const char *where = NULL;

  for (int i = 1; i < c->argc; i++)
    if (!strncmp(c->argv[i], "--location=", 11))
      where = c->argv[i] + 11;
    else if (!strncmp(c->argv[i], "--room=", 7))
      where = c->argv[i] + 7;
  role_identity_of(c->argv[0], where, buf, size);
}

/* Throwaway keys for this run: one per role and one for the demo itself
 * (admin), in DIR/keys, which every role is given. */
static int keys_plan(void)
{
  char path[PATH_MAX + 16], id[KEY_ID_MAX + 1], line[KEY_ID_MAX + 2 * KEY_MAX + 2];
  struct psk k;
  FILE *f;
  int fd;

  if (D.insecure) {
    for (int i = 0; i < D.nkids; i++)
      arg(&D.kids[i], "--insecure");
    client_set_psk(NULL, 0);
    return 0;
  }
  snprintf(path, sizeof path, "%s/keys", D.dir);
  fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f || psk_random("admin", 32, &D.admin) < 0) {
    fprintf(stderr, "demo: cannot make keys in %s: %s\n", path, strerror(errno));
    if (f)
      fclose(f);
    else if (fd >= 0)
      close(fd);
    return -1;
  }
  fprintf(f, "%s\n", psk_line(&D.admin, line, sizeof line));
  for (int i = 0; i < D.nkids; i++) {
    child_identity(&D.kids[i], id, sizeof id);
    if (psk_random(id, 32, &k) < 0) {
      fclose(f);
      return -1;
    }
    fprintf(f, "%s\n", psk_line(&k, line, sizeof line));
    arg(&D.kids[i], "--keys=%s", path);
  }
  memset(&k, 0, sizeof k);
  memset(line, 0, sizeof line);
  if (fclose(f) != 0)
    return -1;
  client_set_psk(&D.admin, 0);
  return 0;
}

/* How long a new session's first request takes (the DTLS handshake and
 * the request) beside the next one on it, to ae, before the scenario. */
static double handshake_t0;

static double now_ms_f(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static void start_scenario(void)
{
  schedule_arrivals();
  D.deadline = now_ms() + D.gap_ms * (uint64_t)D.ntotal + D.walk_ms + D.timeout_ms;
  loop_after(100, poll_progress, NULL);
}

static void on_second(void *a, int code, const uint8_t *body, size_t len)
{
  (void)a; (void)body; (void)len;
  D.request_ms = code / 100 == 2 ? now_ms_f() - handshake_t0 : -1;
  start_scenario();
}

static void on_first(void *a, int code, const uint8_t *body, size_t len)
{
  (void)a; (void)body; (void)len;
  D.handshake_ms = code / 100 == 2 ? now_ms_f() - handshake_t0 : -1;
  handshake_t0 = now_ms_f();
  request("ae", COAP_REQUEST_GET, "health", NULL, on_second, NULL);
}

static void measure_handshake(void)
{
  client_reset_sessions();
  handshake_t0 = now_ms_f();
  request("ae", COAP_REQUEST_GET, "health", NULL, on_first, NULL);
}

static void health_check(void *a)
{
  request(((struct child *)a)->label, COAP_REQUEST_GET, "health", NULL, on_health, a);
}

/* ---- reporting ----------------------------------------------------------- */

struct stat_ms { int n; double p50, p99, max; };

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles of the step from..to over the participants
 * that went through both. */
static struct stat_ms step_stat(size_t from, size_t to, int strangers)
{
  struct stat_ms s = { 0, 0, 0, 0 };
  double *v = calloc((size_t)D.ntotal, sizeof *v);

  for (int i = 0; v && i < D.ntotal; i++) {
    const struct person *p = &D.people[i];
    uint64_t a = *(const uint64_t *)((const char *)p + from);
    uint64_t b = *(const uint64_t *)((const char *)p + to);
    if (p->stranger == strangers && a && b)
      v[s.n++] = b >= a ? (double)(b - a) : 0;
  }
  if (s.n) {
    qsort(v, (size_t)s.n, sizeof *v, cmp_double);
    s.p50 = v[(s.n * 50 + 99) / 100 - 1];
    s.p99 = v[(s.n * 99 + 99) / 100 - 1];
    s.max = v[s.n - 1];
  }
  free(v);
  return s;
}

#define F(x) offsetof(struct person, x)

static const struct {
  const char *key, *label;
  size_t from, to;
  int strangers;
} steps[] = {
  { "motion_to_decision", "motion -> auth decision", F(motion_ms), F(decided), 0 },
  { "decision_to_guidance", "auth decision -> guidance on", F(decided), F(guidance_on), 0 },
  { "guidance_to_arrival", "guidance on -> arrival (walk)", F(guidance_on), F(arrived), 0 },
  { "arrival_to_shown", "arrival -> content shown", F(arrived), F(shown), 0 },
  { "motion_to_guidance", "motion -> guidance on", F(motion_ms), F(guidance_on), 0 },
  { "motion_to_shown", "motion -> content shown", F(motion_ms), F(shown), 0 },
  { "motion_to_denied", "stranger: motion -> denied", F(motion_ms), F(decided), 1 },
};

static int eve_logged_by_ae(void)
{
  const struct person *eve = &D.people[D.ntotal - 1];
  const cJSON *e;
  int n = 0;

  cJSON_ArrayForEach(e, D.ae_events) {
    const cJSON *ble = cJSON_GetObjectItemCaseSensitive(e, "ble");
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(e, "decision");
    if (cJSON_IsString(ble) && !strcasecmp(ble->valuestring, eve->ble) &&
        cJSON_IsString(dec) && !strcmp(dec->valuestring, "denied"))
      n++;
  }
  return n;
}

static const char *who_of(const cJSON *e, char *buf, size_t size)
{
  const cJSON *who = cJSON_GetObjectItemCaseSensitive(e, "who");
  const cJSON *ble = cJSON_GetObjectItemCaseSensitive(e, "ble");
  const struct person *p;

  if (cJSON_IsString(who) && *who->valuestring) {
    p = person_by_id(who->valuestring);
    snprintf(buf, size, "%s", p ? p->name : who->valuestring);
  } else if (cJSON_IsString(ble) && (p = person_by_ble(ble->valuestring))) {
    snprintf(buf, size, "%s", p->name);
  } else {
    snprintf(buf, size, "%s", cJSON_IsString(ble) ? ble->valuestring : "");
  }
  return buf;
}

static void print_timeline(void)
{
  const cJSON *e;
  int n = 0, total = cJSON_GetArraySize(D.timeline), limit = D.ntotal <= 12 ? 400 : 40;
  char who[64];

  printf("\nTimeline (mcs GET /timeline; times from the first motion):\n");
  cJSON_ArrayForEach(e, D.timeline) {
    uint64_t t = parse_time(e, "time");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(e, "event");
    const cJSON *detail = cJSON_GetObjectItemCaseSensitive(e, "detail");
    if (++n > limit)
      break;
    printf("  %+8.3fs  %-16s %-16s %s\n", t >= D.t0 ? (double)(t - D.t0) / 1000 :
           -(double)(D.t0 - t) / 1000, who_of(e, who, sizeof who),
           cJSON_IsString(ev) ? ev->valuestring : "?",
           cJSON_IsString(detail) ? detail->valuestring : "");
  }
  if (total > limit)
    printf("  ... %d more entries\n", total - limit);
}

static void print_ms(double ms)
{
  if (ms >= 10000)
    printf(" %9.1f s", ms / 1000);
  else
    printf(" %8.0f ms", ms);
}

static void print_report(int eve_events)
{
  int participants = D.ntotal - 1, presenting = 0, shown = 0;

  for (int i = 0; i < participants; i++) {
    presenting += !strcmp(D.people[i].state, "presenting");
    shown += D.people[i].shown != 0;
  }
  if (D.ntotal <= 400)
    print_timeline();
  if (D.insecure)
    printf("\nPlain CoAP (--insecure): a new session's first request to ae %.2f ms, "
           "the next %.2f ms\n", D.handshake_ms, D.request_ms);
  else
    printf("\nDTLS 1.2 with pre-shared keys: a new session's handshake and first "
           "request to ae %.2f ms, the next request %.2f ms\n", D.handshake_ms, D.request_ms);
  printf("\nLatency per step (from the demo's motion event; walk scaled by --speed %g):\n",
         D.speed);
  printf("  %-32s %11s %11s %11s %6s\n", "step", "p50", "p99", "max", "n");
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    struct stat_ms s = step_stat(steps[i].from, steps[i].to, steps[i].strangers);
    printf("  %-32s", steps[i].label);
    if (!s.n) {
      printf(" %11s %11s %11s %6d\n", "-", "-", "-", 0);
      continue;
    }
    print_ms(s.p50);
    print_ms(s.p99);
    print_ms(s.max);
    printf(" %6d\n", s.n);
  }
  printf("  paper (Table V, hardware): presence detection 1.95 s, BLE authentication 2.75 s,\n"
         "  walk 10 s: entrance to meeting within 15 s.\n");
  printf("\nPeak RSS (VmHWM) per role:");
  for (int i = 0; i < D.nkids; i++)
    printf("%s %s %ld kB", i ? "," : "", D.kids[i].label, D.kids[i].peak_rss_kb);
  printf("\n\nResult: %d/%d participants presenting, %d/%d on their room's display; "
         "stranger %s by mcs, %d denial(s) in AE's log.\n", presenting, participants, shown,
         participants, !strcmp(D.people[participants].state, "denied") ? "denied" : "NOT denied",
         eve_events);
  for (int i = 0; i < D.nfailures; i++)
    printf("FAILED: %s\n", D.failures[i]);
  if (D.failed || presenting < participants || shown < participants)
    for (int i = 0, shownbad = 0; i < participants && shownbad < 10; i++)
      if (strcmp(D.people[i].state, "presenting") || !D.people[i].shown) {
        printf("  %s (%s): state %s%s\n", D.people[i].name, D.people[i].ble,
               D.people[i].state[0] ? D.people[i].state : "never seen",
               D.people[i].shown ? "" : ", not on the display");
        shownbad++;
      }
}

static void print_json(int eve_events, int ok)
{
  cJSON *o = cJSON_CreateObject(), *lat, *rss, *fails;
  int participants = D.ntotal - 1, presenting = 0, shown = 0;
  char *s;

  for (int i = 0; i < participants; i++) {
    presenting += !strcmp(D.people[i].state, "presenting");
    shown += D.people[i].shown != 0;
  }
  cJSON_AddBoolToObject(o, "ok", ok);
  cJSON_AddNumberToObject(o, "participants", participants);
  cJSON_AddNumberToObject(o, "rooms", D.rooms);
  cJSON_AddBoolToObject(o, "dtls", !D.insecure);
  cJSON_AddNumberToObject(o, "first_request_ms", D.handshake_ms);
  cJSON_AddNumberToObject(o, "next_request_ms", D.request_ms);
  cJSON_AddNumberToObject(o, "speed", D.speed);
  cJSON_AddNumberToObject(o, "presenting", presenting);
  cJSON_AddNumberToObject(o, "on_display", shown);
  cJSON_AddStringToObject(o, "stranger_state", D.people[participants].state);
  cJSON_AddNumberToObject(o, "stranger_denials_logged", eve_events);
  lat = cJSON_AddObjectToObject(o, "latency_ms");
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    struct stat_ms st = step_stat(steps[i].from, steps[i].to, steps[i].strangers);
    cJSON *j = cJSON_AddObjectToObject(lat, steps[i].key);
    cJSON_AddNumberToObject(j, "n", st.n);
    cJSON_AddNumberToObject(j, "p50", st.p50);
    cJSON_AddNumberToObject(j, "p99", st.p99);
    cJSON_AddNumberToObject(j, "max", st.max);
  }
  rss = cJSON_AddObjectToObject(o, "peak_rss_kb");
  for (int i = 0; i < D.nkids; i++)
    cJSON_AddNumberToObject(rss, D.kids[i].label, (double)D.kids[i].peak_rss_kb);
  fails = cJSON_AddArrayToObject(o, "failures");
  for (int i = 0; i < D.nfailures; i++)
    cJSON_AddItemToArray(fails, cJSON_CreateString(D.failures[i]));
  cJSON_AddStringToObject(o, "logs", D.dir);
  s = cJSON_PrintUnformatted(o);
  printf("%s\n", s ? s : "{}");
  free(s);
  cJSON_Delete(o);
}

static void finish(int code)
{
  D.exit_code = code ? 1 : 0;
  loop_stop(D.exit_code);
}

static int verdict(int *eve_events)
{
  int participants = D.ntotal - 1;
  int ok = !D.failed;

  *eve_events = eve_logged_by_ae();
  for (int i = 0; i < participants; i++)
    if (strcmp(D.people[i].state, "presenting") || !D.people[i].shown)
      ok = 0;
  if (strcmp(D.people[participants].state, "denied") || *eve_events < 1)
    ok = 0;
  return ok;
}

/* ---- setup --------------------------------------------------------------- */

static void remove_dir(const char *dir)
{
  char cmd[PATH_MAX + 32];
  pid_t pid;
  /* Only our own mkdtemp directory, by its exact name. */
  if (strncmp(dir, "/tmp/nano-demo.", 15) && !strstr(dir, "/nano-demo."))
    return;
  snprintf(cmd, sizeof cmd, "%s", dir);
  pid = fork();
  if (pid == 0) {
    execl("/bin/rm", "rm", "-rf", "--", cmd, (char *)NULL);
    _exit(127);
  }
  if (pid > 0)
    waitpid(pid, NULL, 0);
}

/* --stay: the roles keep running until Ctrl-C or SIGTERM. */
static void stay(void)
{
  if (!D.json) {
    printf("The roles keep running (--stay); the kiosk page of R1 is http://%s.10:%d/ .\n"
           "Ctrl-C stops them.\n", D.net, KIOSK_PORT);
    fflush(stdout);
  }
  loop_continue();
  loop_run();
  fprintf(stderr, "demo: stopping the roles\n");
  children_stop();
}

static const char demo_usage[] =
  "usage: nano demo [--speed X] [--participants N [--rooms K]] [--within DUR]\n"
  "                 [--net A.B.C] [--port P] [--json] [--keep] [--stay] [--timeout DUR]\n"
  "                 [--insecure]\n"
  "The paper's smart-meeting scenario with every role as a process on loopback.\n"
  "Each room's display is a web page: http://NET.10:8080/ for R1 (printed).";

static int configure(struct opt *opts)
{
  const char *v;
  char *end;
  long n;
  long long within = -1, timeout;

  v = opt_str(opts, "speed");
  D.speed = strtod(v, &end);
  if (*end || !(D.speed >= 0.01 && D.speed <= 10000)) {
    fprintf(stderr, "demo: --speed must be a number from 0.01 to 10000\n");
    return -1;
  }
  n = strtol(opt_str(opts, "participants"), &end, 10);
  if (*end || n < 0 || n > MAX_PEOPLE) {
    fprintf(stderr, "demo: --participants must be 0 (the paper's four) to %d\n", MAX_PEOPLE);
    return -1;
  }
  D.npeople = (int)n;
  n = strtol(opt_str(opts, "rooms"), &end, 10);
  if (*end || n < 1 || n > MAX_ROOMS || (!D.npeople && n != 1) || (D.npeople && n > D.npeople)) {
    fprintf(stderr, "demo: --rooms must be 1..%d (and 1 for the paper's scenario)\n",
            MAX_ROOMS);
    return -1;
  }
  D.rooms = (int)n;
  v = opt_str(opts, "net");
  {
    unsigned a, b, c;
    char extra;
    if (sscanf(v, "%u.%u.%u%c", &a, &b, &c, &extra) != 3 || a != 127 || b > 255 || c > 255) {
      fprintf(stderr, "demo: --net must be a loopback prefix such as 127.250.0\n");
      return -1;
    }
    snprintf(D.net, sizeof D.net, "%u.%u.%u", a, b, c);
  }
  D.insecure = opt_bool(opts, "insecure");
  D.scheme = D.insecure ? "coap" : "coaps";
  n = strtol(opt_str(opts, "port") ? opt_str(opts, "port") : D.insecure ? "5683" : "5684",
             &end, 10);
  if (*end || n < 1 || n > 65535) {
    fprintf(stderr, "demo: --port must be 1..65535\n");
    return -1;
  }
  D.port = (unsigned)n;
  if (opt_str(opts, "within") && (within = parse_duration_ms(opt_str(opts, "within"))) < 0) {
    fprintf(stderr, "demo: --within: bad duration\n");
    return -1;
  }
  if (opt_duration(opts, "timeout", &timeout) < 0)
    return -1;
  D.timeout_ms = (uint64_t)timeout;
  D.json = opt_bool(opts, "json");
  D.keep = opt_bool(opts, "keep");
  D.stay = opt_bool(opts, "stay");
  D.log_level = opt_str(opts, "log-level");
  if (log_level_parse(D.log_level) < 0) {
    fprintf(stderr, "demo: --log-level must be error, warn, info or debug\n");
    return -1;
  }
  D.walk_ms = scaled(PAPER_WALK_MS);
  /* --within spreads all arrivals (stranger included) over DUR, as is. */
  D.gap_ms = within >= 0 ? (uint64_t)within / (uint64_t)(D.npeople ? D.npeople + 1 : 5) :
             scaled(PAPER_GAP_MS);
  return 0;
}

int cmd_demo(int argc, char **argv)
{
  struct opt opts[] = {
    { "speed", OPT_STR, "4", "time runs this many times faster than in the paper (walk 10 s / X)" },
    { "participants", OPT_STR, "0", "N synthetic participants instead of the paper's four" },
    { "rooms", OPT_STR, "1", "synthetic: K meetings, one per room R1..RK, each with its mrs" },
    { "within", OPT_STR, NULL, "all arrivals within this time (default: one every 3 s / speed)" },
    { "net", OPT_STR, "127.250.0", "loopback prefix: roles listen on NET.1, NET.2, ..." },
    { "port", OPT_STR, NULL, "CoAP port of every role (5684 for DTLS, 5683 with --insecure)" },
    { "insecure", OPT_BOOL, NULL, "plain CoAP, no keys (the default makes keys and runs DTLS)" },
    { "timeout", OPT_STR, "20s", "wait this long after the last expected arrival" },
    { "json", OPT_BOOL, NULL, "print the results as one JSON object" },
    { "keep", OPT_BOOL, NULL, "keep the temp dir (logs, database) even on success" },
    { "stay", OPT_BOOL, NULL, "keep the roles running after the report (open the kiosk page), until Ctrl-C" },
    { "log-level", OPT_STR, "info", "log level of the roles (their logs are in the temp dir)" },
    { 0 }
  };
  int npos = opt_parse(opts, argc, argv, demo_usage), ok = 0, eve_events = 0;
  char self[PATH_MAX];

  if (npos == -2)
    return 0;
  if (npos != 0) {
    if (npos > 0)
      fprintf(stderr, "demo: unexpected argument '%s'\n", argv[1]);
    return 2;
  }
  log_init("demo", NLOG_WARN);
  if (configure(opts) < 0 || readlink("/proc/self/exe", self, sizeof self) < 0) {
    opt_free(opts);
    return 2;
  }
  for (const char *const *r = (const char *const[]){ "ae", "mcs", "ug", "pd", "bs", "mrs", NULL };
       *r; r++)
    if (!applet_find(*r)) {
      fprintf(stderr, "demo: this nano has no '%s' role (nano --list)\n", *r);
      opt_free(opts);
      return 1;
    }
  snprintf(D.dir, sizeof D.dir, "%s/nano-demo.XXXXXX",
           getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(D.dir)) {
    fprintf(stderr, "demo: mkdtemp: %s\n", strerror(errno));
    opt_free(opts);
    return 1;
  }
  if (people_plan() < 0 || !D.people || seed_write() < 0) {
    remove_dir(D.dir);
    opt_free(opts);
    return 1;
  }
  D.ctx = client_context_new();
  if (!D.ctx) {
    remove_dir(D.dir);
    opt_free(opts);
    return 1;
  }
  plan_children();
  if (keys_plan() < 0) {
    remove_dir(D.dir);
    opt_free(opts);
    return 1;
  }
  if (!D.json) {
    printf("nano demo: %d participant%s and 1 stranger, %d room%s, speed x%g "
           "(walk %.1f s); logs in %s\n", D.ntotal - 1, D.ntotal == 2 ? "" : "s", D.rooms,
           D.rooms == 1 ? "" : "s", D.speed, (double)D.walk_ms / 1000, D.dir);
    fflush(stdout);
  }
  for (int i = 0; i < D.nkids; i++) {
    if (child_start(&D.kids[i]) < 0) {
      fail("%s could not be started", D.kids[i].label);
      break;
    }
    if (!D.json)
      printf("  %-12s %s://%-22s pid %d\n", D.kids[i].label, D.scheme, D.kids[i].host,
             (int)D.kids[i].pid);
  }
  if (!D.json && !D.npeople)
    for (int i = 0; i < D.ntotal; i++)
      printf("  %-16s carries a %s, sending from %s\n", D.people[i].name,
             D.people[i].stranger ? "phone ae does not know" : carry_names[D.people[i].carry],
             D.people[i].carry == CARRY_PHONE_ROTATING ? "fresh addresses made by bs's sim"
                                                       : D.people[i].sends);
  if (!D.json && !D.failed)
    for (int r = 1; r <= D.rooms; r++)
      printf("  kiosk R%-5d http://%s.%d:%d/\n", r, D.net, 9 + r, KIOSK_PORT);
  fflush(stdout);
  if (!D.failed) {
    health_deadline = now_ms() + 15000;
    health_left = D.nkids;
    for (int i = 0; i < D.nkids; i++)
      loop_after(50, health_check, &D.kids[i]);
    loop_run();
  }
  if (loop_stopped_by_signal()) {
    fprintf(stderr, "demo: interrupted; stopping the roles\n");
    children_stop();
    D.exit_code = 128 + loop_stopped_by_signal();   /* 130 on Ctrl-C */
  } else {
    if (!D.stay)
      children_stop();
    else
      for (int i = 0; i < D.nkids; i++)
        if (D.kids[i].pid > 0 && !D.kids[i].done)
          D.kids[i].peak_rss_kb = vmhwm_kb(D.kids[i].pid);
    if (D.collected && D.timeline) {
      ok = verdict(&eve_events);
      if (D.json)
        print_json(eve_events, ok);
      else
        print_report(eve_events);
    } else if (D.json) {
      print_json(0, 0);
    } else {
      for (int i = 0; i < D.nfailures; i++)
        printf("FAILED: %s\n", D.failures[i]);
    }
    D.exit_code = ok ? 0 : 1;
    if (D.stay)
      stay();
  }
  if (D.exit_code == 0 && !D.keep)
    remove_dir(D.dir);
  else if (!D.json)
    printf("Logs and database kept in %s\n", D.dir);
  cJSON_Delete(D.timeline);
  cJSON_Delete(D.ae_events);
  client_context_free(D.ctx);
  for (int i = 0; i < D.nkids; i++)
    for (int j = 0; j < D.kids[i].argc; j++)
      free(D.kids[i].argv[j]);
  free(D.people);
  opt_free(opts);
  return D.exit_code;
}
