/* render.c - unit tests of the kiosk page's content renderer (src/render.c):
 * markdown through md4c with nothing of the input becoming markup, JSON as
 * tables, plain text as text. */
#include "render.h"
#include "tap.h"

#include <stdlib.h>

static struct rbuf out;

static const char *md(const char *s)
{
  rbuf_free(&out);
  if (render_markdown(s, strlen(s), &out) < 0)
    return "(failed)";
  return out.p;
}

static const char *js(const char *s)
{
  rbuf_free(&out);
  if (render_json(s, strlen(s), &out) < 0)
    return "(failed)";
  return out.p;
}

static int has(const char *hay, const char *needle)
{
  int found = hay && strstr(hay, needle) != NULL;
  if (!found)
    printf("#   '%s' not in: %s\n", needle, hay ? hay : "(null)");
  return found;
}

/* No '<' in out but those of the renderer's own tags. */
static int only_own_tags(const char *h)
{
  static const char *const own[] = {
    "p>", "/p>", "br>", "h1>", "/h1>", "h2>", "/h2>", "h3>", "/h3>", "em>", "/em>",
    "strong>", "/strong>", "code>", "/code>", "pre>", "/pre>", "pre class=\"text\">",
    "ul>", "/ul>", "ol>", "/ol>", "li>", "/li>", "blockquote>", "/blockquote>",
    "span class=\"a\">", "span class=\"img\">", "/span>", "table>", "/table>",
    "table class=\"kv\">", "thead>", "/thead>", "tbody>", "/tbody>", "tr>", "/tr>",
    "th>", "/th>", "td>", "/td>", "td class=\"r\">", "th class=\"r\">", "hr>", "del>",
    "/del>", NULL
  };
  for (const char *p = strchr(h, '<'); p; p = strchr(p + 1, '<')) {
    int mine = 0;
    for (int i = 0; own[i] && !mine; i++)
      mine = !strncmp(p + 1, own[i], strlen(own[i]));
    if (!mine) {
      printf("#   a tag not the renderer's: %.40s\n", p);
      return 0;
    }
  }
  return 1;
}

int main(void)
{
  struct rbuf b = { 0 };
  char *big;

  plan(28);

  is_str(md("# Agenda\n\n1. *one*\n2. **two**\n"),
         "<h1>Agenda</h1>\n<ol><li><em>one</em></li>\n<li><strong>two</strong></li>\n</ol>\n",
         "headings, ordered lists, emphasis");
  ok(has(md("3. three\n4. four\n"), "<ol start=\"3\">"), "an ordered list's start");
  is_str(md("line one\nline two\n"), "<p>line one<br>\nline two</p>\n",
         "a soft break is a line break: plain text keeps its lines");
  is_str(md("<script>alert(1)</script>\n"),
         "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n", "a raw HTML block is text");
  is_str(md("a <b onclick=\"x()\">b</b> & c\n"),
         "<p>a &lt;b onclick=&quot;x()&quot;&gt;b&lt;/b&gt; &amp; c</p>\n",
         "inline raw HTML is text, & and quotes escaped");
  is_str(md("[click](javascript:alert(1)) ![logo](http://evil/x.png \"t\")\n"),
         "<p><span class=\"a\">click</span> <span class=\"img\">logo</span></p>\n",
         "a link is its text, an image its description: no URL is kept");
  ok(!strstr(md("<http://example.com/a?b=1>\n"), "href"), "an autolink has no href");
  is_str(md("```js\" onload=\"x\n<i>x</i>\n```\n"),
         "<pre><code>&lt;i&gt;x&lt;/i&gt;\n</code></pre>\n",
         "a code block is escaped and its info string dropped");
  is_str(md("`<b>`\n"), "<p><code>&lt;b&gt;</code></p>\n", "a code span is escaped");
  is_str(md("&copy; &#169; &#xA9; &amp;\n"), "<p>&copy; &#169; &#xA9; &amp;</p>\n",
         "entities pass as character references");
  ok(has(md("| a | b |\n|---|--:|\n| 1 | 2 |\n"), "<td class=\"r\">2</td>"),
     "tables, with alignment as a class");
  ok(has(md("- [x] done\n- [ ] todo\n"), "<li>\xe2\x98\x91 done</li>"), "task lists");
  ok(has(md("~~gone~~\n"), "<del>gone</del>"), "strikethrough");
  ok(has(md("> quoted\n"), "<blockquote><p>quoted</p>\n</blockquote>"), "block quotes");

  {
    /* md4c peeks at the byte after its input (test/fuzz/README): given
     * exactly the bytes of the content, it must still read only them */
    char *link = malloc(5), *digit = malloc(1);
    memcpy(link, "[a](b", 5);
    digit[0] = '1';
    rbuf_free(&out);
    ok(render_markdown(link, 5, &out) == 0 && !strcmp(out.p, "<p>[a](b</p>\n"),
       "a link cut off at the end of the content");
    rbuf_free(&out);
    ok(render_markdown(digit, 1, &out) == 0 && !strcmp(out.p, "<p>1</p>\n"),
       "a digit at the end of the content");
    free(link);
    free(digit);
  }

  big = malloc(200001);
  memset(big, '>', 200000);
  big[200000] = '\0';
  md(big);
  {
    int n = 0;
    for (const char *p = out.p; (p = strstr(p, "<blockquote>")); p++)
      n++;
    is_int(n, 16, "200000 nested quotes are shown 16 deep");
  }
  for (int i = 0; i < 200000; i++)
    big[i] = "<&\"'x\n*_`[]()!#|-"[i % 18];
  ok(strcmp(md(big), "(failed)") && only_own_tags(out.p),
     "markup characters of every kind: only the renderer's own tags");
  free(big);

  is_str(js("{\"Agenda\":\"Budget\",\"Minutes\":30}"),
         "<table class=\"kv\"><tr><th>Agenda</th><td>Budget</td></tr>\n"
         "<tr><th>Minutes</th><td>30</td></tr>\n</table>",
         "an object is a table of keys and values");
  ok(has(js("[{\"who\":\"Alice\",\"topic\":\"a\"},{\"who\":\"Bob\",\"time\":5}]"),
         "<thead><tr><th>who</th><th>topic</th><th>time</th></tr></thead>"),
     "an array of objects is a table with the keys as columns");
  ok(has(out.p, "<tr><td>Bob</td><td></td><td>5</td></tr>"), "one row per object");
  is_str(js("[\"a\",1,null,true]"),
         "<ul><li>a</li>\n<li>1</li>\n<li>\xe2\x80\x94</li>\n<li>true</li>\n</ul>",
         "an array of values is a list");
  is_str(js("{\"<k>\":\"<script>x</script>\\nline\"}"),
         "<table class=\"kv\"><tr><th>&lt;k&gt;</th><td>&lt;script&gt;x&lt;/script&gt;"
         "<br>line</td></tr>\n</table>",
         "keys and strings escaped, a string's lines kept");
  ok(has(js("{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":1}}}}}}}"),
         "<code>{&quot;g&quot;:1}</code>"), "deep nesting ends in JSON text");
  is_str(js("\"just a string\""), "(failed)", "JSON that is not an object or array");
  is_str(js("{nope"), "(failed)", "not JSON");

  rbuf_free(&out);
  render_text("a <b>\n", 6, &b);
  is_str(b.p, "<pre class=\"text\">a &lt;b&gt;\n</pre>", "plain text, escaped");
  rbuf_free(&b);
  render_escape(&b, "x\0y", 3);
  is_str(b.p, "x\xef\xbf\xbdy", "NUL becomes U+FFFD");
  rbuf_free(&b);
  return done_testing();
}
