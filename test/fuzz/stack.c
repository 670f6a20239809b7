/* stack.c - fuzz target: nano stack's reading of a building description
 * (applets/stack.c: json_parse_object, then every field checked), and
 * the three outputs of one it takes.
 *
 * Invariants: a description is taken or refused as a whole, whichever
 * output is asked for; a refusal says why and prints nothing; one taken
 * prints a stack file with a services: section, a sim override and the
 * keys lines, each ending in a newline.
 */
#include "check.h"
#include "nano.h"

#include <stdint.h>
#include <string.h>

static int print(const uint8_t *data, size_t size, int what, char **text, size_t *len)
{
  char err[400] = "";
  FILE *out = open_memstream(text, len);
  int rc;

  CHECK(out);
  rc = stack_print((const char *)data, size, what, out, err, sizeof err);
  CHECK(fclose(out) == 0);
  if (rc < 0) {
    CHECK(err[0]);
    CHECK(*len == 0);
  } else {
    CHECK(*len > 0 && (*text)[*len - 1] == '\n');
  }
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text[3] = { NULL, NULL, NULL };
  size_t len[3];
  int rc[3];

  for (int what = 0; what < 3; what++)
    rc[what] = print(data, size, what, &text[what], &len[what]);
  CHECK(rc[0] == rc[1] && rc[1] == rc[2]);
  if (rc[0] == 0) {
    CHECK(strstr(text[0], "\nservices:\n") && strstr(text[0], "\nsecrets:\n"));
    CHECK(strstr(text[1], "\nservices:\n"));
    CHECK(!strncmp(text[2], "ae ae mcs", 9));
  }
  for (int what = 0; what < 3; what++)
    free(text[what]);
  return 0;
}
