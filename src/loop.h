/* loop.h - the one event loop of a role.
 *
 * libcoap's sockets (behind its epoll fd), the hardware fds of a role
 * (GPIO edge events, D-Bus), timers and signals all wait in one poll();
 * no threads but resolve.c's one for getaddrinfo, whose results come back
 * here.  A callback never blocks: peers are asked asynchronously
 * (client.h) and answers arrive as callbacks on this same loop.
 */
#ifndef NANO_LOOP_H
#define NANO_LOOP_H

#include <coap3/coap.h>
#include <stdint.h>

typedef void (*loop_fd_fn)(int fd, short revents, void *arg);
typedef void (*loop_timer_fn)(void *arg);
struct loop_timer;

/* Take over SIGTERM/SIGINT (a role may be PID 1 in a container, which
 * has no default handlers) and ignore SIGPIPE. */
int loop_init(coap_context_t *ctx);
int loop_add_fd(int fd, short events, loop_fd_fn fn, void *arg);
void loop_del_fd(int fd);
/* One-shot timer; freed after its callback ran, so the callback must
 * forget its handle.  loop_cancel() before that. */
struct loop_timer *loop_after(uint64_t ms, loop_timer_fn fn, void *arg);
void loop_cancel(struct loop_timer *t);
/* Is CoAP input waiting to be read (a datagram libcoap has not taken in
 * yet)?  A handler asks it to know whether its request is alone. */
int loop_coap_pending(void);
/* fn(arg) runs at the end of every turn, after the CoAP input of the turn
 * (up to 64 datagrams already queued) was handled: a role that gathers
 * work over a turn (ae's group commit) finishes it there.  One hook;
 * NULL removes it. */
void loop_set_turn_end(loop_timer_fn fn, void *arg);
/* Run until loop_stop() or a SIGTERM/SIGINT; returns the stop code. */
int loop_run(void);
void loop_stop(int code);
/* After loop_run() returned by loop_stop() (not by a signal): let the
 * next loop_run() run again (nano demo --stay). */
void loop_continue(void);
int loop_stopped_by_signal(void);     /* the signal number, or 0 */
/* Handle pending CoAP I/O for up to ms milliseconds (used at shutdown
 * to let the answers already queued go out). */
void loop_drain(uint64_t ms);

#endif
