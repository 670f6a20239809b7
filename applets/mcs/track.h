/* track.h - the state machine of one mcs track (one person, one visit).
 *
 *   struct transition tr = track_next(t->state, E_ROOM_THEIRS);
 *   if (tr.to != S_SAME) enter tr.to;      (S_BACK: the state re-asked from)
 *   if (tr.action & A_PRESENT) POST mrs/present;   ... and so on
 *
 *   e = entrance_event(&(struct track_seen){ ... }, visit_gap_ms);
 *
 * Pure logic: no sockets, no clock (every time is passed in), so the unit
 * test (test/unit/track.c) walks every transition in microseconds.  mcs.c
 * keeps the tracks, the peers and the calls; it classifies what happened
 * into an event (the guards on time live here: visit gaps, expiry) and
 * looks up in track_table what that does to the track's state and which
 * actions follow.  An event a state does not expect leaves it as it is
 * with nothing to do.
 *
 *   none -> detected -> scanning -> authenticating -> guiding -> arrived -> presenting
 *
 * is the main line (a room's sighting skips scanning); a visit rests in
 * presenting, denied, expired, refused or ended, and the next one begins
 * from there.  track_table in track.c is the whole of it.
 */
#ifndef NANO_MCS_TRACK_H
#define NANO_MCS_TRACK_H

#include <stdint.h>

/* The states a visit rests in (state_is_at_rest): presenting, or one
 * that says how it ended: denied by ae, expired (not arrived, or a peer
 * never answered), refused by mrs (the meeting gone or changed, the
 * participant no longer invited), ended (the meeting is over). */
enum state {
  S_DETECTED, S_SCANNING, S_AUTHENTICATING, S_GUIDING, S_ARRIVED, S_PRESENTING,
  S_DENIED, S_EXPIRED, S_REFUSED, S_ENDED, S_COUNT,
  S_NONE = S_COUNT,                 /* a track just made, in no state yet */
  S_SAME,                           /* (a transition's) stays as it is */
  S_BACK                            /* (a transition's) back to the state
                                       a room re-ask came from */
};

extern const char *const state_names[S_COUNT + 1];   /* and "none" */

/* Every state is a step; three steps are not states. */
enum step {
  T_DETECTED, T_SCANNING, T_AUTHENTICATING, T_GUIDING, T_ARRIVED, T_PRESENTING,
  T_DENIED, T_EXPIRED, T_REFUSED, T_ENDED, T_GRANTED, T_GUIDANCE_ON, T_GUIDANCE_OFF,
  T_COUNT
};

extern const char *const step_names[T_COUNT];

int state_is_at_rest(enum state s);

/* What happens to a track, as mcs.c tells it. */
enum event {
  /* visits */
  E_ENTRANCE,               /* seen at the entrance in the same visit */
  E_ENTRANCE_AFTER_GAP,     /* ... unseen there for --visit-gap, nothing in flight */
  E_SCANNED,                /* the entrance scan that found it */
  E_ASKED,                  /* its address goes to ae */
  /* room sightings */
  E_ROOM_UNKNOWN,           /* no participant named; not asked here lately */
  E_ROOM_UNKNOWN_AGAIN,     /* ... asked within --visit-gap, or calls in flight */
  E_ROOM_THEIRS,            /* the named participant in their room */
  E_ROOM_ELSEWHERE,         /* ... in another room, not asked there lately */
  E_ROOM_ELSEWHERE_AGAIN,   /* ... asked there within --visit-gap, or presenting */
  /* ae's answers */
  E_GRANTED,                /* a meeting now: guide them */
  E_GRANTED_IN_ROOM,        /* ... and already seen in its room */
  E_GRANTED_PRESENTED,      /* ... one they were already presented to */
  E_DENIED,                 /* not invited (or not in ae's answer) */
  E_AE_FAILED,              /* ae's answer unusable, or it could not be asked */
  E_AE_TIMEOUT,             /* ae never answered */
  E_NOT_HERE,               /* a room re-ask: no meeting of theirs here */
  /* ae named a participant another track follows (said to that track) */
  E_SAME_PERSON,            /* the other's address heard within --visit-gap */
  E_SAME_PERSON_AFTER_GAP,  /* ... after --visit-gap: a new visit */
  E_SAME_PERSON_FROM_ROOM,  /* ... never at the entrance, only in a room */
  E_MERGED_IN_ROOM,         /* the other address was seen in their room */
  /* guidance */
  E_GUIDE_ACKED,            /* ug lit the guidance */
  E_GUIDANCE_OVERDUE,       /* --expire after guiding began, not arrived */
  E_GUIDANCE_LOST,          /* ug no longer lists it (restarted) */
  E_GUIDANCE_STALE,         /* ug still lists it after the arrival */
  E_MEETING_OVER,           /* the meeting's end passed */
  /* presentation */
  E_SHOWN,                  /* mrs shows them */
  E_PENDING,                /* mrs is asking ae */
  E_PENDING_OVERDUE,        /* ... still, --expire after the arrival */
  E_RECHECK_DUE,            /* time to ask mrs again */
  E_MRS_REFUSED,            /* mrs said no (4.xx) */
  E_MRS_FAILED,             /* mrs never answered, or 5.xx */
  E_MRS_RESTARTED,          /* mrs restarted and lost its screen */
  E_COUNT
};

extern const char *const event_names[E_COUNT];

/* What mcs.c does after the state changed (bits).  The peers' part
 * (guide, unguide, present, ...) mcs.c's track_on does; the rest is the
 * caller's, which knows the sighting. */
enum action {
  A_NONE = 0,
  A_NEW_VISIT = 1 << 0,       /* a clean slate: steps, guidance, resends; visit+1 */
  A_ASK_AE = 1 << 1,          /* the caller puts the address into a POST ae/auth */
  A_REASK = 1 << 2,           /* remember the state to come back to (S_BACK) */
  A_NOTE_ROOM = 1 << 3,       /* remember the room it was seen in, for the grant */
  A_TAKE_VISIT = 1 << 4,      /* the other track's visit (state, steps) is this one's */
  A_GUIDE = 1 << 5,           /* POST ug/guide */
  A_STOP_GUIDANCE = 1 << 6,   /* drop the guide call, or DELETE it at ug */
  A_UNGUIDE = 1 << 7,         /* DELETE ug/guide/ID */
  A_PRESENT = 1 << 8,         /* POST mrs/present */
  A_PRESENT_LATER = 1 << 9,   /* ask mrs again after a backoff */
  A_CANCEL_PRESENT = 1 << 10  /* drop the present call and its recheck */
};

struct transition {
  enum state to;              /* S_SAME: stays */
  unsigned action;            /* enum action bits */
};

/* The table: what event e does in state s (s may be S_NONE). */
struct transition track_next(enum state s, enum event e);

/* A sighting as the guards need it: what mcs knows of the track. */
struct track_seen {
  int known;                  /* a track follows the address */
  int named;                  /* ae named its participant */
  int theirs;                 /* (room) the participant's own room */
  int asked_here;             /* (room) last asked about at this location */
  int calls;                  /* guide, unguide or present in flight */
  int presenting;             /* a present call in flight */
  uint64_t seen;              /* when it was seen, wall ms */
  uint64_t last;              /* before: the last entrance sighting (entrance),
                                 the last room ask (room) */
};

/* E_ENTRANCE or E_ENTRANCE_AFTER_GAP. */
enum event entrance_event(const struct track_seen *s, uint64_t visit_gap_ms);
/* One of the E_ROOM_* events. */
enum event room_event(const struct track_seen *s, uint64_t visit_gap_ms);

/* ae named the participant track o follows for another address's track
 * t: E_SAME_PERSON, _AFTER_GAP or _FROM_ROOM (said to o).  o_calls: o has
 * calls in flight; t_entrance/o_entrance: their last entrance sightings
 * (0: never). */
enum event same_person_event(int o_calls, uint64_t t_entrance, uint64_t o_entrance,
                             uint64_t visit_gap_ms);

/* since + limit has come (a deadline: guidance, a pending presentation). */
int track_due(uint64_t since, uint64_t limit_ms, uint64_t now);
/* E_PENDING, or E_PENDING_OVERDUE once --expire passed since the arrival. */
enum event pending_event(uint64_t arrived, uint64_t expire_ms, uint64_t now);

#endif
