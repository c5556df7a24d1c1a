/*
 * jsonx.c -- strict JSON over json-c (see jsonx.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "parse.h"

/* Does v hold a NaN or an infinity anywhere?  (json-c accepts them.) */
static int
nonfinite(json_object *v)
{
	size_t	 i, n;

	switch (json_object_get_type(v)) {
	case json_type_double:
		return !isfinite(json_object_get_double(v));
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (nonfinite(json_object_array_get_idx(v, i)))
				return 1;
		return 0;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (nonfinite(val))
				return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

/* Strict UTF-8 and no control bytes other than JSON whitespace. */
static int
clean_text(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != ' ' && s[i] != '\t' &&
		    s[i] != '\r' && s[i] != '\n')
			return 0;
	return utf8_count(s, n) >= 0;
}

json_object *
jsonx_parse(const char *s, size_t n)
{
	struct json_tokener	*tok;
	json_object		*obj = NULL;
	size_t			 end;

	if (n > INT32_MAX || !clean_text(s, n))
		return NULL;
	if ((tok = json_tokener_new_ex(JSONX_DEPTH)) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, s, (int)n);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		/* Includes an incomplete value (continue): not one value. */
		json_object_put(obj);
		obj = NULL;
		goto out;
	}
	/* Only whitespace may follow the value. */
	for (end = json_tokener_get_parse_end(tok); end < n; end++)
		if (strchr(" \t\r\n", s[end]) == NULL || s[end] == '\0') {
			json_object_put(obj);
			obj = NULL;
			break;
		}
	/*
	 * Only an object, array or string at the top: json-c refuses a bare
	 * number or literal alone, but not one followed by whitespace ("1 ",
	 * "true\n"; found by tests/fuzz/fuzz_jsonx).
	 */
	if (obj != NULL && !json_object_is_type(obj, json_type_object) &&
	    !json_object_is_type(obj, json_type_array) &&
	    !json_object_is_type(obj, json_type_string)) {
		json_object_put(obj);
		obj = NULL;
	}
	if (obj != NULL && nonfinite(obj)) {
		json_object_put(obj);
		obj = NULL;
	}
out:
	json_tokener_free(tok);
	return obj;
}

int
jsonx_str(json_object *obj, const char *key, const char **s, size_t *len)
{
	json_object	*v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	return 1;
}

void
jsonx_set(json_object *obj, const char *key, json_object *v)
{
	/* The key is not copied: one malloc and free less a member. */
	if (json_object_object_add_ex(obj, key, v,
	    JSON_C_OBJECT_ADD_CONSTANT_KEY) != 0)
		abort();	/* out of memory: the supervisor respawns us */
}

void
jsonx_add_str(json_object *obj, const char *key, const char *s)
{
	jsonx_set(obj, key, s == NULL ? NULL : json_object_new_string(s));
}

const char *
jsonx_text(json_object *obj, size_t *len)
{
	const char	*s;
	size_t		 n;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s == NULL)
		abort();
	if (len != NULL)
		*len = n;
	return s;
}
