/* uri.h - coap:// and coaps:// URIs and HOST:PORT listen addresses. */
#ifndef NANO_URI_H
#define NANO_URI_H

#include <coap3/coap.h>

struct nano_uri {
  char host[256];         /* without [] for IPv6 literals */
  uint16_t port;
  char path[512];         /* without the leading '/' */
  char query[512];        /* without the '?' */
  int secure;             /* coaps:// (DTLS, default port 5684) */
  int port_given;         /* the URI named its port */
};

/* Split "coap[s]://host[:port][/path][?query]".  -1 with a reason in err
 * (>= 128 bytes). */
int uri_parse(const char *uri, struct nano_uri *out, char *err, size_t errsize);
/* Resolve host (name or literal) and port into addr; -1 with reason. */
int uri_resolve(const char *host, uint16_t port, int passive, coap_address_t *addr,
                char *err, size_t errsize);
/* A numeric host ("127.0.0.1", "::1") into addr at once, no lookup; -1
 * when host is a name. */
int uri_numeric(const char *host, uint16_t port, coap_address_t *addr);
/* "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" -> host (may be "") and port. */
int hostport_parse(const char *s, char *host, size_t hostsize, uint16_t *port,
                   char *err, size_t errsize);
/* The address as "host:port" text, "[v6]:port" for IPv6. */
const char *addr_text(const coap_address_t *addr, char *buf, size_t size);

#endif
