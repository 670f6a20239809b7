/* check.h - the invariants of the parser fuzz targets: a CHECK that fails
 * prints where and why and aborts, which libFuzzer reports as a crash
 * (with the input saved), like a sanitizer finding. */
#ifndef NANO_FUZZ_CHECK_H
#define NANO_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,   \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

#endif
