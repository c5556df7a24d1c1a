/*
 * token.c -- the shared access_token (see token.h for the policy).
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "token.h"

#define AAD_PREFIX	"wx_access_tokens:"

struct fetch_arg {
	const struct token_src	*src;
	struct wx		*wx;
	const char		*rid;
};

static void
aad_for(const struct token_src *src, char *aad, size_t n)
{
	snprintf(aad, n, AAD_PREFIX "%s", src->appid);
}

/* db_token_fetch: stable_token, sealed for the database. */
static enum err
fetch(void *arg, struct sealed *out, long *lifetime)
{
	struct fetch_arg	*fa = arg;
	char			 tok[WX_TOKEN_MAX + 1], aad[128];
	enum err		 er;

	if ((er = wx_stable_token(fa->wx, tok, lifetime, fa->rid)) != ERR_OK)
		return er;
	aad_for(fa->src, aad, sizeof(aad));
	if (seal(fa->src->keys, aad, tok, strlen(tok), out) == -1)
		er = ERR_INTERNAL;
	else
		log_msg(LOG_INFO, fa->rid, "token: fetched a new access_token "
		    "(expires in %ld s)", *lifetime);
	memset(tok, 0, sizeof(tok));
	return er;
}

/* When does a token of this lifetime start being renewed?  Seconds left. */
static long
renew_at(long lifetime)
{
	return lifetime / 2 < TOKEN_RENEW_S ? lifetime / 2 : TOKEN_RENEW_S;
}

/* A token to use now, into t (sealed, as stored) and tok (open). */
static enum err
obtain(const struct token_src *src, struct wx *wx, struct db_token *t,
    char tok[WX_TOKEN_MAX + 1], const char *rid)
{
	struct fetch_arg	 fa = { src, wx, rid };
	struct db_token		 fresh;
	char			 aad[128];
	size_t			 n;
	int			 found, got;
	enum err		 er;

	if ((er = db_token_get(src->db, src->appid, t, &found, rid)) !=
	    ERR_OK)
		return er;
	if (found && t->ttl > 0 && t->ttl <= renew_at(t->lifetime)) {
		/* Renew ahead of expiry if nobody else is; else use this one. */
		er = db_token_refresh(src->db, src->appid, 0, src->lock_ms,
		    renew_at(t->lifetime), fetch, &fa, &fresh, &got, rid);
		if (er == ERR_OK && got)
			*t = fresh;
		else if (er != ERR_OK)
			log_msg(LOG_WARN, rid, "token: renewal failed; the "
			    "current token has %ld s left", t->ttl);
	} else if (!found || t->ttl <= 0) {
		if ((er = db_token_refresh(src->db, src->appid, 1,
		    src->lock_ms, 0, fetch, &fa, t, &got, rid)) != ERR_OK)
			return er;
		if (!got)
			return ERR_UNAVAILABLE;
	}
	aad_for(src, aad, sizeof(aad));
	if (seal_open(src->keys, aad, &t->tok, tok, WX_TOKEN_MAX + 1, &n) ==
	    -1) {
		/* Sealed under a key we no longer have: replace it. */
		log_msg(LOG_WARN, rid, "token: the stored token does not open "
		    "with our keys; fetching another");
		if ((er = db_token_expire(src->db, src->appid, &t->tok, rid)) !=
		    ERR_OK || (er = db_token_refresh(src->db, src->appid, 1,
		    src->lock_ms, 0, fetch, &fa, t, &got, rid)) != ERR_OK)
			return er;
		if (!got || seal_open(src->keys, aad, &t->tok, tok,
		    WX_TOKEN_MAX + 1, &n) == -1)
			return ERR_UNAVAILABLE;
	}
	return ERR_OK;
}

enum err
token_call(const struct token_src *src, struct wx *wx, token_use_fn fn,
    void *arg, const char *rid)
{
	struct db_token	 t;
	char		 tok[WX_TOKEN_MAX + 1];
	int		 stale = 0, tries;
	enum err	 er;

	for (tries = 0; tries < 2; tries++) {
		if ((er = obtain(src, wx, &t, tok, rid)) != ERR_OK)
			break;
		er = fn(wx, tok, arg, &stale, rid);
		memset(tok, 0, sizeof(tok));
		if (!stale)
			break;
		log_msg(LOG_INFO, rid, "token: WeChat refused the access_token%s",
		    tries == 0 ? "; expiring it and retrying once" : " again");
		if (tries == 0 && (er = db_token_expire(src->db, src->appid,
		    &t.tok, rid)) != ERR_OK)
			break;
		er = ERR_UPSTREAM_ERROR;
	}
	return er;
}
