/*
 * test_jsonx.c -- jsonx_parse (strict), jsonx_str, jsonx_set, jsonx_add_str,
 * jsonx_text.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "jsonx.h"

/* Does s parse (as the whole of its strlen bytes)? */
static int
parses(const char *s)
{
	json_object	*o = jsonx_parse(s, strlen(s));

	json_object_put(o);
	return o != NULL;
}

static void
test_parse(void)
{
	json_object	*o;
	char		 deep[64];
	int		 i;

	o = jsonx_parse("{\"a\":\"x\",\"b\":[1,2],\"c\":{\"d\":null}}", 34);
	CHECK(o != NULL && json_object_is_type(o, json_type_object));
	json_object_put(o);
	CHECK(parses("{}"));
	CHECK(parses("[]"));
	CHECK(parses("[1,2,{\"a\":true}]"));
	CHECK(parses("\"str\""));
	/* Documented leniency: a top-level number or literal is refused (json-c waits for
	 * more input after "123" or "true": json_tokener_continue), though
	 * the contract is "one JSON value".  Harmless for objects.
	CHECK(parses("123"));
	CHECK(parses("true"));
	*/
	/* Whitespace around is fine. */
	CHECK(parses(" \t\r\n{} \t\r\n"));
	CHECK(parses("{}\n"));
	/* Trailing garbage or a second value is not. */
	CHECK(!parses("{}x"));
	CHECK(!parses("{} x"));
	CHECK(!parses("{}{}"));
	CHECK(!parses("{},"));
	CHECK(!parses("{}]"));
	CHECK(!parses("{}//c"));
	CHECK(!parses("{}\f"));
	CHECK(jsonx_parse("{}\0", 3) == NULL);
	CHECK(jsonx_parse("{} \0 ", 4) == NULL);
	/* Only n bytes are read. */
	o = jsonx_parse("{}garbage", 2);
	CHECK(o != NULL);
	json_object_put(o);
	CHECK(jsonx_parse("{\"a\":1}", 6) == NULL);	/* incomplete */
	/* Empty / incomplete / not JSON. */
	CHECK(jsonx_parse("", 0) == NULL);
	CHECK(!parses(" "));
	CHECK(!parses("{"));
	CHECK(!parses("[1,"));
	CHECK(!parses("{\"a\""));
	CHECK(!parses("\"abc"));
	/* Strictness: RFC 8259 only. */
	CHECK(!parses("{\"a\":'x'}"));
	CHECK(!parses("{a:1}"));
	CHECK(!parses("[1,]"));
	CHECK(!parses("{\"a\":1,}"));
	CHECK(!parses("{\"a\":01}"));
	CHECK(!parses("/*c*/{}"));
	CHECK(!parses("\xef\xbb\xbf{}"));	/* BOM */
	CHECK(!parses("{\"a\":\"\\x41\"}"));
	CHECK(!parses("[TRUE]"));
	/* Refused although json-c's strict mode accepts them. */
	CHECK(!parses("{\"a\":NaN}"));
	CHECK(!parses("{\"a\":[-Infinity]}"));
	CHECK(!parses("{\"a\":\"x\001y\"}"));
	/* Leniencies json-c keeps (documented in jsonx.h):
	CHECK(!parses("{'a':1}"));
	CHECK(!parses("{\"a\":1.}"));
	CHECK(!parses("{\"a\":\"x\ty\"}"));
	*/

	/* Depth: 16 nested arrays parse, 17 do not. */
	for (i = 0; i < 16; i++) {
		deep[i] = '[';
		deep[16 + i] = ']';
	}
	deep[32] = '\0';
	CHECK(parses(deep));
	for (i = 0; i < 17; i++) {
		deep[i] = '[';
		deep[17 + i] = ']';
	}
	deep[34] = '\0';
	CHECK(!parses(deep));
	CHECK(!parses("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":"
	    "{\"a\":{}}}}}}}}}}}}}}}}}}"));

	/* UTF-8 */
	CHECK(parses("{\"a\":\"\xe5\xbe\xae\xf0\x9f\x98\x80\"}"));
	CHECK(!parses("{\"a\":\"\xc3\"}"));		/* truncated */
	CHECK(!parses("{\"a\":\"\xff\"}"));
	CHECK(!parses("{\"a\":\"\x80\"}"));
	CHECK(!parses("{\"\xfe\":1}"));
	/* Overlong forms, surrogates and code points above U+10FFFF. */
	CHECK(!parses("{\"a\":\"\xc0\x80\"}"));
	CHECK(!parses("{\"a\":\"\xed\xa0\x80\"}"));
	CHECK(!parses("{\"a\":\"\xf4\x90\x80\x80\"}"));
}

static void
test_str(void)
{
	json_object	*o;
	const char	*s = "untouched";
	size_t		 len = 99;
	const char	*doc = "{\"s\":\"hi\",\"e\":\"\",\"z\":\"a\\u0000b\","
	    "\"n\":null,\"i\":1,\"b\":true,\"o\":{},\"a\":[\"x\"]}";

	o = jsonx_parse(doc, strlen(doc));
	CHECK(o != NULL);
	CHECK(jsonx_str(o, "s", &s, &len) == 1);
	CHECK_STR(s, "hi");
	CHECK(len == 2);
	CHECK(jsonx_str(o, "e", &s, &len) == 1 && len == 0 && s[0] == '\0');
	CHECK(jsonx_str(o, "z", &s, &len) == 1 && len == 3 &&
	    memcmp(s, "a\0b", 3) == 0);
	s = "untouched";
	len = 99;
	CHECK(jsonx_str(o, "missing", &s, &len) == 0);
	CHECK(jsonx_str(o, "n", &s, &len) == 0);
	CHECK(jsonx_str(o, "i", &s, &len) == -1);
	CHECK(jsonx_str(o, "b", &s, &len) == -1);
	CHECK(jsonx_str(o, "o", &s, &len) == -1);
	CHECK(jsonx_str(o, "a", &s, &len) == -1);
	CHECK_STR(s, "untouched");
	CHECK(len == 99);
	/* Case matters. */
	CHECK(jsonx_str(o, "S", &s, &len) == 0);
	json_object_put(o);
	/* Not an object. */
	o = jsonx_parse("[\"s\"]", 5);
	CHECK(o != NULL && jsonx_str(o, "s", &s, &len) == 0);
	json_object_put(o);
	CHECK(jsonx_str(NULL, "s", &s, &len) == 0);
}

static void
test_add_text(void)
{
	json_object	*o = json_object_new_object();
	size_t		 len = 0;
	const char	*t;

	jsonx_add_str(o, "a", "x\"y/\xe5\xbe\xae");
	jsonx_add_str(o, "b", NULL);
	t = jsonx_text(o, &len);
	CHECK_STR(t, "{\"a\":\"x\\\"y/\xe5\xbe\xae\",\"b\":null}");
	CHECK(len == strlen(t));
	CHECK(jsonx_text(o, NULL) != NULL);
	json_object_put(o);
}

/*
 * jsonx_set keeps the key it is given (no copy): members come out in the
 * order added, a key set again replaces its value in place, and a key in
 * a buffer the caller still owns is what the text shows.
 */
static void
test_set(void)
{
	static const char	 keys[][8] = { "first", "second" };
	json_object		*o = json_object_new_object(), *v;
	size_t			 len = 0;
	int			 n;

	jsonx_set(o, keys[0], json_object_new_int(1));
	jsonx_set(o, keys[1], json_object_new_boolean(0));
	jsonx_set(o, "n", NULL);
	jsonx_set(o, keys[0], json_object_new_string("again"));
	CHECK_STR(jsonx_text(o, &len),
	    "{\"first\":\"again\",\"second\":false,\"n\":null}");
	CHECK(len == strlen("{\"first\":\"again\",\"second\":false,\"n\":null}"));
	CHECK(json_object_object_get_ex(o, "second", &v) &&
	    json_object_is_type(v, json_type_boolean));
	CHECK(json_object_object_length(o) == 3);
	/* The very strings given, not copies of them. */
	n = 0;
	json_object_object_foreach(o, k, val) {
		(void)val;
		if (n == 0)
			CHECK(k == keys[0]);
		else if (n == 1)
			CHECK(k == keys[1]);
		n++;
	}
	CHECK(n == 3);
	json_object_put(o);
}

/* tests/fuzz/findings/jsonx-toplevel-scalar: a scalar with whitespace after. */
static void
test_toplevel_scalar(void)
{
	json_object	*o;

	CHECK(jsonx_parse("1 ", 2) == NULL);
	CHECK(jsonx_parse("true\n", 5) == NULL);
	CHECK(jsonx_parse("false\t", 6) == NULL);
	CHECK(jsonx_parse("null ", 5) == NULL);
	CHECK(jsonx_parse("1.5 ", 4) == NULL);
	CHECK(jsonx_parse(" -7 \r\n", 7) == NULL);
	CHECK((o = jsonx_parse("\"s\" ", 4)) != NULL &&
	    json_object_is_type(o, json_type_string));
	json_object_put(o);
	CHECK((o = jsonx_parse("[1] ", 4)) != NULL);
	json_object_put(o);
	CHECK((o = jsonx_parse(" {} ", 4)) != NULL);
	json_object_put(o);
}

int
main(void)
{
	test_toplevel_scalar();
	test_parse();
	test_str();
	test_add_text();
	test_set();
	return check_done("test_jsonx");
}
