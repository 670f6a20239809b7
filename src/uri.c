/* uri.c - coap:// and coaps:// URIs and listen addresses to libcoap addresses.
 *
 * Splitting is libcoap's coap_split_uri(); this file only adds the checks
 * a user needs a clear message for, and name resolution.
 */
#include "uri.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy_str(char *dst, size_t size, const uint8_t *s, size_t len)
{
  if (len >= size)
    return -1;
  if (len)
    memcpy(dst, s, len);
  dst[len] = '\0';
  return 0;
}

/* Does "host[:port][/...]" (after the scheme) name a port? */
static int names_port(const char *rest)
{
  if (*rest == '[') {
    const char *close = strchr(rest, ']');
    return close && close[1] == ':';
  }
  return rest[strcspn(rest, ":/?")] == ':';
}

int uri_parse(const char *uri, struct nano_uri *out, char *err, size_t errsize)
{
  coap_uri_t u;
  size_t len = uri ? strlen(uri) : 0;

  memset(out, 0, sizeof *out);
  if (!len || len > 1024) {
    snprintf(err, errsize, "URI is empty or too long");
    return -1;
  }
  if (strncmp(uri, "coap://", 7) && strncmp(uri, "coaps://", 8)) {
    snprintf(err, errsize, "'%s': only coap:// and coaps:// URIs are supported", uri);
    return -1;
  }
  out->secure = uri[4] == 's';
  /* coap_split_uri() of a libcoap without DTLS refuses coaps://: the
   * scheme is ours to read, the rest is split as a coap:// URI. */
  {
    char plain[1100];
    snprintf(plain, sizeof plain, "coap://%s", uri + (out->secure ? 8 : 7));
    if (coap_split_uri((const uint8_t *)plain, strlen(plain), &u) < 0 || !u.host.length) {
      snprintf(err, errsize, "'%s' is not a valid coap:// or coaps:// URI", uri);
      return -1;
    }
    out->port_given = names_port(plain + 7);
    if (copy_str(out->host, sizeof out->host, u.host.s, u.host.length) < 0 ||
        copy_str(out->path, sizeof out->path, u.path.s, u.path.length) < 0 ||
        copy_str(out->query, sizeof out->query, u.query.s, u.query.length) < 0) {
      snprintf(err, errsize, "'%s': a part of the URI is too long", uri);
      return -1;
    }
    out->port = out->port_given ? u.port : out->secure ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT;
    return 0;
  }
}

int uri_resolve(const char *host, uint16_t port, int passive, coap_address_t *addr,
                char *err, size_t errsize)
{
  struct addrinfo hints, *res = NULL;
  int rc;

  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  rc = getaddrinfo(host && *host ? host : NULL, "0", &hints, &res);
  if (rc || !res) {
    snprintf(err, errsize, "cannot resolve '%s': %s", host ? host : "",
             rc ? gai_strerror(rc) : "no address");
    return -1;
  }
  coap_address_init(addr);
  addr->size = res->ai_addrlen;
  memcpy(&addr->addr, res->ai_addr, res->ai_addrlen);
  if (res->ai_family == AF_INET6)
    addr->addr.sin6.sin6_port = htons(port);
  else
    addr->addr.sin.sin_port = htons(port);
  freeaddrinfo(res);
  return 0;
}

int uri_numeric(const char *host, uint16_t port, coap_address_t *addr)
{
  coap_address_init(addr);
  if (inet_pton(AF_INET, host, &addr->addr.sin.sin_addr) == 1) {
    addr->addr.sin.sin_family = AF_INET;
    addr->addr.sin.sin_port = htons(port);
    addr->size = sizeof addr->addr.sin;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &addr->addr.sin6.sin6_addr) == 1) {
    addr->addr.sin6.sin6_family = AF_INET6;
    addr->addr.sin6.sin6_port = htons(port);
    addr->size = sizeof addr->addr.sin6;
    return 0;
  }
  return -1;
}

int hostport_parse(const char *s, char *host, size_t hostsize, uint16_t *port,
                   char *err, size_t errsize)
{
  const char *p, *colon;
  size_t hlen;
  char *end;
  long v;

  if (!s || !*s) {
    snprintf(err, errsize, "empty address");
    return -1;
  }
  if (*s == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':') {
      snprintf(err, errsize, "'%s': expected [IPV6]:PORT", s);
      return -1;
    }
    p = s + 1;
    hlen = (size_t)(close - p);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon && strchr(s, ':') != colon) {
      snprintf(err, errsize, "'%s': write IPv6 addresses as [ADDR]:PORT", s);
      return -1;
    }
    p = s;
    hlen = colon ? (size_t)(colon - s) : 0;
    if (!colon)
      colon = s - 1;          /* "5683": port only */
  }
  if (hlen >= hostsize) {
    snprintf(err, errsize, "'%s': host too long", s);
    return -1;
  }
  memcpy(host, p, hlen);
  host[hlen] = '\0';
  v = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || v < 1 || v > 65535) {
    snprintf(err, errsize, "'%s': bad port (1-65535)", s);
    return -1;
  }
  *port = (uint16_t)v;
  return 0;
}

const char *addr_text(const coap_address_t *addr, char *buf, size_t size)
{
  char ip[INET6_ADDRSTRLEN] = "?";

  if (addr->addr.sa.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &addr->addr.sin6.sin6_addr, ip, sizeof ip);
    snprintf(buf, size, "[%s]:%u", ip, ntohs(addr->addr.sin6.sin6_port));
  } else {
    inet_ntop(AF_INET, &addr->addr.sin.sin_addr, ip, sizeof ip);
    snprintf(buf, size, "%s:%u", ip, ntohs(addr->addr.sin.sin_port));
  }
  return buf;
}
