/*
 * test_req.c -- req_init from a table of FastCGI parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "req.h"

struct tab {
	const char	*kv[32];	/* name, value, ..., NULL */
};

/*
 * t's pairs as the "NAME=value" strings req_init() reads (a NULL value is
 * left out), in storage the next call reuses.
 */
static const char *const *
envp(const struct tab *t)
{
	static char		 store[8192];
	static const char	*env[17];
	size_t			 used = 0;
	int			 i, n = 0;

	for (i = 0; t->kv[i] != NULL && n < 16; i += 2) {
		if (t->kv[i + 1] == NULL)
			continue;
		env[n++] = store + used;
		used += (size_t)snprintf(store + used, sizeof(store) - used,
		    "%s=%s", t->kv[i], t->kv[i + 1]) + 1;
		if (used >= sizeof(store))
			abort();
	}
	env[n] = NULL;
	return env;
}

static int
b64url_only(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static void
test_basic(void)
{
	struct req	 rq;
	struct tab	 t = { { "REQUEST_METHOD", "POST",
	    "REQUEST_URI", "/api/login?x=1#frag",
	    "QUERY_STRING", "x=1",
	    "CONTENT_TYPE", "application/json",
	    "CONTENT_LENGTH", "42",
	    "HTTP_COOKIE", "sid=abc",
	    "HTTP_AUTHORIZATION", "Bearer xyz",
	    "HTTP_X_WX_SESSION", "sess",
	    "REMOTE_ADDR", "10.0.0.1",
	    "HTTPS", "on",
	    "HTTP_X_REQUEST_ID", "abc-DEF_1.2",
	    NULL } };

	req_init(&rq, envp(&t));
	CHECK(rq.method == METHOD_POST);
	CHECK_STR(rq.path, "/api/login");
	CHECK_STR(rq.query, "x=1");
	CHECK_STR(rq.content_type, "application/json");
	CHECK(rq.content_length == 42);
	CHECK_STR(rq.cookie, "sid=abc");
	CHECK_STR(rq.authorization, "Bearer xyz");
	CHECK_STR(rq.x_wx_session, "sess");
	CHECK_STR(rq.remote_addr, "10.0.0.1");
	CHECK(rq.https == 1);
	CHECK_STR(rq.rid, "abc-DEF_1.2");
	CHECK(rq.body.len == 0 && rq.body.max == BODY_MAX);
	CHECK_STR(buf_str(&rq.body), "");
	CHECK(buf_adds(&rq.body, "{}") == 0);
	req_free(&rq);
}

static void
test_method_path(void)
{
	struct req	 rq;
	struct tab	 t1 = { { "REQUEST_METHOD", "GET",
	    "REQUEST_URI", "/api/me", NULL } };
	struct tab	 t2 = { { "REQUEST_METHOD", "get",
	    "SCRIPT_NAME", "/api", "PATH_INFO", "/me", NULL } };
	struct tab	 t3 = { { "REQUEST_METHOD", "PUT",
	    "SCRIPT_NAME", "/api/me", NULL } };
	struct tab	 t4 = { { NULL } };
	struct tab	 t5 = { { "REQUEST_METHOD", "DELETE",
	    "PATH_INFO", "/x", NULL } };
	struct tab	 t6 = { { "REQUEST_URI", "/only?", NULL } };
	struct tab	 t7 = { { "REQUEST_URI", "/", "SCRIPT_NAME", "/other",
	    NULL } };

	req_init(&rq, envp(&t1));
	CHECK(rq.method == METHOD_GET);
	CHECK_STR(rq.path, "/api/me");
	CHECK(rq.query == NULL && rq.content_type == NULL);
	CHECK(rq.cookie == NULL && rq.authorization == NULL);
	CHECK(rq.content_length == -1);
	CHECK(rq.https == 0);
	req_free(&rq);

	/* Fallback SCRIPT_NAME + PATH_INFO; methods are case-sensitive. */
	req_init(&rq, envp(&t2));
	CHECK(rq.method == METHOD_OTHER);
	CHECK_STR(rq.path, "/api/me");
	req_free(&rq);
	req_init(&rq, envp(&t3));
	CHECK(rq.method == METHOD_OTHER);
	CHECK_STR(rq.path, "/api/me");
	req_free(&rq);
	req_init(&rq, envp(&t4));
	CHECK(rq.method == METHOD_OTHER);
	CHECK_STR(rq.path, "");
	req_free(&rq);
	req_init(&rq, envp(&t5));
	CHECK(rq.method == METHOD_OTHER);
	CHECK_STR(rq.path, "/x");
	req_free(&rq);
	req_init(&rq, envp(&t6));
	CHECK_STR(rq.path, "/only");
	req_free(&rq);
	/* REQUEST_URI wins over SCRIPT_NAME. */
	req_init(&rq, envp(&t7));
	CHECK_STR(rq.path, "/");
	req_free(&rq);

	/* Paths: exactly PATH_MAX_LEN fits, longer ones give "". */
	{
		char		 uri[PATH_MAX_LEN + 20];
		struct tab	 tl = { { "REQUEST_URI", uri, NULL } };

		memset(uri, 'a', sizeof(uri));
		uri[0] = '/';
		uri[PATH_MAX_LEN] = '\0';
		req_init(&rq, envp(&tl));
		CHECK(strlen(rq.path) == PATH_MAX_LEN && rq.path[0] == '/');
		req_free(&rq);
		memcpy(uri + PATH_MAX_LEN, "?q=1", 5);
		req_init(&rq, envp(&tl));
		CHECK(strlen(rq.path) == PATH_MAX_LEN);
		req_free(&rq);
		uri[PATH_MAX_LEN] = 'a';
		uri[PATH_MAX_LEN + 1] = '\0';
		req_init(&rq, envp(&tl));
		CHECK_STR(rq.path, "");
		req_free(&rq);
	}
	{
		char		 sn[200], pi[100];
		struct tab	 tl = { { "SCRIPT_NAME", sn, "PATH_INFO", pi,
		    NULL } };

		memset(sn, 's', sizeof(sn));
		sn[0] = '/';
		sn[sizeof(sn) - 1] = '\0';	/* 199 */
		memset(pi, 'p', sizeof(pi));
		pi[0] = '/';
		pi[57] = '\0';			/* 57: total 256 */
		req_init(&rq, envp(&tl));
		CHECK(strlen(rq.path) == 256 && rq.path[199] == '/');
		req_free(&rq);
		pi[57] = 'p';
		pi[58] = '\0';			/* 257 */
		req_init(&rq, envp(&tl));
		CHECK_STR(rq.path, "");
		req_free(&rq);
	}
}

static long
cl(const char *v)
{
	struct req	 rq;
	struct tab	 t = { { "CONTENT_LENGTH", v, NULL } };
	long		 l;

	req_init(&rq, envp(&t));
	l = rq.content_length;
	req_free(&rq);
	return l;
}

static void
test_content_length(void)
{
	CHECK(cl(NULL) == -1);
	CHECK(cl("") == -1);
	CHECK(cl("0") == 0);
	CHECK(cl("65536") == 65536);
	CHECK(cl("1099511627776") == 1099511627776L);
	CHECK(cl("-1") == -2);
	CHECK(cl("abc") == -2);
	CHECK(cl("12 ") == -2);
	CHECK(cl(" 12") == -2);
	CHECK(cl("+12") == -2);
	CHECK(cl("1e3") == -2);
	CHECK(cl("99999999999999999999") == -2);
}

static int
https_of(const char *v)
{
	struct req	 rq;
	struct tab	 t = { { "HTTPS", v, NULL } };
	int		 h;

	req_init(&rq, envp(&t));
	h = rq.https;
	req_free(&rq);
	return h;
}

static void
test_https(void)
{
	CHECK(https_of("on") == 1);
	CHECK(https_of(NULL) == 0);
	CHECK(https_of("") == 0);
	CHECK(https_of("off") == 0);
}

static void
test_rid(void)
{
	struct req	 rq, rq2;
	char		 longid[RID_MAX + 2];
	struct tab	 t = { { "HTTP_X_REQUEST_ID", NULL, NULL } };
	const char	*bad[] = { "", "has space", "semi;colon", "new\nline",
	    "quote\"", "slash/", "\xe5\xbe\xae", "a\r\nX-Evil: 1", NULL };
	int		 i, ok;

	/* Absent: a generated one, 16 base64url characters. */
	req_init(&rq, envp(&t));
	CHECK(strlen(rq.rid) == 16 && b64url_only(rq.rid));
	req_init(&rq2, envp(&t));
	CHECK(strcmp(rq.rid, rq2.rid) != 0);
	req_free(&rq);
	req_free(&rq2);

	for (ok = 1, i = 0; bad[i] != NULL; i++) {
		t.kv[1] = bad[i];
		req_init(&rq, envp(&t));
		if (strlen(rq.rid) != 16 || !b64url_only(rq.rid) ||
		    strcmp(rq.rid, bad[i]) == 0) {
			ok = 0;
			fprintf(stderr, "rid %s taken\n", bad[i]);
		}
		req_free(&rq);
	}
	CHECK(ok);

	/* Exactly RID_MAX characters are fine; one more is not. */
	memset(longid, 'a', sizeof(longid));
	longid[RID_MAX] = '\0';
	t.kv[1] = longid;
	req_init(&rq, envp(&t));
	CHECK_STR(rq.rid, longid);
	req_free(&rq);
	longid[RID_MAX] = 'a';
	longid[RID_MAX + 1] = '\0';
	req_init(&rq, envp(&t));
	CHECK(strlen(rq.rid) == 16 && strcmp(rq.rid, longid) != 0);
	req_free(&rq);
	/* Single character and the full allowed charset. */
	t.kv[1] = "x";
	req_init(&rq, envp(&t));
	CHECK_STR(rq.rid, "x");
	req_free(&rq);
	t.kv[1] = "AZaz09._-";
	req_init(&rq, envp(&t));
	CHECK_STR(rq.rid, "AZaz09._-");
	req_free(&rq);
}

/*
 * The strings as libfcgi hands them over: the first of a repeated name
 * counts, a name must match whole (not as a prefix either way), a value
 * may hold '=' and be empty, strings without '=' are skipped, and no
 * parameters at all (NULL) is an empty request.
 */
static void
test_envp(void)
{
	struct req	 rq;
	const char	*e1[] = { "REQUEST_URI=/a",
	    "QUERY_STRING=x=1&y==", "REQUEST_URI=/b", "garbage",
	    "HTTP_COOKIE=", "REQUEST_METHOD=POST", "REQUEST_METHOD=GET",
	    "=novalue", "CONTENT_LENGTH", "HTTPS=1", NULL };
	const char	*e2[] = { "HTTPSX=on", "HTTP=on", "HTTPS=o",
	    "HTTP_X_FORWARDED=1.2.3.4",
	    "X_REMOTE_ADDR=9.9.9.9", NULL };

	req_init(&rq, e1);
	CHECK_STR(rq.path, "/a");
	CHECK_STR(rq.query, "x=1&y==");
	CHECK_STR(rq.cookie, "");
	CHECK(rq.method == METHOD_POST);
	CHECK(rq.content_length == -1);
	CHECK(rq.https == 1);
	req_free(&rq);
	req_init(&rq, e2);
	CHECK(rq.https == 0);
	CHECK(rq.forwarded_for == NULL && rq.remote_addr == NULL);
	CHECK(rq.method == METHOD_OTHER && rq.path[0] == '\0');
	req_free(&rq);
	req_init(&rq, NULL);
	CHECK(rq.method == METHOD_OTHER && rq.query == NULL &&
	    rq.content_length == -1 && strlen(rq.rid) == 16);
	req_free(&rq);
}

int
main(void)
{
	test_basic();
	test_method_path();
	test_content_length();
	test_https();
	test_rid();
	test_envp();
	return check_done("test_req");
}
