/*
 * fuzz_req.c -- the request model, req_init() (lib/req.h), over a fuzzed
 * table of FastCGI parameters, then sess_token_find() (lib/sess.h) on the
 * headers it kept, as a request goes.
 *
 * Input: NUL-separated "NAME=VALUE" entries, handed to req_init() as they
 * are (entries without '=' too, which it skips); what it should find is
 * looked up here as FCGX_GetParam does, the first of a name winning.
 * Invariants: the method is GET or POST exactly when
 * REQUEST_METHOD says so; the path is at most PATH_MAX_LEN bytes and is the
 * REQUEST_URI up to '?' or '#' (else SCRIPT_NAME + PATH_INFO), or empty
 * when that is too long; Content-Length is -1 when absent or empty, the
 * number when it is 1..19 digits in [0, 2^40], else -2; the strings kept
 * are the table's own; the request id is 1..RID_MAX characters of
 * [A-Za-z0-9._-], the caller's when that is such; the body starts empty;
 * a token found is well formed and was presented.  Then the client
 * address (lib/limit.h limit_client_addr) from REMOTE_ADDR, X-Forwarded-For
 * and a trusted proxy list (the pseudo-parameter WXAUTH_TRUSTED_PROXIES):
 * "-" or a plain address, which is REMOTE_ADDR unless that is trusted, and
 * otherwise one of the X-Forwarded-For entries.
 */
#include "fuzz.h"
#include "limit.h"
#include "log.h"
#include "req.h"
#include "sess.h"

#define NPARAMS	64

struct table {
	char	*env[NPARAMS + 1];	/* "NAME=VALUE", NULL-terminated */
	size_t	 n;
};

/* The value of name, as FCGX_GetParam finds it: the first NAME= entry. */
static const char *
lookup(const char *name, const struct table *t)
{
	size_t		 i, len = strlen(name);

	for (i = 0; i < t->n; i++)
		if (strncmp(t->env[i], name, len) == 0 && t->env[i][len] == '=')
			return t->env[i] + len + 1;
	return NULL;
}

static int
rid_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int
rid_ok(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n < 1 || n > RID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!rid_char(s[i]))
			return 0;
	return 1;
}

/* Content-Length as req.h states it. */
static long
expect_cl(const char *s)
{
	size_t	 i, n;
	long	 v = 0;
	int	 neg = 0;

	if (s == NULL || *s == '\0')
		return -1;
	n = strlen(s);
	i = 0;
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (n - i < 1 || n - i > 19)
		return -2;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -2;
		if (v <= (1L << 41))	/* past the bound: stays past it */
			v = v * 10 + (s[i] - '0');
	}
	if (neg)
		return v == 0 ? 0 : -2;
	return v <= (1L << 40) ? v : -2;
}

static void
check_path(const struct req *rq, struct table *t)
{
	const char	*uri = lookup("REQUEST_URI", t);
	const char	*sn = lookup("SCRIPT_NAME", t);
	const char	*pi = lookup("PATH_INFO", t);
	size_t		 n, a, b;

	FUZZ_CHECK(memchr(rq->path, '\0', sizeof(rq->path)) != NULL);
	n = strlen(rq->path);
	FUZZ_CHECK(n <= PATH_MAX_LEN);
	if (uri != NULL) {
		a = strcspn(uri, "?#");
		if (a > PATH_MAX_LEN)
			FUZZ_CHECK(n == 0);
		else
			FUZZ_CHECK(n == a && memcmp(rq->path, uri, a) == 0);
		return;
	}
	a = sn != NULL ? strlen(sn) : 0;
	b = pi != NULL ? strlen(pi) : 0;
	if (a + b > PATH_MAX_LEN) {
		FUZZ_CHECK(n == 0);
		return;
	}
	FUZZ_CHECK(n == a + b);
	FUZZ_CHECK(a == 0 || memcmp(rq->path, sn, a) == 0);
	FUZZ_CHECK(b == 0 || memcmp(rq->path + a, pi, b) == 0);
}

static int
addr_ok(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n < 1 || n >= CLIENT_ADDR_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') ||
		    s[i] == '.' || s[i] == ':'))
			return 0;
	return 1;
}

/* Is a an entry of the comma-separated list (spaces around ignored)? */
static int
listed(const char *list, const char *a)
{
	size_t	 n = strlen(a), b, e, i = 0;

	while (list != NULL && list[i] != '\0') {
		for (e = i; list[e] != '\0' && list[e] != ','; e++)
			;
		for (b = i; b < e && list[b] == ' '; b++)
			;
		i = list[e] == ',' ? e + 1 : e;
		while (e > b && list[e - 1] == ' ')
			e--;
		if (e - b == n && memcmp(list + b, a, n) == 0)
			return 1;
	}
	return 0;
}

static void
check_client_addr(const struct req *rq, struct table *t)
{
	const char	*trusted = lookup("WXAUTH_TRUSTED_PROXIES", t);
	const char	*ra = rq->remote_addr, *xff = rq->forwarded_for;
	char		 out[CLIENT_ADDR_MAX];

	memset(out, 'X', sizeof(out));
	limit_client_addr(ra, xff, trusted, out);
	FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	if (ra == NULL || !addr_ok(ra)) {
		FUZZ_CHECK(strcmp(out, "-") == 0);
		return;
	}
	FUZZ_CHECK(addr_ok(out));
	if (xff == NULL || trusted == NULL || !listed(trusted, ra))
		FUZZ_CHECK(strcmp(out, ra) == 0);
	else
		FUZZ_CHECK(strcmp(out, ra) == 0 || strstr(xff, out) != NULL);
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
	struct table	 t;
	struct req	 rq;
	const uint8_t	*p = data;
	const char	*m, *rid, *https;
	char		 tok[SESS_TOKEN_LEN + 1];
	size_t		 n = size, i;
	int		 found;

	memset(&t, 0, sizeof(t));
	while (n > 0 && t.n < NPARAMS)
		t.env[t.n++] = fuzz_part(&p, &n, NULL);
	t.env[t.n] = NULL;

	memset(&rq, 0xa5, sizeof(rq));
	req_init(&rq, (const char *const *)t.env);

	m = lookup("REQUEST_METHOD", &t);
	if (m != NULL && strcmp(m, "GET") == 0)
		FUZZ_CHECK(rq.method == METHOD_GET);
	else if (m != NULL && strcmp(m, "POST") == 0)
		FUZZ_CHECK(rq.method == METHOD_POST);
	else
		FUZZ_CHECK(rq.method == METHOD_OTHER);
	check_path(&rq, &t);
	FUZZ_CHECK(rq.query == lookup("QUERY_STRING", &t));
	FUZZ_CHECK(rq.content_type == lookup("CONTENT_TYPE", &t));
	FUZZ_CHECK(rq.cookie == lookup("HTTP_COOKIE", &t));
	FUZZ_CHECK(rq.authorization == lookup("HTTP_AUTHORIZATION", &t));
	FUZZ_CHECK(rq.x_wx_session == lookup("HTTP_X_WX_SESSION", &t));
	FUZZ_CHECK(rq.remote_addr == lookup("REMOTE_ADDR", &t));
	FUZZ_CHECK(rq.forwarded_for == lookup("HTTP_X_FORWARDED_FOR", &t));
	FUZZ_CHECK(rq.content_length ==
	    expect_cl(lookup("CONTENT_LENGTH", &t)));
	https = lookup("HTTPS", &t);
	FUZZ_CHECK(rq.https == (https != NULL && (strcmp(https, "on") == 0 ||
	    strcmp(https, "1") == 0)));
	FUZZ_CHECK(memchr(rq.rid, '\0', sizeof(rq.rid)) != NULL);
	FUZZ_CHECK(rid_ok(rq.rid));
	rid = lookup("HTTP_X_REQUEST_ID", &t);
	if (rid != NULL && rid_ok(rid))
		FUZZ_CHECK(strcmp(rq.rid, rid) == 0);
	FUZZ_CHECK(rq.body.len == 0 && rq.body.max == BODY_MAX);
	FUZZ_CHECK(buf_str(&rq.body)[0] == '\0');

	found = sess_token_find(rq.authorization, rq.x_wx_session, rq.cookie,
	    tok);
	FUZZ_CHECK(found == 0 || found == 1);
	if (found) {
		FUZZ_CHECK(strlen(tok) == SESS_TOKEN_LEN &&
		    sess_token_valid(tok, SESS_TOKEN_LEN));
		FUZZ_CHECK((rq.authorization != NULL &&
		    strstr(rq.authorization, tok) != NULL) ||
		    (rq.x_wx_session != NULL &&
		    strstr(rq.x_wx_session, tok) != NULL) ||
		    (rq.cookie != NULL && strstr(rq.cookie, tok) != NULL));
	}
	check_client_addr(&rq, &t);
	req_free(&rq);
	for (i = 0; i < t.n; i++)
		free(t.env[i]);
	return 0;
}
