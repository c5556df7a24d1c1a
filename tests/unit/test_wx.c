/*
 * test_wx.c -- wx_errcode: WeChat errcodes to outcomes.
 */
#include <stdio.h>

#include <string.h>

#include "check.h"
#include "wx.h"

static void
test_errcode(void)
{
	long	 ra;

	ra = 99; CHECK(wx_errcode(40029, &ra) == ERR_INVALID_CODE && ra == 0);
	ra = 99; CHECK(wx_errcode(40163, &ra) == ERR_INVALID_CODE && ra == 0);
	ra = 99; CHECK(wx_errcode(40226, &ra) == ERR_BLOCKED_USER && ra == 0);
	ra = 0; CHECK(wx_errcode(45011, &ra) == ERR_RATE_LIMITED &&
	    ra == WX_RETRY_AFTER);
	CHECK(WX_RETRY_AFTER == 60);
	CHECK(ra == 60);
	/* Everything else is upstream_error, without a retry-after. */
	ra = 99; CHECK(wx_errcode(-1, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(40013, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(40125, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(40001, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(42001, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(87009, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(45009, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(40028, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(40030, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
	ra = 99; CHECK(wx_errcode(99999999, &ra) == ERR_UPSTREAM_ERROR &&
	    ra == 0);
	/* A rate limit followed by another code resets retry_after. */
	ra = 0; (void)wx_errcode(45011, &ra);
	CHECK(wx_errcode(-1, &ra) == ERR_UPSTREAM_ERROR && ra == 0);
}

/* The access_token refusals that make token_call() refresh and retry once. */
static void
test_token_stale(void)
{
	CHECK(wx_token_stale(40001));
	CHECK(wx_token_stale(40014));
	CHECK(wx_token_stale(42001));
	CHECK(!wx_token_stale(0));
	CHECK(!wx_token_stale(-1));
	CHECK(!wx_token_stale(40029));
	CHECK(!wx_token_stale(40163));
	CHECK(!wx_token_stale(87009));
	CHECK(!wx_token_stale(41001));
}

#define R(s)	s, sizeof(s) - 1

static void
test_reply_session(void)
{
	struct wx_session	 ws;
	long			 ra;

	CHECK(wx_reply_session(R("{\"openid\":\"o1\",\"session_key\":"
	    "\"tiihtNczf5v6AKRyjwEUhQ==\"}"), &ws, &ra, NULL) == ERR_OK);
	CHECK_STR(ws.openid, "o1");
	CHECK_STR(ws.session_key, "tiihtNczf5v6AKRyjwEUhQ==");
	CHECK(ws.unionid[0] == '\0');
	/* errcode 0 with the success fields, and a unionid. */
	CHECK(wx_reply_session(R("{\"errcode\":0,\"errmsg\":\"ok\",\"openid\":"
	    "\"o1\",\"session_key\":\"k\",\"unionid\":\"u1\"}"), &ws, &ra,
	    NULL) == ERR_OK && strcmp(ws.unionid, "u1") == 0);
	CHECK(wx_reply_session(R("{\"errcode\":40163,\"errmsg\":\"code been "
	    "used\"}"), &ws, &ra, NULL) == ERR_INVALID_CODE);
	CHECK(ws.openid[0] == '\0');
	CHECK(wx_reply_session(R("{\"errcode\":45011}"), &ws, &ra, NULL) ==
	    ERR_RATE_LIMITED && ra == WX_RETRY_AFTER);
	CHECK(wx_reply_session(R("{\"errcode\":\"40029\"}"), &ws, &ra,
	    NULL) == ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_session(R("<html>502</html>"), &ws, &ra, NULL) ==
	    ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_session(R("[]"), &ws, &ra, NULL) == ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_session(R(""), &ws, &ra, NULL) == ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_session(R("{\"openid\":\"o 1\",\"session_key\":\"k\"}"),
	    &ws, &ra, NULL) == ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_session(R("{\"openid\":\"o1\"}"), &ws, &ra, NULL) ==
	    ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_session(R("{\"openid\":\"o1\",\"session_key\":\"k\","
	    "\"unionid\":7}"), &ws, &ra, NULL) == ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_session("{\"openid\":\"o1\"\0,\"session_key\":\"k\"}",
	    33, &ws, &ra, NULL) == ERR_UPSTREAM_ERROR);
}

static void
test_reply_token_phone_check(void)
{
	char		 tok[WX_TOKEN_MAX + 1];
	json_object	*pi;
	long		 exp, ra;
	int		 stale, valid;

	CHECK(wx_reply_token(R("{\"access_token\":\"AT_1-x.y\",\"expires_in\":"
	    "7200}"), tok, &exp, NULL) == ERR_OK && exp == 7200);
	CHECK_STR(tok, "AT_1-x.y");
	CHECK(wx_reply_token(R("{\"access_token\":\"a&b\",\"expires_in\":7200}"),
	    tok, &exp, NULL) == ERR_UPSTREAM_ERROR && tok[0] == '\0');
	CHECK(wx_reply_token(R("{\"access_token\":\"a\",\"expires_in\":0}"),
	    tok, &exp, NULL) == ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_token(R("{\"errcode\":40125}"), tok, &exp, NULL) ==
	    ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_token(R("{\"errcode\":40029}"), tok, &exp, NULL) ==
	    ERR_UPSTREAM_ERROR);		/* never the user's fault */
	CHECK(wx_reply_phone(R("{\"errcode\":0,\"phone_info\":{\"phoneNumber\":"
	    "\"+86138\"}}"), &pi, &stale, &ra, NULL) == ERR_OK && pi != NULL &&
	    !stale);
	json_object_put(pi);
	CHECK(wx_reply_phone(R("{\"errcode\":42001}"), &pi, &stale, &ra, NULL) ==
	    ERR_UPSTREAM_ERROR && stale && pi == NULL);
	CHECK(wx_reply_phone(R("{\"errcode\":40029}"), &pi, &stale, &ra, NULL) ==
	    ERR_INVALID_CODE && !stale);
	CHECK(wx_reply_phone(R("{\"errcode\":0,\"phone_info\":[]}"), &pi,
	    &stale, &ra, NULL) == ERR_UPSTREAM_ERROR);
	CHECK(wx_reply_checksession(R("{\"errcode\":0,\"errmsg\":\"ok\"}"),
	    &valid, &stale, &ra, NULL) == ERR_OK && valid == 1);
	CHECK(wx_reply_checksession(R("{\"errcode\":87009}"), &valid, &stale,
	    &ra, NULL) == ERR_OK && valid == 0 && !stale);
	CHECK(wx_reply_checksession(R("{\"errcode\":40001}"), &valid, &stale,
	    &ra, NULL) == ERR_UPSTREAM_ERROR && stale && valid == 0);
	CHECK(wx_reply_checksession(R("{\"errcode\":45011}"), &valid, &stale,
	    &ra, NULL) == ERR_RATE_LIMITED && ra == WX_RETRY_AFTER);
	CHECK(wx_reply_checksession(R("{\"errcode\":40029}"), &valid, &stale,
	    &ra, NULL) == ERR_UPSTREAM_ERROR);
}

int
main(void)
{
	test_errcode();
	test_reply_session();
	test_reply_token_phone_check();
	test_token_stale();
	return check_done("test_wx");
}
