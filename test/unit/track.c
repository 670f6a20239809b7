/* track.c - unit tests of mcs's track state machine (applets/mcs/track.c):
 * every transition of the table, that every other event leaves a state
 * as it is, the guards on time (visit gaps, expiry) with the time passed
 * in, and whole visits walked through the table: late arrivals, re-asks
 * in another room, two addresses of one person, restarts of ug and mrs,
 * refusals and the end of a meeting. */
#include "mcs/track.h"
#include "tap.h"

#define ARRIVE (A_STOP_GUIDANCE | A_PRESENT)

/* The table as the flow reads it, written out cell by cell. */
static const struct expect {
  enum state from;
  enum event e;
  enum state to;
  unsigned action;
} expected[] = {
  /* a new track: at the entrance, or in a room (asked about there) */
  { S_NONE, E_ENTRANCE_AFTER_GAP, S_DETECTED, A_NEW_VISIT },
  { S_NONE, E_ROOM_UNKNOWN, S_DETECTED, A_NEW_VISIT },
  /* the entrance: detected by the scan, then asked about */
  { S_DETECTED, E_SCANNED, S_SCANNING, A_NONE },
  { S_DETECTED, E_ASKED, S_AUTHENTICATING, A_ASK_AE },
  { S_SCANNING, E_ASKED, S_AUTHENTICATING, A_ASK_AE },
  /* seen in a room before ae answered: remembered for the grant */
  { S_DETECTED, E_ROOM_UNKNOWN, S_SAME, A_NOTE_ROOM },
  { S_DETECTED, E_ROOM_UNKNOWN_AGAIN, S_SAME, A_NOTE_ROOM },
  { S_DETECTED, E_ROOM_THEIRS, S_SAME, A_NOTE_ROOM },
  { S_DETECTED, E_ROOM_ELSEWHERE, S_SAME, A_NOTE_ROOM },
  { S_DETECTED, E_ROOM_ELSEWHERE_AGAIN, S_SAME, A_NOTE_ROOM },
  { S_SCANNING, E_ROOM_UNKNOWN, S_SAME, A_NOTE_ROOM },
  { S_SCANNING, E_ROOM_UNKNOWN_AGAIN, S_SAME, A_NOTE_ROOM },
  { S_SCANNING, E_ROOM_THEIRS, S_SAME, A_NOTE_ROOM },
  { S_SCANNING, E_ROOM_ELSEWHERE, S_SAME, A_NOTE_ROOM },
  { S_SCANNING, E_ROOM_ELSEWHERE_AGAIN, S_SAME, A_NOTE_ROOM },
  { S_AUTHENTICATING, E_ROOM_UNKNOWN, S_SAME, A_NOTE_ROOM },
  { S_AUTHENTICATING, E_ROOM_UNKNOWN_AGAIN, S_SAME, A_NOTE_ROOM },
  { S_AUTHENTICATING, E_ROOM_THEIRS, S_SAME, A_NOTE_ROOM },
  { S_AUTHENTICATING, E_ROOM_ELSEWHERE, S_SAME, A_NOTE_ROOM },
  { S_AUTHENTICATING, E_ROOM_ELSEWHERE_AGAIN, S_SAME, A_NOTE_ROOM },
  /* ae's answers */
  { S_AUTHENTICATING, E_GRANTED, S_GUIDING, A_GUIDE },
  { S_AUTHENTICATING, E_GRANTED_IN_ROOM, S_ARRIVED, ARRIVE },
  { S_AUTHENTICATING, E_GRANTED_PRESENTED, S_PRESENTING, A_NONE },
  { S_AUTHENTICATING, E_DENIED, S_DENIED, A_NONE },
  { S_AUTHENTICATING, E_AE_FAILED, S_DENIED, A_NONE },
  { S_AUTHENTICATING, E_AE_TIMEOUT, S_EXPIRED, A_NONE },
  { S_AUTHENTICATING, E_NOT_HERE, S_BACK, A_NONE },
  /* guiding: arrival, a re-ask in another room, expiry, a lost guidance */
  { S_GUIDING, E_ROOM_THEIRS, S_ARRIVED, ARRIVE },
  { S_GUIDING, E_ROOM_ELSEWHERE, S_AUTHENTICATING, A_REASK | A_ASK_AE },
  { S_GUIDING, E_MERGED_IN_ROOM, S_ARRIVED, ARRIVE },
  { S_GUIDING, E_GUIDANCE_OVERDUE, S_EXPIRED, A_STOP_GUIDANCE },
  { S_GUIDING, E_GUIDANCE_LOST, S_SAME, A_GUIDE },
  { S_GUIDING, E_MEETING_OVER, S_ENDED, A_STOP_GUIDANCE | A_CANCEL_PRESENT },
  /* arrived: mrs's answers, a restarted mrs, the end of the meeting */
  { S_ARRIVED, E_SHOWN, S_PRESENTING, A_NONE },
  { S_ARRIVED, E_PENDING, S_SAME, A_PRESENT_LATER },
  { S_ARRIVED, E_PENDING_OVERDUE, S_EXPIRED, A_NONE },
  { S_ARRIVED, E_RECHECK_DUE, S_SAME, A_PRESENT },
  { S_ARRIVED, E_MRS_REFUSED, S_REFUSED, A_NONE },
  { S_ARRIVED, E_MRS_FAILED, S_EXPIRED, A_NONE },
  { S_ARRIVED, E_MRS_RESTARTED, S_SAME, A_PRESENT },
  { S_ARRIVED, E_MEETING_OVER, S_ENDED, A_CANCEL_PRESENT },
  /* presenting */
  { S_PRESENTING, E_MRS_REFUSED, S_REFUSED, A_NONE },
  { S_PRESENTING, E_MRS_RESTARTED, S_SAME, A_PRESENT },
  { S_PRESENTING, E_MEETING_OVER, S_ENDED, A_CANCEL_PRESENT },
  /* a visit at rest: the next one begins after --visit-gap */
  { S_PRESENTING, E_ENTRANCE_AFTER_GAP, S_DETECTED, A_NEW_VISIT },
  { S_PRESENTING, E_ROOM_UNKNOWN, S_DETECTED, A_NEW_VISIT },
  { S_PRESENTING, E_SAME_PERSON_AFTER_GAP, S_AUTHENTICATING, A_TAKE_VISIT },
  { S_DENIED, E_ENTRANCE_AFTER_GAP, S_DETECTED, A_NEW_VISIT },
  { S_DENIED, E_ROOM_UNKNOWN, S_DETECTED, A_NEW_VISIT },
  { S_DENIED, E_SAME_PERSON_AFTER_GAP, S_AUTHENTICATING, A_TAKE_VISIT },
  { S_DENIED, E_SAME_PERSON_FROM_ROOM, S_AUTHENTICATING, A_TAKE_VISIT },
  { S_EXPIRED, E_ENTRANCE_AFTER_GAP, S_DETECTED, A_NEW_VISIT },
  { S_EXPIRED, E_ROOM_UNKNOWN, S_DETECTED, A_NEW_VISIT },
  { S_EXPIRED, E_SAME_PERSON_AFTER_GAP, S_AUTHENTICATING, A_TAKE_VISIT },
  { S_EXPIRED, E_SAME_PERSON_FROM_ROOM, S_AUTHENTICATING, A_TAKE_VISIT },
  { S_REFUSED, E_ENTRANCE_AFTER_GAP, S_DETECTED, A_NEW_VISIT },
  { S_REFUSED, E_ROOM_UNKNOWN, S_DETECTED, A_NEW_VISIT },
  { S_REFUSED, E_SAME_PERSON_AFTER_GAP, S_AUTHENTICATING, A_TAKE_VISIT },
  { S_REFUSED, E_SAME_PERSON_FROM_ROOM, S_AUTHENTICATING, A_TAKE_VISIT },
  { S_ENDED, E_ENTRANCE_AFTER_GAP, S_DETECTED, A_NEW_VISIT },
  { S_ENDED, E_ROOM_UNKNOWN, S_DETECTED, A_NEW_VISIT },
  { S_ENDED, E_SAME_PERSON_AFTER_GAP, S_AUTHENTICATING, A_TAKE_VISIT },
  { S_ENDED, E_SAME_PERSON_FROM_ROOM, S_AUTHENTICATING, A_TAKE_VISIT },
  /* expired is late, not gone: the room still counts */
  { S_EXPIRED, E_ROOM_THEIRS, S_ARRIVED, ARRIVE },
  { S_EXPIRED, E_ROOM_ELSEWHERE, S_AUTHENTICATING, A_REASK | A_ASK_AE },
  /* ug lit guidance the visit no longer wants: off again */
  { S_DETECTED, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_SCANNING, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_AUTHENTICATING, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_ARRIVED, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_PRESENTING, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_DENIED, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_EXPIRED, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_REFUSED, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_ENDED, E_GUIDE_ACKED, S_SAME, A_UNGUIDE },
  { S_DETECTED, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
  { S_SCANNING, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
  { S_AUTHENTICATING, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
  { S_ARRIVED, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
  { S_PRESENTING, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
  { S_DENIED, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
  { S_EXPIRED, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
  { S_REFUSED, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
  { S_ENDED, E_GUIDANCE_STALE, S_SAME, A_UNGUIDE },
};
#define NEXPECTED (int)(sizeof expected / sizeof expected[0])

static const char *name_of(enum state s)
{
  return s == S_SAME ? "same" : s == S_BACK ? "back" : s <= S_NONE ? state_names[s] : "?";
}

/* Every cell of the table: the one expected, or staying with nothing done. */
static void test_table(void)
{
  for (int i = 0; i < NEXPECTED; i++) {
    const struct expect *x = &expected[i];
    struct transition tr = track_next(x->from, x->e);
    ok(tr.to == x->to && tr.action == x->action, "%s --%s--> %s (actions 0x%x)",
       name_of(x->from), event_names[x->e], name_of(x->to), x->action);
    if (tr.to != x->to || tr.action != x->action)
      printf("#   got %s, actions 0x%x\n", name_of(tr.to), tr.action);
  }
  for (int s = 0; s <= S_NONE; s++) {
    int others = 0, moved = 0;
    for (int e = 0; e < E_COUNT; e++) {
      int listed = 0;
      for (int i = 0; i < NEXPECTED; i++)
        listed |= expected[i].from == (enum state)s && expected[i].e == (enum event)e;
      if (listed)
        continue;
      struct transition tr = track_next((enum state)s, (enum event)e);
      others++;
      if (tr.to != S_SAME || tr.action != A_NONE) {
        moved++;
        printf("#   %s --%s--> %s (0x%x) is not expected\n", name_of((enum state)s),
               event_names[e], name_of(tr.to), tr.action);
      }
    }
    ok(!moved, "%s: the %d other events leave it as it is", name_of((enum state)s), others);
  }
  is_int(track_next(S_BACK, E_GRANTED).to, S_SAME, "no row for a pseudo-state");
  is_int(track_next(S_GUIDING, E_COUNT).to, S_SAME, "an event out of range stays");
}

/* Every state rests or not as its name says. */
static void test_rest(void)
{
  static const int rests[S_COUNT] = { 0, 0, 0, 0, 0, 1, 1, 1, 1, 1 };
  int wrong = 0;
  for (int s = 0; s < S_COUNT; s++)
    wrong += state_is_at_rest((enum state)s) != rests[s];
  ok(!wrong, "presenting, denied, expired, refused, ended rest; the others do not");
  ok(!state_is_at_rest(S_NONE), "a track being made is not at rest");
  is_str(state_names[S_ENDED], "ended", "state names follow the enum");
  is_str(step_names[T_GUIDANCE_OFF], "guidance_off", "step names follow the enum");
  is_str(event_names[E_MRS_RESTARTED], "mrs_restarted", "event names follow the enum");
}

#define GAP 600000ull             /* --visit-gap 10m */
#define EXPIRE 600000ull          /* --expire 10m */

/* The guard of an entrance sighting: the visit gap, calls in flight. */
static void test_entrance_guard(void)
{
  struct track_seen s = { .known = 1, .seen = 1000000, .last = 1000000 - GAP };

  is_int(entrance_event(&(struct track_seen){ .seen = 5 }, GAP), E_ENTRANCE_AFTER_GAP,
         "an address no track has begins a visit");
  is_int(entrance_event(&s, GAP), E_ENTRANCE_AFTER_GAP, "unseen for exactly the gap: a new visit");
  s.last++;
  is_int(entrance_event(&s, GAP), E_ENTRANCE, "seen 1 ms within the gap: the same visit");
  s.last = 1000000 - GAP - 1;
  s.calls = 1;
  is_int(entrance_event(&s, GAP), E_ENTRANCE, "a call in flight holds the visit open");
  s.calls = 0;
  s.last = 0;
  is_int(entrance_event(&s, GAP), E_ENTRANCE_AFTER_GAP,
         "never at the entrance before (asked in a room): a new visit");
}

/* The guards of a room sighting. */
static void test_room_guard(void)
{
  uint64_t now = 5000000;
  struct track_seen unnamed = { .known = 1, .seen = now, .last = now - GAP };
  struct track_seen named = { .known = 1, .named = 1, .seen = now, .last = now - 1 };

  is_int(room_event(&(struct track_seen){ .seen = now }, GAP), E_ROOM_UNKNOWN,
         "an address no track has is asked about");
  is_int(room_event(&unnamed, GAP), E_ROOM_UNKNOWN, "unnamed, asked a gap ago: ask again");
  unnamed.last++;
  is_int(room_event(&unnamed, GAP), E_ROOM_UNKNOWN_AGAIN, "unnamed, asked within the gap");
  unnamed.last = 0;
  unnamed.calls = 1;
  is_int(room_event(&unnamed, GAP), E_ROOM_UNKNOWN_AGAIN, "unnamed with a call in flight");

  named.theirs = 1;
  named.presenting = 1;
  is_int(room_event(&named, GAP), E_ROOM_THEIRS, "their own room, whatever else");
  named.theirs = 0;
  named.presenting = 0;
  is_int(room_event(&named, GAP), E_ROOM_ELSEWHERE, "another room, never asked here: ask");
  named.asked_here = 1;
  is_int(room_event(&named, GAP), E_ROOM_ELSEWHERE_AGAIN,
         "another room asked about 1 ms ago: once per gap");
  named.last = now - GAP;
  is_int(room_event(&named, GAP), E_ROOM_ELSEWHERE, "... asked a gap ago: ask again");
  named.presenting = 1;
  is_int(room_event(&named, GAP), E_ROOM_ELSEWHERE_AGAIN, "not while mrs is being asked");
}

/* Two addresses, one person: whose visit goes on. */
static void test_same_person_guard(void)
{
  is_int(same_person_event(1, 2000000, 1000000, GAP), E_SAME_PERSON,
         "the other track's calls in flight: its visit goes on");
  is_int(same_person_event(0, 1000000 + GAP - 1, 1000000, GAP), E_SAME_PERSON,
         "the new address heard within the gap of the old: the same visit");
  is_int(same_person_event(0, 1000000 + GAP, 1000000, GAP), E_SAME_PERSON_AFTER_GAP,
         "... a gap later: a new visit");
  is_int(same_person_event(0, 0, 1000000, GAP), E_SAME_PERSON_FROM_ROOM,
         "the new address only heard in a room");
}

/* Deadlines: guidance not completed, a presentation mrs never confirmed. */
static void test_deadlines(void)
{
  ok(!track_due(1000, EXPIRE, 1000 + EXPIRE - 1), "not due 1 ms before");
  ok(track_due(1000, EXPIRE, 1000 + EXPIRE), "due at since + limit");
  is_int(pending_event(1000, EXPIRE, 1000 + EXPIRE - 1), E_PENDING, "pending: ask mrs again");
  is_int(pending_event(1000, EXPIRE, 1000 + EXPIRE), E_PENDING_OVERDUE,
         "pending --expire after the arrival: expired");
}

/* Walk events from a state as mcs.c applies them (S_BACK: to `back`). */
static enum state walk(enum state s, enum state back, const enum event *ev, int n,
                       unsigned *actions)
{
  *actions = 0;
  for (int i = 0; i < n; i++) {
    struct transition tr = track_next(s, ev[i]);
    *actions |= tr.action;
    if (tr.to == S_BACK)
      s = back;
    else if (tr.to != S_SAME)
      s = tr.to;
  }
  return s;
}
#define WALK(from, back, acts, ...) \
  walk(from, back, (const enum event[]){ __VA_ARGS__ }, \
       (int)(sizeof (const enum event[]){ __VA_ARGS__ } / sizeof(enum event)), acts)

static void test_paths(void)
{
  unsigned a;

  is_int(WALK(S_NONE, 0, &a, E_ENTRANCE_AFTER_GAP, E_SCANNED, E_ASKED, E_GRANTED,
              E_GUIDE_ACKED, E_ROOM_THEIRS, E_PENDING, E_RECHECK_DUE, E_SHOWN), S_PRESENTING,
         "the paper's flow: motion, scan, auth, guide, arrival, presenting");
  ok((a & (A_ASK_AE | A_GUIDE | A_STOP_GUIDANCE | A_PRESENT | A_PRESENT_LATER)) ==
     (A_ASK_AE | A_GUIDE | A_STOP_GUIDANCE | A_PRESENT | A_PRESENT_LATER) && !(a & A_UNGUIDE),
     "... asks ae, guides, stops the guidance, presents (again when pending)");
  is_int(WALK(S_PRESENTING, 0, &a, E_ENTRANCE, E_ROOM_THEIRS, E_ROOM_ELSEWHERE), S_PRESENTING,
         "presented: seen again within the gap and in rooms, nothing changes");
  is_int(WALK(S_NONE, 0, &a, E_ENTRANCE_AFTER_GAP, E_SCANNED, E_ASKED, E_DENIED,
              E_ENTRANCE, E_ENTRANCE), S_DENIED,
         "a stranger at the door is asked about once per visit");
  is_int(WALK(S_DENIED, 0, &a, E_ENTRANCE_AFTER_GAP, E_SCANNED, E_ASKED), S_AUTHENTICATING,
         "... and again a gap later");
  is_int(WALK(S_GUIDING, 0, &a, E_GUIDANCE_OVERDUE, E_GUIDE_ACKED, E_ROOM_THEIRS, E_SHOWN),
         S_PRESENTING, "late arrival: guidance expired on the way, still presented");
  ok(a & A_UNGUIDE, "... the guidance lit after the expiry is turned off");
  is_int(WALK(S_AUTHENTICATING, 0, &a, E_ROOM_THEIRS, E_GRANTED_IN_ROOM, E_SHOWN),
         S_PRESENTING, "faster than ae: seen in the room first, presented on the grant");
  ok(!(a & A_GUIDE), "... and never guided");
  is_int(WALK(S_PRESENTING, 0, &a, E_ENTRANCE_AFTER_GAP, E_SCANNED, E_ASKED,
              E_GRANTED_PRESENTED), S_PRESENTING,
         "back through the entrance during their meeting: not guided again");
  is_int(WALK(S_GUIDING, S_GUIDING, &a, E_ROOM_ELSEWHERE, E_NOT_HERE), S_GUIDING,
         "in another room, no meeting there: the guidance goes on");
  is_int(WALK(S_EXPIRED, S_EXPIRED, &a, E_ROOM_ELSEWHERE, E_NOT_HERE), S_EXPIRED,
         "... expired stays expired");
  is_int(WALK(S_GUIDING, S_GUIDING, &a, E_ROOM_ELSEWHERE, E_GRANTED), S_GUIDING,
         "in another room with a meeting there: guided to it");
  is_int(WALK(S_GUIDING, 0, &a, E_SAME_PERSON, E_SAME_PERSON_AFTER_GAP,
              E_SAME_PERSON_FROM_ROOM, E_MERGED_IN_ROOM), S_ARRIVED,
         "a guided person's new address, heard in their room: arrived");
  is_int(WALK(S_PRESENTING, 0, &a, E_SAME_PERSON_FROM_ROOM), S_PRESENTING,
         "a presented person's new address in a room: still presenting");
  is_int(WALK(S_ENDED, 0, &a, E_SAME_PERSON_AFTER_GAP, E_GRANTED), S_GUIDING,
         "the same person a gap later: their old track takes the new visit");
  is_int(WALK(S_PRESENTING, 0, &a, E_MRS_RESTARTED, E_MRS_FAILED, E_SHOWN), S_PRESENTING,
         "a restarted mrs is presented again; its silence ends nothing");
  ok(a & A_PRESENT, "... presented again");
  is_int(WALK(S_PRESENTING, 0, &a, E_MRS_RESTARTED, E_MRS_REFUSED), S_REFUSED,
         "a restarted mrs that says no: refused");
  is_int(WALK(S_ARRIVED, 0, &a, E_MRS_FAILED), S_EXPIRED, "mrs never answered: expired");
  is_int(WALK(S_ARRIVED, 0, &a, E_PENDING, E_PENDING_OVERDUE), S_EXPIRED,
         "mrs pending past --expire: expired");
  is_int(WALK(S_GUIDING, 0, &a, E_GUIDANCE_LOST, E_GUIDE_ACKED), S_GUIDING,
         "a restarted ug gets the guidance again");
  ok((a & A_GUIDE) && !(a & A_UNGUIDE), "... sent, and not turned off");
  is_int(WALK(S_ARRIVED, 0, &a, E_GUIDANCE_STALE), S_ARRIVED,
         "guidance still on at ug after the arrival is turned off");
  ok(a == A_UNGUIDE, "... only that");
  is_int(WALK(S_GUIDING, 0, &a, E_MEETING_OVER, E_ROOM_THEIRS, E_MRS_RESTARTED), S_ENDED,
         "the meeting over on the way: ended, not arrived later");
  ok((a & A_STOP_GUIDANCE) && (a & A_CANCEL_PRESENT) && !(a & A_PRESENT),
     "... guidance stopped, nothing presented");
  is_int(WALK(S_AUTHENTICATING, 0, &a, E_AE_TIMEOUT, E_GRANTED), S_EXPIRED,
         "ae silent: expired; a grant after that changes nothing");
  is_int(WALK(S_EXPIRED, 0, &a, E_MEETING_OVER, E_GUIDANCE_OVERDUE), S_EXPIRED,
         "expired: neither the end nor a second expiry moves it");
}

int main(void)
{
  plan(NEXPECTED + (S_NONE + 1) + 2 + 5 + 5 + 9 + 4 + 4 + 29);
  test_table();
  test_rest();
  test_entrance_guard();
  test_room_guard();
  test_same_person_guard();
  test_deadlines();
  test_paths();
  return done_testing();
}
