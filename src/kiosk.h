/* kiosk.h - mrs's room display as a web page: HTTP on the role's loop.
 *
 *   struct kiosk_config c = { "127.0.0.1:8080", NULL, 8, 30000 };
 *   if (kiosk_start(&c) < 0) exit(1);          (logged why)
 *   kiosk_publish(json, len);                   (every change of the screen)
 *   ... loop_run() ...  kiosk_stop();
 *
 *   GET /            the page (src/kiosk_page.c): room, clock, meeting
 *   GET /kiosk.js, /kiosk.css   its script and style (no secret in them)
 *   GET /events      text/event-stream: "retry:", then the state (one
 *                    "data:" line of JSON) at once and after each change,
 *                    and a keep-alive comment every timeout / 2
 *   HEAD on each; any other method 405 (Allow: GET, HEAD); else 404.
 *
 * libmicrohttpd runs without a thread (MHD_USE_EPOLL, external loop): its
 * epoll fd is one fd of src/loop.c and its timeouts a loop timer.  An
 * event stream with nothing to send is suspended (no timer, no polling)
 * and resumed by kiosk_publish or the keep-alive.  States are coalesced:
 * a client still sending an older state gets the newest one next, never
 * a queue, so a client costs at most one state however slow it reads.
 *
 * Bounds: at most max_clients connections (more are closed at once);
 * request line and headers within 8 KiB (431, or 414 for the URL); a
 * connection that has not sent a whole request within the timeout, or
 * does not take its answer (the socket's send buffer stays full) for
 * that long, is closed; no request body is read.  With a token every
 * request for / and /events must carry ?token=TOKEN (else 403).
 */
#ifndef NANO_KIOSK_H
#define NANO_KIOSK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "json.h"

struct kiosk_config {
  const char *listen;         /* HOST:PORT */
  const char *token;          /* NULL: none needed */
  int max_clients;
  uint64_t timeout_ms;
};

/* HOST:PORT (IPv4, [IPv6] or localhost) into *sa; *loopback 1 when it is
 * an address of the loopback interface.  0, or -1 with why in err. */
int kiosk_listen_parse(const char *spec, struct sockaddr_storage *sa, socklen_t *len,
                       int *loopback, char *err, size_t errsize);
/* Listen and serve on the role's loop (loop_init first).  0, or -1
 * (logged). */
int kiosk_start(const struct kiosk_config *c);
/* The display's new state, a JSON object, for every page. */
void kiosk_publish(const char *json, size_t len);
/* http_* counters into mrs's /stats. */
void kiosk_stats(cJSON *o);
/* End every event stream and stop serving. */
void kiosk_stop(void);

#endif
