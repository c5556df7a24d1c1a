/*
 * test_wx.c -- wx_errcode: WeChat errcodes to outcomes.
 */
#include <stdio.h>

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

int
main(void)
{
	test_errcode();
	test_token_stale();
	return check_done("test_wx");
}
