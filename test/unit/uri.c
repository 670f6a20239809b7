/* uri.c - unit tests of URI and listen address parsing (src/uri.c). */
#include "uri.h"
#include "tap.h"

int main(void)
{
  struct nano_uri u;
  char err[256], host[64], text[80];
  uint16_t port;
  coap_address_t a;

  plan(37);
  coap_startup();

  ok(uri_parse("coap://127.0.0.1:5700/participants/alice?x=1&y=2", &u, err, sizeof err) == 0,
     "full URI parses");
  is_str(u.host, "127.0.0.1", "host");
  is_int(u.port, 5700, "port");
  is_str(u.path, "participants/alice", "path without the leading slash");
  is_str(u.query, "x=1&y=2", "query without the ?");
  ok(uri_parse("coap://ae", &u, err, sizeof err) == 0 && u.port == 5683 && !*u.path,
     "service name, default port, empty path");
  ok(uri_parse("coap://[::1]:6000/x", &u, err, sizeof err) == 0 && !strcmp(u.host, "::1") &&
     u.port == 6000, "IPv6 literal without brackets");
  ok(uri_parse("http://ae/x", &u, err, sizeof err) < 0, "other schemes refused");
  ok(strstr(err, "only coap://") != NULL, "with a reason");
  ok(uri_parse("coaps://ae/x", &u, err, sizeof err) == 0 && u.secure && u.port == 5684 &&
     !u.port_given && !strcmp(u.path, "x"), "coaps: DTLS, default port 5684");
  ok(uri_parse("coaps://ae:6000", &u, err, sizeof err) == 0 && u.secure && u.port == 6000 &&
     u.port_given, "coaps with a port");
  ok(uri_parse("coap://ae:5683", &u, err, sizeof err) == 0 && !u.secure && u.port_given,
     "coap with its default port named");
  ok(uri_parse("coap://[::1]/x", &u, err, sizeof err) == 0 && !u.port_given,
     "an IPv6 literal without a port");
  ok(uri_parse("", &u, err, sizeof err) < 0, "empty refused");
  ok(uri_parse("coap://", &u, err, sizeof err) < 0, "no host refused");
  ok(uri_parse("coap://h:99999/", &u, err, sizeof err) < 0, "port out of range refused");

  ok(hostport_parse("127.0.0.5:5683", host, sizeof host, &port, err, sizeof err) == 0 &&
     !strcmp(host, "127.0.0.5") && port == 5683, "v4 host:port");
  ok(hostport_parse("[::]:6000", host, sizeof host, &port, err, sizeof err) == 0 &&
     !strcmp(host, "::") && port == 6000, "[v6]:port");
  ok(hostport_parse(":7000", host, sizeof host, &port, err, sizeof err) == 0 &&
     !*host && port == 7000, ":port means any address");
  ok(hostport_parse("7001", host, sizeof host, &port, err, sizeof err) == 0 &&
     !*host && port == 7001, "bare port");
  ok(hostport_parse("::1:5683", host, sizeof host, &port, err, sizeof err) < 0,
     "bare IPv6 refused (ambiguous)");
  ok(hostport_parse("h:0", host, sizeof host, &port, err, sizeof err) < 0, "port 0 refused");
  ok(hostport_parse("h:65536", host, sizeof host, &port, err, sizeof err) < 0,
     "port 65536 refused");
  ok(hostport_parse("h:12ab", host, sizeof host, &port, err, sizeof err) < 0,
     "port with junk refused");
  ok(hostport_parse("", host, sizeof host, &port, err, sizeof err) < 0, "empty refused");

  ok(uri_resolve("127.0.0.9", 5683, 0, &a, err, sizeof err) == 0, "v4 literal resolves");
  is_str(addr_text(&a, text, sizeof text), "127.0.0.9:5683", "as text");
  ok(uri_resolve("::1", 6000, 0, &a, err, sizeof err) == 0, "v6 literal resolves");
  is_str(addr_text(&a, text, sizeof text), "[::1]:6000", "v6 as text");
  ok(uri_resolve("no-such-host.invalid", 1, 0, &a, err, sizeof err) < 0,
     "unknown name fails with a reason");
  /* numeric hosts need no lookup (client.c sends to them at once) */
  ok(uri_numeric("127.0.0.9", 5683, &a) == 0, "v4 literal is numeric");
  is_str(addr_text(&a, text, sizeof text), "127.0.0.9:5683", "numeric v4 as text");
  ok(uri_numeric("::1", 6000, &a) == 0, "v6 literal is numeric");
  is_str(addr_text(&a, text, sizeof text), "[::1]:6000", "numeric v6 as text");
  ok(a.size == sizeof a.addr.sin6, "v6 size");
  ok(uri_numeric("localhost", 1, &a) < 0, "a name is not numeric");
  ok(uri_numeric("127.0.0.1.example", 1, &a) < 0, "nor a name that starts like one");
  coap_cleanup();
  return done_testing();
}
