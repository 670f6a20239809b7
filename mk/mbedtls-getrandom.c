/* mk/mbedtls-getrandom.c - mbedTLS's entropy from getrandom(2), any libc.
 *
 * mbedTLS 2.28's platform entropy (library/entropy_poll.c) calls getrandom
 * only under glibc (__GLIBC__); with musl it falls back to reading
 * /dev/urandom through stdio, twice for every DTLS session libcoap opens,
 * and fails where there is no /dev/urandom (a chroot, a bare /dev) or no
 * free descriptor.  mk/mbedtls-config.h therefore turns platform entropy
 * off (MBEDTLS_NO_PLATFORM_ENTROPY) and names this function as the strong
 * source (MBEDTLS_ENTROPY_HARDWARE_ALT); mk/deps.sh compiles it into
 * libmbedcrypto.a with the library's own flags and configuration.
 *
 * getrandom(2) with no flags blocks only until the kernel's pool was first
 * initialised after boot (Linux 3.17 on; musl 1.1.20 and glibc 2.25 wrap
 * it), then never fails short of a signal.
 */
#include "mbedtls/entropy.h"
#include "mbedtls/entropy_poll.h"

#include <errno.h>
#include <sys/random.h>

#if !defined(MBEDTLS_ENTROPY_HARDWARE_ALT)
#error "mk/mbedtls-getrandom.c is built only with MBEDTLS_ENTROPY_HARDWARE_ALT"
#endif

int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen)
{
    size_t got = 0;

    (void) data;
    while (got < len) {
        ssize_t n = getrandom(output + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *olen = 0;
            return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
        }
        got += (size_t) n;
    }
    *olen = got;
    return 0;
}
