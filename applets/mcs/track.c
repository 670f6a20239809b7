/* track.c - the state machine of one mcs track, as one table (track.h).
 *
 * track_table is the whole of it: a row per state (and "none", a track
 * just made), a column per event; a cell names the state entered and the
 * actions that follow.  A cell left out is an event the state does not
 * expect: it stays, and nothing is done (an answer that comes after the
 * visit moved on, a sighting of someone already presented).
 */
#include "track.h"

const char *const state_names[S_COUNT + 1] = {
  "detected", "scanning", "authenticating", "guiding", "arrived", "presenting",
  "denied", "expired", "refused", "ended", "none"
};

const char *const step_names[T_COUNT] = {
  "detected", "scanning", "authenticating", "guiding", "arrived", "presenting",
  "denied", "expired", "refused", "ended", "granted", "guidance_on", "guidance_off"
};

const char *const event_names[E_COUNT] = {
  "entrance", "entrance_after_gap", "scanned", "asked",
  "room_unknown", "room_unknown_again", "room_theirs", "room_elsewhere",
  "room_elsewhere_again",
  "granted", "granted_in_room", "granted_presented", "denied", "ae_failed",
  "ae_timeout", "not_here",
  "same_person", "same_person_after_gap", "same_person_from_room", "merged_in_room",
  "guide_acked", "guidance_overdue", "guidance_lost", "guidance_stale", "meeting_over",
  "shown", "pending", "pending_overdue", "recheck_due", "mrs_refused", "mrs_failed",
  "mrs_restarted"
};

int state_is_at_rest(enum state s)
{
  return s == S_DENIED || s == S_EXPIRED || s == S_PRESENTING || s == S_REFUSED ||
         s == S_ENDED;
}

/* A cell: set (else the event is not expected), the state entered, the
 * actions.  -Woverride-init (in -Wextra) flags a cell given twice. */
struct cell {
  unsigned char set;
  unsigned char to;
  unsigned short action;
};

#define TO(s, a)  { 1, s, a }
#define STAY(a)   { 1, S_SAME, a }

#define ARRIVE    (A_STOP_GUIDANCE | A_PRESENT)
#define UNGUIDE_IF_ACKED \
  [E_GUIDE_ACKED] = STAY(A_UNGUIDE),    /* arrived or expired meanwhile */ \
  [E_GUIDANCE_STALE] = STAY(A_UNGUIDE)  /* ug still shows it: off again */
#define NOTE_ROOM \
  [E_ROOM_UNKNOWN] = STAY(A_NOTE_ROOM), [E_ROOM_UNKNOWN_AGAIN] = STAY(A_NOTE_ROOM), \
  [E_ROOM_THEIRS] = STAY(A_NOTE_ROOM), [E_ROOM_ELSEWHERE] = STAY(A_NOTE_ROOM), \
  [E_ROOM_ELSEWHERE_AGAIN] = STAY(A_NOTE_ROOM)
/* At rest: a sighting after --visit-gap begins a visit, and so does the
 * same person's other address heard after --visit-gap. */
#define NEW_VISITS \
  [E_ENTRANCE_AFTER_GAP] = TO(S_DETECTED, A_NEW_VISIT), \
  [E_ROOM_UNKNOWN] = TO(S_DETECTED, A_NEW_VISIT), \
  [E_SAME_PERSON_AFTER_GAP] = TO(S_AUTHENTICATING, A_TAKE_VISIT)

static const struct cell track_table[S_NONE + 1][E_COUNT] = {
  [S_NONE] = {
    [E_ENTRANCE_AFTER_GAP] = TO(S_DETECTED, A_NEW_VISIT),
    [E_ROOM_UNKNOWN] = TO(S_DETECTED, A_NEW_VISIT),
  },
  [S_DETECTED] = {
    [E_SCANNED] = TO(S_SCANNING, A_NONE),
    [E_ASKED] = TO(S_AUTHENTICATING, A_ASK_AE),           /* a room's sighting */
    NOTE_ROOM,
    UNGUIDE_IF_ACKED,
  },
  [S_SCANNING] = {
    [E_ASKED] = TO(S_AUTHENTICATING, A_ASK_AE),
    NOTE_ROOM,
    UNGUIDE_IF_ACKED,
  },
  [S_AUTHENTICATING] = {
    NOTE_ROOM,                                            /* faster than ae */
    [E_GRANTED] = TO(S_GUIDING, A_GUIDE),
    [E_GRANTED_IN_ROOM] = TO(S_ARRIVED, ARRIVE),
    [E_GRANTED_PRESENTED] = TO(S_PRESENTING, A_NONE),     /* not guided again */
    [E_DENIED] = TO(S_DENIED, A_NONE),
    [E_AE_FAILED] = TO(S_DENIED, A_NONE),
    [E_AE_TIMEOUT] = TO(S_EXPIRED, A_NONE),
    [E_NOT_HERE] = TO(S_BACK, A_NONE),
    UNGUIDE_IF_ACKED,
  },
  [S_GUIDING] = {
    [E_ROOM_THEIRS] = TO(S_ARRIVED, ARRIVE),
    [E_ROOM_ELSEWHERE] = TO(S_AUTHENTICATING, A_REASK | A_ASK_AE),
    [E_MERGED_IN_ROOM] = TO(S_ARRIVED, ARRIVE),  /* (guiding only: an expired
                                     track arrives on E_ROOM_THEIRS, not here) */
    [E_GUIDANCE_OVERDUE] = TO(S_EXPIRED, A_STOP_GUIDANCE),
    [E_GUIDANCE_LOST] = STAY(A_GUIDE),
    [E_MEETING_OVER] = TO(S_ENDED, A_STOP_GUIDANCE | A_CANCEL_PRESENT),
  },
  [S_ARRIVED] = {
    [E_SHOWN] = TO(S_PRESENTING, A_NONE),
    [E_PENDING] = STAY(A_PRESENT_LATER),
    [E_PENDING_OVERDUE] = TO(S_EXPIRED, A_NONE),
    [E_RECHECK_DUE] = STAY(A_PRESENT),
    [E_MRS_REFUSED] = TO(S_REFUSED, A_NONE),
    [E_MRS_FAILED] = TO(S_EXPIRED, A_NONE),
    [E_MRS_RESTARTED] = STAY(A_PRESENT),
    [E_MEETING_OVER] = TO(S_ENDED, A_CANCEL_PRESENT),
    UNGUIDE_IF_ACKED,
  },
  [S_PRESENTING] = {
    NEW_VISITS,                 /* (from a room: still presenting, no visit) */
    [E_MRS_REFUSED] = TO(S_REFUSED, A_NONE),   /* a restarted mrs says no */
    [E_MRS_RESTARTED] = STAY(A_PRESENT),
    [E_MEETING_OVER] = TO(S_ENDED, A_CANCEL_PRESENT),
    UNGUIDE_IF_ACKED,
  },
  [S_DENIED] = {
    NEW_VISITS,
    [E_SAME_PERSON_FROM_ROOM] = TO(S_AUTHENTICATING, A_TAKE_VISIT),
    UNGUIDE_IF_ACKED,
  },
  [S_EXPIRED] = {
    NEW_VISITS,
    [E_SAME_PERSON_FROM_ROOM] = TO(S_AUTHENTICATING, A_TAKE_VISIT),
    [E_ROOM_THEIRS] = TO(S_ARRIVED, ARRIVE),              /* late is still arrived
                                     (even after the meeting's end: the tick
                                     then ends it, E_MEETING_OVER) */
    [E_ROOM_ELSEWHERE] = TO(S_AUTHENTICATING, A_REASK | A_ASK_AE),
    UNGUIDE_IF_ACKED,
  },
  [S_REFUSED] = {
    NEW_VISITS,
    [E_SAME_PERSON_FROM_ROOM] = TO(S_AUTHENTICATING, A_TAKE_VISIT),
    UNGUIDE_IF_ACKED,
  },
  [S_ENDED] = {
    NEW_VISITS,
    [E_SAME_PERSON_FROM_ROOM] = TO(S_AUTHENTICATING, A_TAKE_VISIT),
    UNGUIDE_IF_ACKED,
  },
};

struct transition track_next(enum state s, enum event e)
{
  struct transition stay = { S_SAME, A_NONE };
  const struct cell *c;

  if ((unsigned)s > S_NONE || (unsigned)e >= E_COUNT)
    return stay;
  c = &track_table[s][e];
  if (!c->set)
    return stay;
  return (struct transition){ (enum state)c->to, c->action };
}

enum event entrance_event(const struct track_seen *s, uint64_t visit_gap_ms)
{
  if (s->known && (s->calls || s->seen < s->last + visit_gap_ms))
    return E_ENTRANCE;
  return E_ENTRANCE_AFTER_GAP;
}

enum event room_event(const struct track_seen *s, uint64_t visit_gap_ms)
{
  if (!s->known)
    return E_ROOM_UNKNOWN;
  if (!s->named)
    return s->calls || s->seen < s->last + visit_gap_ms ? E_ROOM_UNKNOWN_AGAIN :
           E_ROOM_UNKNOWN;
  if (s->theirs)
    return E_ROOM_THEIRS;
  /* ae decides for this room once per room and --visit-gap */
  return !s->presenting && (!s->asked_here || s->seen >= s->last + visit_gap_ms) ?
         E_ROOM_ELSEWHERE : E_ROOM_ELSEWHERE_AGAIN;
}

enum event same_person_event(int o_calls, uint64_t t_entrance, uint64_t o_entrance,
                             uint64_t visit_gap_ms)
{
  if (o_calls)
    return E_SAME_PERSON;
  if (!t_entrance)
    return E_SAME_PERSON_FROM_ROOM;
  return t_entrance < o_entrance + visit_gap_ms ? E_SAME_PERSON : E_SAME_PERSON_AFTER_GAP;
}

int track_due(uint64_t since, uint64_t limit_ms, uint64_t now)
{
  return since + limit_ms <= now;
}

enum event pending_event(uint64_t arrived, uint64_t expire_ms, uint64_t now)
{
  return track_due(arrived, expire_ms, now) ? E_PENDING_OVERDUE : E_PENDING;
}
