/*
 * fuzz_wxreply.c -- the WeChat reply parsers (lib/wx.h wx_reply_*) on any
 * body, the first byte choosing which; a phone_info accepted goes on to
 * profile_phone() (lib/profile.h), which reads it.
 *
 * Invariants: the outcome is one the call documents; a retry-after is
 * WX_RETRY_AFTER exactly for ERR_RATE_LIMITED, 0 otherwise; on ERR_OK the
 * outputs satisfy wx.h (openid and session_key non-empty printable ASCII
 * without spaces and within their sizes, unionid empty or the same; token
 * 1..WX_TOKEN_MAX characters of [A-Za-z0-9._*-] and expires_in 1..86400;
 * phone_info an object; valid 0 or 1) and on failure they are empty.
 */
#include "fuzz.h"
#include "log.h"
#include "profile.h"
#include "wx.h"

/* 1..max-1 bytes of printable ASCII without space, terminated in dst. */
static void
check_field(const char *dst, size_t dstsz, int may_be_empty)
{
	const char	*z = memchr(dst, '\0', dstsz);
	size_t		 i, n;

	FUZZ_CHECK(z != NULL);
	n = (size_t)(z - dst);
	FUZZ_CHECK(n > 0 || may_be_empty);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(dst[i] > 0x20 && dst[i] < 0x7f);
}

static int
phone_chars(const char *s, size_t max)
{
	size_t	 i, n = strlen(s);

	if (n < 1 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
		    s[i] == '-' || s[i] == ' '))
			return 0;
	return 1;
}

static void
check_phone(json_object *pi)
{
	struct phone	 ph;
	size_t		 i, n;

	memset(&ph, 0x5a, sizeof(ph));
	if (profile_phone(pi, &ph) != 0)
		return;
	FUZZ_CHECK(memchr(ph.number, '\0', sizeof(ph.number)) != NULL);
	FUZZ_CHECK(memchr(ph.pure, '\0', sizeof(ph.pure)) != NULL);
	FUZZ_CHECK(memchr(ph.country_code, '\0',
	    sizeof(ph.country_code)) != NULL);
	FUZZ_CHECK(phone_chars(ph.number, PHONE_MAX));
	FUZZ_CHECK(phone_chars(ph.pure, PHONE_MAX));
	n = strlen(ph.country_code);
	FUZZ_CHECK(n >= 1 && n <= PHONE_CC_MAX);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(ph.country_code[i] >= '0' &&
		    ph.country_code[i] <= '9');
}

static void
check_retry(enum err er, long ra)
{
	FUZZ_CHECK(er == ERR_RATE_LIMITED ? ra == WX_RETRY_AFTER : ra == 0);
}

static void
session(const char *body, size_t len)
{
	static const struct wx_session	 zero;
	struct wx_session		 ws;
	long				 ra = -7;
	enum err			 er;

	memset(&ws, 0x5a, sizeof(ws));
	er = wx_reply_session(body, len, &ws, &ra, "fuzz");
	FUZZ_CHECK(er == ERR_OK || er == ERR_INVALID_CODE ||
	    er == ERR_BLOCKED_USER || er == ERR_RATE_LIMITED ||
	    er == ERR_UPSTREAM_ERROR);
	check_retry(er, ra);
	if (er != ERR_OK) {
		FUZZ_CHECK(memcmp(&ws, &zero, sizeof(ws)) == 0);
		return;
	}
	check_field(ws.openid, sizeof(ws.openid), 0);
	check_field(ws.session_key, sizeof(ws.session_key), 0);
	check_field(ws.unionid, sizeof(ws.unionid), 1);
}

static void
token(const char *body, size_t len)
{
	char	 tok[WX_TOKEN_MAX + 1];
	long	 exp = -7;
	size_t	 i, n;
	enum err er;

	memset(tok, 0x5a, sizeof(tok));
	er = wx_reply_token(body, len, tok, &exp, "fuzz");
	FUZZ_CHECK(er == ERR_OK || er == ERR_UPSTREAM_ERROR);
	FUZZ_CHECK(memchr(tok, '\0', sizeof(tok)) != NULL);
	if (er != ERR_OK) {
		FUZZ_CHECK(tok[0] == '\0' && exp == 0);
		return;
	}
	n = strlen(tok);
	FUZZ_CHECK(n >= 1 && n <= WX_TOKEN_MAX);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((tok[i] >= 'A' && tok[i] <= 'Z') ||
		    (tok[i] >= 'a' && tok[i] <= 'z') ||
		    (tok[i] >= '0' && tok[i] <= '9') || tok[i] == '-' ||
		    tok[i] == '_' || tok[i] == '.' || tok[i] == '*');
	FUZZ_CHECK(exp >= 1 && exp <= 86400);
}

static void
phone(const char *body, size_t len)
{
	json_object	*pi = (json_object *)&pi;	/* not NULL */
	long		 ra = -7;
	int		 stale = -7;
	enum err	 er;

	er = wx_reply_phone(body, len, &pi, &stale, &ra, "fuzz");
	FUZZ_CHECK(er == ERR_OK || er == ERR_INVALID_CODE ||
	    er == ERR_BLOCKED_USER || er == ERR_RATE_LIMITED ||
	    er == ERR_UPSTREAM_ERROR);
	check_retry(er, ra);
	FUZZ_CHECK(stale == 0 || stale == 1);
	if (stale)
		FUZZ_CHECK(er == ERR_UPSTREAM_ERROR);
	if (er != ERR_OK) {
		FUZZ_CHECK(pi == NULL);
		return;
	}
	FUZZ_CHECK(pi != NULL && json_object_is_type(pi, json_type_object));
	check_phone(pi);
	json_object_put(pi);
}

static void
checksession(const char *body, size_t len)
{
	long	 ra = -7;
	int	 valid = -7, stale = -7;
	enum err er;

	er = wx_reply_checksession(body, len, &valid, &stale, &ra, "fuzz");
	FUZZ_CHECK(er == ERR_OK || er == ERR_RATE_LIMITED ||
	    er == ERR_UPSTREAM_ERROR);
	check_retry(er, ra);
	FUZZ_CHECK(valid == 0 || valid == 1);
	FUZZ_CHECK(stale == 0 || stale == 1);
	if (valid)
		FUZZ_CHECK(er == ERR_OK);
	if (stale)
		FUZZ_CHECK(er == ERR_UPSTREAM_ERROR);
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
	char	*body;

	if (size < 1)
		return 0;
	body = fuzz_dup(data + 1, size - 1);
	switch (data[0] & 3) {
	case 0:
		session(body, size - 1);
		break;
	case 1:
		token(body, size - 1);
		break;
	case 2:
		phone(body, size - 1);
		break;
	default:
		checksession(body, size - 1);
		break;
	}
	free(body);
	return 0;
}
