/*
 * jsonx.h -- strict JSON parsing and small accessors over json-c.
 * (Not json.h: json-c installs a header of that name.)
 */
#ifndef WXAUTH_JSONX_H
#define WXAUTH_JSONX_H

#include <stddef.h>

#include <json-c/json.h>

#define JSONX_DEPTH	16	/* deepest nesting we parse */

/*
 * Parse exactly the n bytes at s as one JSON object, array or string
 * (json-c's strict mode; the text is valid UTF-8 in the strict sense of
 * utf8_count(); no control bytes but JSON whitespace; no NaN or Infinity;
 * nothing after the value but whitespace; at most JSONX_DEPTH deep).
 * Returns the value (caller puts it) or NULL.  Leniencies json-c keeps:
 * a bare number or literal at the top level is refused, while "1.", a
 * single-quoted member name and a raw tab inside a string are accepted;
 * of a member repeated in one object, the last wins.
 */
json_object	*jsonx_parse(const char *s, size_t n);

/*
 * If obj is an object with a string member key, set *s (borrowed from obj)
 * and *len and return 1; a missing or null member returns 0; a member of
 * another type returns -1.
 */
int		 jsonx_str(json_object *obj, const char *key, const char **s,
		    size_t *len);

/*
 * Add key = v to obj (v's reference passes to obj).  key is not copied: it
 * must outlive obj, as a string literal or a static table's entry does.
 */
void		 jsonx_set(json_object *obj, const char *key, json_object *v);

/* Add key = the string s (or JSON null if s is NULL), as jsonx_set(). */
void		 jsonx_add_str(json_object *obj, const char *key, const char *s);

/* Serialise compactly, UTF-8 unescaped; the string is owned by obj. */
const char	*jsonx_text(json_object *obj, size_t *len);

#endif
