/* render.h - a meeting's content as HTML for mrs's kiosk page.
 *
 *   struct rbuf html = { 0 };
 *   if (render_markdown(text, len, &html) == 0)  ... html.p, html.len ...
 *   rbuf_free(&html);
 *
 * The output is a fragment for the page's content element and holds no
 * markup from the input: every character of it is escaped text, and the
 * only tags are the renderer's own (no attributes but a number and a
 * class), so it may go into innerHTML.  Markdown is CommonMark with
 * tables, strikethrough and task lists, parsed by md4c; raw HTML in it is
 * shown as the text it is, a link as its text (a kiosk cannot follow
 * it), an image as its description (the building's network may have no
 * internet).  A soft line break is a line break, so plain text, which is
 * markdown that uses none of it, keeps its lines.  JSON (an object or an
 * array) becomes tables: an object a two-column table of keys and values,
 * an array of objects one row each, other arrays a list.
 */
#ifndef NANO_RENDER_H
#define NANO_RENDER_H

#include <stddef.h>

/* A growing NUL-terminated string; oom is set (and the text cut) when
 * memory ran out. */
struct rbuf {
  char *p;
  size_t len, cap;
  int oom;
};

void rbuf_add(struct rbuf *b, const char *s, size_t n);
void rbuf_puts(struct rbuf *b, const char *s);
void rbuf_free(struct rbuf *b);
/* s as HTML text (& < > " ' escaped, NUL as U+FFFD). */
void render_escape(struct rbuf *b, const char *s, size_t n);

/* 0, or -1 when out of memory (b then holds what was rendered). */
int render_markdown(const char *md, size_t len, struct rbuf *b);
/* 0, or -1 when json is not a JSON object or array (nothing rendered) or
 * memory ran out. */
int render_json(const char *json, size_t len, struct rbuf *b);
/* Plain text in a pre-wrapped block. */
int render_text(const char *text, size_t len, struct rbuf *b);

#endif
