/*
 * fuzz_jsonx.c -- jsonx_parse() (lib/jsonx.h) on any bytes.
 *
 * Invariants: a value accepted is an object, an array or a string, never
 * deeper than JSONX_DEPTH, with no NaN or infinity; the input was clean
 * UTF-8 text; its serialisation by jsonx_text() is valid UTF-8 of the
 * length reported, parses again, and serialises to the same bytes; the
 * members of an object read back through jsonx_str() as their types say.

 */
#include <math.h>

#include "fuzz.h"
#include "jsonx.h"
#include "log.h"
#include "parse.h"

/* Depth as JSONX_DEPTH counts it (a scalar inside one array: depth 1). */
static int
depth(json_object *v)
{
	int	 d = 0, k;
	size_t	 i, n;

	switch (json_object_get_type(v)) {
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if ((k = depth(json_object_array_get_idx(v, i))) > d)
				d = k;
		return d + 1;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if ((k = depth(val)) > d)
				d = k;
		}
		return d + 1;
	}
	case json_type_double:
		FUZZ_CHECK(isfinite(json_object_get_double(v)));
		return 0;
	default:
		return 0;
	}
}

/* jsonx_str() on every member of an object agrees with its type. */
static void
check_members(json_object *o)
{
	const char	*s;
	size_t		 len;
	int		 r;

	json_object_object_foreach(o, key, val) {
		s = NULL;
		len = 12345;
		r = jsonx_str(o, key, &s, &len);
		if (val == NULL)
			FUZZ_CHECK(r == 0);
		else if (json_object_is_type(val, json_type_string)) {
			FUZZ_CHECK(r == 1 && s == json_object_get_string(val));
			FUZZ_CHECK(len == (size_t)json_object_get_string_len(val));
			FUZZ_CHECK(s[len] == '\0');
		} else
			FUZZ_CHECK(r == -1);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object	*o, *o2;
	const char	*t1, *t2, *s;
	char		*in, *copy;
	size_t		 l1, l2, i, len;
	enum json_type	 ty;

	in = fuzz_dup(data, size);
	o = jsonx_parse(in, size);
	if (o == NULL) {
		free(in);
		return 0;
	}
	ty = json_object_get_type(o);
	FUZZ_CHECK(ty == json_type_object || ty == json_type_array ||
	    ty == json_type_string);
	FUZZ_CHECK(depth(o) <= JSONX_DEPTH);
	FUZZ_CHECK(utf8_count(in, size) >= 0);
	for (i = 0; i < size; i++)
		FUZZ_CHECK(data[i] >= 0x20 || data[i] == '\t' ||
		    data[i] == '\n' || data[i] == '\r');
	if (ty == json_type_object)
		check_members(o);
	else
		FUZZ_CHECK(jsonx_str(o, "a", &s, &len) == 0);

	/* Serialise, parse again, serialise again: the same text. */
	t1 = jsonx_text(o, &l1);
	FUZZ_CHECK(t1 != NULL && strlen(t1) == l1);
	FUZZ_CHECK(utf8_count(t1, l1) >= 0);
	copy = fuzz_dup(t1, l1);
	o2 = jsonx_parse(copy, l1);
	FUZZ_CHECK(o2 != NULL);
	FUZZ_CHECK(json_object_get_type(o2) == ty);
	t2 = jsonx_text(o2, &l2);
	FUZZ_CHECK(l1 == l2 && memcmp(t1, t2, l1) == 0);
	json_object_put(o2);
	free(copy);
	json_object_put(o);
	free(in);
	return 0;
}
