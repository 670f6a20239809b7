/* render.c - fuzz target: the kiosk page's content renderer (src/render.c),
 * md4c's parser under it, on whatever a meeting's content may be.
 *
 * The input is the content.  Invariants: markdown always renders (only
 * memory can fail it), and neither markdown nor JSON nor plain text
 * output holds a tag that is not the renderer's own, or an attribute
 * other than its class and an ordered list's start: nothing of the input
 * becomes markup on the page.
 */
#include "check.h"
#include "render.h"

#include <stdint.h>
#include <string.h>

static int own_tag(const char *p)
{
  static const char *const own[] = {
    "p>", "br>", "h1>", "h2>", "h3>", "h4>", "h5>", "h6>", "em>", "strong>",
    "code>", "pre>", "pre class=\"text\">", "ul>", "ol>", "li>", "blockquote>",
    "span class=\"a\">", "span class=\"img\">", "span>", "table>",
    "table class=\"kv\">", "thead>", "tbody>", "tr>", "th>", "td>", "th class=\"l\">",
    "th class=\"c\">", "th class=\"r\">", "td class=\"l\">", "td class=\"c\">",
    "td class=\"r\">", "hr>", "del>", "u>", NULL
  };
  if (*p == '/')
    p++;
  if (!strncmp(p, "ol start=\"", 10)) {
    p += 10;
    while (*p >= '0' && *p <= '9')
      p++;
    return !strncmp(p, "\">", 2);
  }
  for (int i = 0; own[i]; i++)
    if (!strncmp(p, own[i], strlen(own[i])))
      return 1;
  return 0;
}

static void check_html(const struct rbuf *b)
{
  CHECK(b->p);
  CHECK(strlen(b->p) == b->len);
  for (const char *p = strchr(b->p, '<'); p; p = strchr(p + 1, '<'))
    CHECK(own_tag(p + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct rbuf b = { 0 };

  CHECK(render_markdown((const char *)data, size, &b) == 0);
  check_html(&b);
  rbuf_free(&b);
  if (render_json((const char *)data, size, &b) == 0)
    check_html(&b);
  rbuf_free(&b);
  CHECK(render_text((const char *)data, size, &b) == 0);
  check_html(&b);
  rbuf_free(&b);
  return 0;
}
