/* mk/mbedtls-config.h - nano's mbedTLS 2.28 configuration: CoAP over
 * DTLS 1.2 with pre-shared keys (RFC 7252 section 9.1.3.1), nothing else.
 *
 * mk/deps.sh builds the library with -DMBEDTLS_CONFIG_FILE pointing here
 * and installs this file as the prefix's mbedtls/config.h, so libcoap's
 * coap_mbedtls.c (and anything else built against the prefix) sees the
 * very same configuration: a struct laid out under another config would
 * be a silent memory bug, not a compile error.
 *
 * Start: mbedTLS's configs/config-ccm-psk-dtls1_2.h, without its two
 * settings that do not fit CoAP: MBEDTLS_SSL_MAX_CONTENT_LEN 256 (a CoAP
 * block of 1024 bytes does not fit a record) and MBEDTLS_PSK_MAX_LEN 16
 * (libcoap takes keys up to 64 bytes).  Every line below says why it is
 * here; what is not here is off: RSA, DHM, ECDH, ECDSA, PEM, X.509
 * writing, CRLs, SHA-1, MD5, SHA-512, CBC, ChaCha, ARIA, Camellia, DES,
 * the PSA layer, TLS 1.0/1.1, renegotiation, session tickets and cache,
 * ALPN, connection IDs, file and socket I/O.  The X.509/PK/bignum/ECP
 * lines at the end are there only because libcoap does not build without
 * them (see there).
 */
#ifndef MBEDTLS_CONFIG_H
#define MBEDTLS_CONFIG_H

/* ---- system */

/* time(): DTLS cookies expire (MBEDTLS_SSL_COOKIE_TIMEOUT) instead of
 * being counted, and the Hello random carries the time as TLS expects. */
#define MBEDTLS_HAVE_TIME

/* Entropy from getrandom(2), by mk/mbedtls-getrandom.c as the one strong
 * source: mbedTLS 2.28's own platform source uses getrandom only under
 * glibc and reads /dev/urandom with stdio under musl (see that file). */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
/* the retransmission timer of the DTLS handshake: libcoap hands
 * mbedtls_timing_set_delay/get_delay to mbedtls_ssl_set_timer_cb */
#define MBEDTLS_TIMING_C

/* mbedtls_strerror() with the messages of the modules configured here
 * (about 8 KB).  libcoap logs a failed handshake with the message only,
 * no code ("session establish returned '%s'"): with
 * MBEDTLS_ERROR_STRERROR_DUMMY instead, a wrong key or a bad ClientHello
 * would be logged as ''. */
#define MBEDTLS_ERROR_C
/* mbedtls_version_get_number(): libcoap's coap_get_tls_library_version(),
 * and libcoap's configure links with
 * mbedtls_version_get_string to find the library at all */
#define MBEDTLS_VERSION_C

/* ---- cryptography */

#define MBEDTLS_CIPHER_C                /* the SSL layer's cipher API */
#define MBEDTLS_MD_C                    /* the SSL layer's digest API (PRF, HMAC) */
#define MBEDTLS_AES_C                   /* the only block cipher */
#define MBEDTLS_CCM_C                   /* AES-CCM and AES-CCM-8 suites */
#define MBEDTLS_GCM_C                   /* AES-128-GCM suite */
#define MBEDTLS_SHA256_C                /* TLS 1.2 PRF, HMAC-SHA256, entropy pool */
#define MBEDTLS_BASE64_C                /* an IRK in base64, as Home Assistant takes it (src/irk.c) */
#define MBEDTLS_CTR_DRBG_C              /* libcoap seeds one per session */

/* AES: the tables in RAM, built on first use, a quarter of the size
 * (2 KB instead of 8 KB; a few more instructions per round). */
#define MBEDTLS_AES_FEWER_TABLES

/* ---- TLS */

#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C               /* the client side (coaps:// requests) */
#define MBEDTLS_SSL_SRV_C               /* every role's server */
#define MBEDTLS_SSL_PROTO_TLS1_2        /* DTLS 1.2 is TLS 1.2 on datagrams */
#define MBEDTLS_SSL_PROTO_DTLS

/* Server side: HelloVerifyRequest with a stateless cookie, so a spoofed
 * ClientHello gets no state and no amplification (RFC 6347 4.2.1). */
#define MBEDTLS_SSL_DTLS_HELLO_VERIFY
#define MBEDTLS_SSL_COOKIE_C
/* a client restarting on the same port gets a fresh handshake */
#define MBEDTLS_SSL_DTLS_CLIENT_PORT_REUSE
/* drop replayed records (RFC 6347 4.1.2.6) */
#define MBEDTLS_SSL_DTLS_ANTI_REPLAY
/* records failing authentication are dropped silently either way; this
 * adds mbedtls_ssl_conf_dtls_badmac_limit() to close a session after N of
 * them.  Inert as things stand: libcoap 4.3.5 owns the ssl_config and
 * never sets a limit (0, none).  Kept (a few bytes) so a later libcoap, or
 * a patch, can. */
#define MBEDTLS_SSL_DTLS_BADMAC_LIMIT

/* RFC 7627: the master secret covers the whole handshake (OpenSSL and
 * GnuTLS offer it). */
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
/* send the alert for every failure (a wrong key: bad_record_mac), so a
 * client fails at once instead of timing out */
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES

/* The key exchange: plain PSK, no Diffie-Hellman (the bignum and curve
 * code further down is there for libcoap's sake only). */
#define MBEDTLS_KEY_EXCHANGE_PSK_ENABLED

/* The suites, in the server's order of preference (mbedTLS servers pick
 * by their own order).  All AEAD with AES and the SHA-256 PRF:
 * TLS_PSK_WITH_AES_128_CCM_8 is CoAP's mandatory one (RFC 7252 9.1.3.1),
 * the others are there for peers (OpenSSL, GnuTLS) that prefer a full
 * 16-byte tag.  AES-256-GCM would need SHA-384 (SHA-512 code): left out. */
#define MBEDTLS_SSL_CIPHERSUITES                        \
    MBEDTLS_TLS_PSK_WITH_AES_128_CCM,                   \
    MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256,            \
    MBEDTLS_TLS_PSK_WITH_AES_256_CCM,                   \
    MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8,                 \
    MBEDTLS_TLS_PSK_WITH_AES_256_CCM_8

/* ---- sizes */

/* Record plaintext, each way.  libcoap reads datagrams into a
 * COAP_RXBUFFER_SIZE (1472) buffer and sends PDUs of at most its MTU
 * (1152) less the record expansion, so 1472 holds anything that can
 * arrive or leave; a larger record from a peer is dropped as invalid
 * (DTLS discards, it does not fail).  The default, 16384, would cost
 * 32 KB per session. */
#define MBEDTLS_SSL_IN_CONTENT_LEN      1472
#define MBEDTLS_SSL_OUT_CONTENT_LEN     1472
/* Heap for reassembling handshake messages and buffering future ones,
 * per handshake (default 32768): at least 9/8 of MBEDTLS_SSL_IN_CONTENT_LEN
 * (mbedTLS's own rule); PSK handshake messages are a few hundred bytes. */
#define MBEDTLS_SSL_DTLS_MAX_BUFFERING  4096
/* libcoap's own limit on a key (COAP_DTLS_MAX_PSK) */
#define MBEDTLS_PSK_MAX_LEN             64

/* ---- only because libcoap 4.3.5 does not build without them
 *
 * src/coap_mbedtls.c compiles its certificate (PKI) code whatever the
 * configuration: mbedtls_x509_crt in its structs, and calls to
 * mbedtls_x509_crt_parse, mbedtls_pk_parse_key, mbedtls_ssl_conf_own_cert,
 * mbedtls_ssl_conf_sni, mbedtls_ssl_set_hostname, ...; and
 * coap_dtls_set_log_level() calls mbedtls_debug_set_threshold.  nano never
 * gives libcoap a certificate, and with the PSK key exchange as the only
 * one no handshake sends or asks for one, so none of this parses anything
 * from the network; it is linked (libcoap's session setup reaches it), not
 * used.  The smallest set that compiles and links, each for a reason: */

/* mbedtls_x509_crt and its functions (ssl.h only declares them with it) */
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_USE_C              /* required by X509_CRT_PARSE_C */
/* X509_USE_C's prerequisites */
#define MBEDTLS_ASN1_PARSE_C            /* also mbedtls_asn1_find_named_data (libcoap) */
#define MBEDTLS_OID_C
#define MBEDTLS_PK_PARSE_C              /* also mbedtls_pk_parse_key (libcoap) */
#define MBEDTLS_PK_C                    /* required by PK_PARSE_C */
#define MBEDTLS_BIGNUM_C
/* PK_C wants one public-key algorithm, RSA or ECP (the same size here,
 * 32 bytes apart in nano): ECP with the one curve CoAP's certificate and
 * raw-public-key modes name (RFC 7252 9.1.3.2, secp256r1), so a later
 * step to those modes starts from what is already in. */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
/* mbedtls_ssl_conf_sni (libcoap's server, always), needs X509_CRT_PARSE_C */
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
/* mbedtls_debug_set_threshold; the bonus: a program that calls
 * coap_dtls_set_log_level() (testsrv --psk at --log-level debug) gets
 * mbedTLS's handshake in its log, the chosen suite included.  About 40 KB
 * of nano's size (strings and calls all through the SSL code). */
#define MBEDTLS_DEBUG_C

#include "mbedtls/check_config.h"

#endif /* MBEDTLS_CONFIG_H */
