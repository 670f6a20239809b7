/* render.c - a meeting's content as HTML for mrs's kiosk page (render.h).
 *
 * Markdown goes through md4c's parser with raw HTML off
 * (MD_FLAG_NOHTML: what looks like a tag is text); the HTML is written
 * here from md4c's callbacks, not by md4c-html, so that nothing of the
 * input ever becomes a tag or an attribute: text is escaped, a link's
 * destination and an image's source are dropped, a code block's info
 * string is not used.  Nesting of quotes and lists is shown to
 * MAX_DEPTH levels (deeper ones are flattened), so that a hostile
 * content cannot make the kiosk's browser lay out a million boxes.
 */
#include "render.h"

#include <cjson/cJSON.h>
#include <md4c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 16           /* nested quotes and lists shown */
#define JSON_DEPTH 6           /* nested tables shown; deeper: JSON text */
#define JSON_COLUMNS 12        /* an array of objects with more keys: a list */

/* ---- the buffer ---------------------------------------------------------- */

void rbuf_add(struct rbuf *b, const char *s, size_t n)
{
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    while (cap < b->len + n + 1) {
      if (cap > ((size_t)-1) / 2) {
        b->oom = 1;
        return;
      }
      cap *= 2;
    }
    p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void rbuf_puts(struct rbuf *b, const char *s)
{
  rbuf_add(b, s, strlen(s));
}

void rbuf_free(struct rbuf *b)
{
  free(b->p);
  memset(b, 0, sizeof *b);
}

void render_escape(struct rbuf *b, const char *s, size_t n)
{
  size_t run = 0;

  for (size_t i = 0; i < n; i++) {
    const char *e;
    switch (s[i]) {
    case '&': e = "&amp;"; break;
    case '<': e = "&lt;"; break;
    case '>': e = "&gt;"; break;
    case '"': e = "&quot;"; break;
    case '\'': e = "&#39;"; break;
    case '\0': e = "\xef\xbf\xbd"; break;
    default: continue;
    }
    rbuf_add(b, s + run, i - run);
    rbuf_puts(b, e);
    run = i + 1;
  }
  rbuf_add(b, s + run, n - run);
}

/* ---- markdown ------------------------------------------------------------ */

struct md {
  struct rbuf *b;
  int depth;                  /* of quotes and lists */
};

static int nests(MD_BLOCKTYPE t)
{
  return t == MD_BLOCK_QUOTE || t == MD_BLOCK_UL || t == MD_BLOCK_OL || t == MD_BLOCK_LI;
}

static const char *align_class(MD_ALIGN a)
{
  return a == MD_ALIGN_LEFT ? " class=\"l\"" : a == MD_ALIGN_CENTER ? " class=\"c\"" :
         a == MD_ALIGN_RIGHT ? " class=\"r\"" : "";
}

static int md_enter_block(MD_BLOCKTYPE t, void *detail, void *arg)
{
  struct md *m = arg;
  struct rbuf *b = m->b;
  char tag[48];

  if (nests(t) && ++m->depth > MAX_DEPTH)
    return 0;
  switch (t) {
  case MD_BLOCK_DOC: break;
  case MD_BLOCK_QUOTE: rbuf_puts(b, "<blockquote>"); break;
  case MD_BLOCK_UL: rbuf_puts(b, "<ul>"); break;
  case MD_BLOCK_OL: {
    const MD_BLOCK_OL_DETAIL *d = detail;
    if (d->start != 1) {
      snprintf(tag, sizeof tag, "<ol start=\"%u\">", d->start);
      rbuf_puts(b, tag);
    } else {
      rbuf_puts(b, "<ol>");
    }
    break;
  }
  case MD_BLOCK_LI: {
    const MD_BLOCK_LI_DETAIL *d = detail;
    rbuf_puts(b, "<li>");
    if (d->is_task)
      rbuf_puts(b, d->task_mark == ' ' ? "\xe2\x98\x90 " : "\xe2\x98\x91 ");
    break;
  }
  case MD_BLOCK_HR: rbuf_puts(b, "<hr>"); break;
  case MD_BLOCK_H:
    snprintf(tag, sizeof tag, "<h%u>", ((const MD_BLOCK_H_DETAIL *)detail)->level);
    rbuf_puts(b, tag);
    break;
  case MD_BLOCK_CODE: rbuf_puts(b, "<pre><code>"); break;
  case MD_BLOCK_HTML: rbuf_puts(b, "<pre>"); break;      /* not with NOHTML */
  case MD_BLOCK_P: rbuf_puts(b, "<p>"); break;
  case MD_BLOCK_TABLE: rbuf_puts(b, "<table>"); break;
  case MD_BLOCK_THEAD: rbuf_puts(b, "<thead>"); break;
  case MD_BLOCK_TBODY: rbuf_puts(b, "<tbody>"); break;
  case MD_BLOCK_TR: rbuf_puts(b, "<tr>"); break;
  case MD_BLOCK_TH:
  case MD_BLOCK_TD:
    snprintf(tag, sizeof tag, "<%s%s>", t == MD_BLOCK_TH ? "th" : "td",
             align_class(((const MD_BLOCK_TD_DETAIL *)detail)->align));
    rbuf_puts(b, tag);
    break;
  }
  return b->oom ? -1 : 0;
}

static int md_leave_block(MD_BLOCKTYPE t, void *detail, void *arg)
{
  struct md *m = arg;
  struct rbuf *b = m->b;
  char tag[16];

  (void)detail;
  if (nests(t) && m->depth-- > MAX_DEPTH)
    return 0;
  switch (t) {
  case MD_BLOCK_DOC: break;
  case MD_BLOCK_QUOTE: rbuf_puts(b, "</blockquote>\n"); break;
  case MD_BLOCK_UL: rbuf_puts(b, "</ul>\n"); break;
  case MD_BLOCK_OL: rbuf_puts(b, "</ol>\n"); break;
  case MD_BLOCK_LI: rbuf_puts(b, "</li>\n"); break;
  case MD_BLOCK_HR: break;
  case MD_BLOCK_H:
    snprintf(tag, sizeof tag, "</h%u>\n", ((const MD_BLOCK_H_DETAIL *)detail)->level);
    rbuf_puts(b, tag);
    break;
  case MD_BLOCK_CODE: rbuf_puts(b, "</code></pre>\n"); break;
  case MD_BLOCK_HTML: rbuf_puts(b, "</pre>\n"); break;
  case MD_BLOCK_P: rbuf_puts(b, "</p>\n"); break;
  case MD_BLOCK_TABLE: rbuf_puts(b, "</table>\n"); break;
  case MD_BLOCK_THEAD: rbuf_puts(b, "</thead>"); break;
  case MD_BLOCK_TBODY: rbuf_puts(b, "</tbody>"); break;
  case MD_BLOCK_TR: rbuf_puts(b, "</tr>\n"); break;
  case MD_BLOCK_TH: rbuf_puts(b, "</th>"); break;
  case MD_BLOCK_TD: rbuf_puts(b, "</td>"); break;
  }
  return b->oom ? -1 : 0;
}

static const char *span_tag(MD_SPANTYPE t)
{
  switch (t) {
  case MD_SPAN_EM: return "em";
  case MD_SPAN_STRONG: return "strong";
  case MD_SPAN_CODE: return "code";
  case MD_SPAN_DEL: return "del";
  case MD_SPAN_U: return "u";
  default: return NULL;       /* a link, an image, ...: a span of a class */
  }
}

static int md_enter_span(MD_SPANTYPE t, void *detail, void *arg)
{
  struct md *m = arg;
  const char *tag = span_tag(t);
  char open[32];

  (void)detail;
  if (tag)
    snprintf(open, sizeof open, "<%s>", tag);
  else
    snprintf(open, sizeof open, "<span class=\"%s\">", t == MD_SPAN_IMG ? "img" : "a");
  rbuf_puts(m->b, open);
  return m->b->oom ? -1 : 0;
}

static int md_leave_span(MD_SPANTYPE t, void *detail, void *arg)
{
  struct md *m = arg;
  const char *tag = span_tag(t);
  char close[16];

  (void)detail;
  snprintf(close, sizeof close, "</%s>", tag ? tag : "span");
  rbuf_puts(m->b, close);
  return m->b->oom ? -1 : 0;
}

/* "&name;", "&#123;" or "&#x1F;", as md4c reports an entity: passed on as
 * it is (the browser turns a character reference into text, never into
 * markup); anything else is escaped. */
static int entity_ok(const char *s, size_t n)
{
  size_t i = 1;
  int hex = 0;

  if (n < 3 || n > 40 || s[0] != '&' || s[n - 1] != ';')
    return 0;
  if (s[1] == '#') {
    i = 2;
    if (i < n - 1 && (s[i] == 'x' || s[i] == 'X'))
      hex = 1, i++;
    if (i == n - 1)
      return 0;
    for (; i < n - 1; i++)
      if (!(s[i] >= '0' && s[i] <= '9') &&
          !(hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))))
        return 0;
    return 1;
  }
  for (; i < n - 1; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (i > 1 && s[i] >= '0' && s[i] <= '9')))
      return 0;
  return 1;
}

static int md_text(MD_TEXTTYPE t, const MD_CHAR *s, MD_SIZE n, void *arg)
{
  struct md *m = arg;

  switch (t) {
  case MD_TEXT_NULLCHAR: rbuf_puts(m->b, "\xef\xbf\xbd"); break;
  case MD_TEXT_BR:
  case MD_TEXT_SOFTBR: rbuf_puts(m->b, "<br>\n"); break;
  case MD_TEXT_ENTITY:
    if (entity_ok(s, n))
      rbuf_add(m->b, s, n);
    else
      render_escape(m->b, s, n);
    break;
  default: render_escape(m->b, s, n); break;    /* text, code, raw HTML */
  }
  return m->b->oom ? -1 : 0;
}

/* md4c 0.4.8 may look at the byte after its input: at the end of an
 * inline link that is cut off (md_is_inline_link_spec tests CH(off) for a
 * newline with off at the end), and a newline found there sends it on into
 * what follows.  So it always gets a copy that ends in NUL, which is no
 * newline (found by make fuzz's render target). */
int render_markdown(const char *md, size_t len, struct rbuf *b)
{
  struct md m = { b, 0 };
  MD_PARSER p = {
    0,
    MD_FLAG_NOHTML | MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS,
    md_enter_block, md_leave_block, md_enter_span, md_leave_span, md_text,
    NULL, NULL
  };
  char *text;
  int rc;

  if (len >= (MD_SIZE)-1 || !(text = malloc(len + 1)))
    return -1;
  memcpy(text, md, len);
  text[len] = '\0';
  rbuf_add(b, "", 0);
  rc = md_parse(text, (MD_SIZE)len, &p, &m);
  free(text);
  return rc != 0 || b->oom ? -1 : 0;
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_value(struct rbuf *b, const cJSON *v, int depth);

static void json_text_of(struct rbuf *b, const cJSON *v)
{
  char *s = cJSON_PrintUnformatted(v);
  if (!s) {
    b->oom = 1;
    return;
  }
  render_escape(b, s, strlen(s));
  free(s);
}

/* A string's lines as lines. */
static void json_string(struct rbuf *b, const char *s)
{
  const char *nl;

  while ((nl = strchr(s, '\n'))) {
    render_escape(b, s, (size_t)(nl - s));
    rbuf_puts(b, "<br>");
    s = nl + 1;
  }
  render_escape(b, s, strlen(s));
}

/* The keys of an array of objects, in the order first seen; 0 when it is
 * not one, or has more than JSON_COLUMNS different keys. */
static int json_columns(const cJSON *arr, const char *cols[JSON_COLUMNS])
{
  const cJSON *row, *kv;
  int n = 0;

  if (!cJSON_GetArraySize(arr))
    return 0;
  cJSON_ArrayForEach(row, arr) {
    if (!cJSON_IsObject(row))
      return 0;
    cJSON_ArrayForEach(kv, row) {
      int i = 0;
      while (i < n && strcmp(cols[i], kv->string))
        i++;
      if (i < n)
        continue;
      if (n == JSON_COLUMNS)
        return 0;
      cols[n++] = kv->string;
    }
  }
  return n;
}

static void json_value(struct rbuf *b, const cJSON *v, int depth)
{
  const cJSON *it;
  const char *cols[JSON_COLUMNS];
  int ncols;

  if (b->oom)
    return;
  if (cJSON_IsString(v)) {
    json_string(b, v->valuestring);
  } else if (cJSON_IsNull(v)) {
    rbuf_puts(b, "\xe2\x80\x94");                   /* an em dash */
  } else if (!cJSON_IsObject(v) && !cJSON_IsArray(v)) {
    json_text_of(b, v);                             /* number, true, false */
  } else if (depth >= JSON_DEPTH || !cJSON_GetArraySize(v)) {
    rbuf_puts(b, "<code>");
    json_text_of(b, v);
    rbuf_puts(b, "</code>");
  } else if (cJSON_IsObject(v)) {
    rbuf_puts(b, "<table class=\"kv\">");
    cJSON_ArrayForEach(it, v) {
      rbuf_puts(b, "<tr><th>");
      render_escape(b, it->string, strlen(it->string));
      rbuf_puts(b, "</th><td>");
      json_value(b, it, depth + 1);
      rbuf_puts(b, "</td></tr>\n");
    }
    rbuf_puts(b, "</table>");
  } else if ((ncols = json_columns(v, cols)) > 0) {
    rbuf_puts(b, "<table><thead><tr>");
    for (int i = 0; i < ncols; i++) {
      rbuf_puts(b, "<th>");
      render_escape(b, cols[i], strlen(cols[i]));
      rbuf_puts(b, "</th>");
    }
    rbuf_puts(b, "</tr></thead><tbody>\n");
    cJSON_ArrayForEach(it, v) {
      rbuf_puts(b, "<tr>");
      for (int i = 0; i < ncols; i++) {
        const cJSON *cell = cJSON_GetObjectItemCaseSensitive(it, cols[i]);
        rbuf_puts(b, "<td>");
        if (cell)
          json_value(b, cell, depth + 1);
        rbuf_puts(b, "</td>");
      }
      rbuf_puts(b, "</tr>\n");
    }
    rbuf_puts(b, "</tbody></table>");
  } else {
    rbuf_puts(b, "<ul>");
    cJSON_ArrayForEach(it, v) {
      rbuf_puts(b, "<li>");
      json_value(b, it, depth + 1);
      rbuf_puts(b, "</li>\n");
    }
    rbuf_puts(b, "</ul>");
  }
}

int render_json(const char *json, size_t len, struct rbuf *b)
{
  cJSON *v = cJSON_ParseWithLength(json, len);

  if (!v || (!cJSON_IsObject(v) && !cJSON_IsArray(v))) {
    cJSON_Delete(v);
    return -1;
  }
  rbuf_add(b, "", 0);
  json_value(b, v, 0);
  cJSON_Delete(v);
  return b->oom ? -1 : 0;
}

int render_text(const char *text, size_t len, struct rbuf *b)
{
  rbuf_puts(b, "<pre class=\"text\">");
  render_escape(b, text, len);
  rbuf_puts(b, "</pre>");
  return b->oom ? -1 : 0;
}
