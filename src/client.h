/* client.h - asynchronous CoAP requests with a deadline.
 *
 * A request never blocks the loop: client_request() sends and returns (a
 * role's request to a host name first waits for its lookup, resolve.h); the
 * callback runs later on the same loop with the answer, or with
 * CLIENT_TIMEOUT when the deadline passed (libcoap's confirmable
 * retransmissions, capped by the deadline), or CLIENT_UNREACHABLE when the
 * peer refused (ICMP port unreachable, RST).  Large bodies go block-wise
 * both ways; libcoap reassembles them, the callback sees the whole body.
 */
#ifndef NANO_CLIENT_H
#define NANO_CLIENT_H

#include <coap3/coap.h>
#include <stdint.h>

enum {
  CLIENT_TIMEOUT = -1,
  CLIENT_UNREACHABLE = -2,
  CLIENT_FAILED = -3,         /* bad URI, out of memory, cannot send */
};

/* code: the answer's code as 205, 404, ... or a CLIENT_* value.  A
 * request whose host name was still being looked up (or did not resolve)
 * fails with CLIENT_TIMEOUT or CLIENT_FAILED and the reason as body:
 * "cannot resolve 'ae': ...". */
typedef void (*client_fn)(void *arg, int code, const uint8_t *body, size_t len);

struct client_opts {
  unsigned timeout_ms;        /* 0: 5000 */
  int observe;                /* register; fn runs for every notification */
  uint16_t format;            /* Content-Format of body; 0: JSON (50) */
  int accept;                 /* Accept option, or -1 for none */
};

struct psk;
/* Who this process is on DTLS links.  role: every link of a role is DTLS
 * when it has a key (coap:// URIs go to port 5684) and plain when it has
 * none (--insecure; coaps:// URIs go to 5683); for a tool (role 0) the
 * URI's scheme decides, and coaps:// needs a key. */
void client_set_psk(const struct psk *me, int role);
/* A new DTLS client session to addr as identity k (libcoap copies the
 * key); NULL when it cannot be made. */
coap_session_t *client_session_psk(coap_context_t *ctx, const coap_address_t *addr,
                                   const struct psk *k);
/* Register the response handlers on ctx (once per context). */
void client_init(coap_context_t *ctx);
/* A client-only context on its own loop, for tools (coap, health). */
coap_context_t *client_context_new(void);
void client_context_free(coap_context_t *ctx);
/* Returns a request id (> 0), or 0 after calling nothing: *err says why. */
unsigned client_request(coap_context_t *ctx, int method, const char *uri,
                        const void *body, size_t len, const struct client_opts *o,
                        client_fn fn, void *arg, const char **err);
/* The next request to any peer starts a new session (and a new DTLS
 * handshake); requests in flight finish on their own. */
void client_reset_sessions(void);
/* Forget a request; its callback will not run.  An observation is
 * cancelled at the server too. */
void client_cancel(unsigned id);
/* Pending requests, for tests and /stats. */
int client_pending(void);
/* "2.05" for 205, "timeout", "unreachable", "failed" */
const char *client_code_text(int code, char *buf, size_t size);

#endif
