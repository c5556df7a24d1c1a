/*
 * token.c -- the shared access_token (see token.h for the policy).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "token.h"

#define AAD_PREFIX	"wx_access_tokens:"
#define FAIL_BACKOFF_MS	1000	/* after a failed fetch, fail fast this long */

/*
 * One refresher per process: the other threads wait here holding no
 * database connection (the refresher holds one for its transaction), so a
 * refresh never starves the pool of the requests that need no token.
 */
static pthread_mutex_t	 refresh_mu = PTHREAD_MUTEX_INITIALIZER;
static long long	 failed_until;	/* monotonic ms; guarded by refresh_mu */
static enum err		 failed_er;

/* Wait at most ms for the process's refresh mutex.  0, or -1 on timeout. */
static int
lock_refresh(long ms)
{
	struct timespec	 dl;

	clock_deadline(CLOCK_REALTIME, ms, &dl);
	return pthread_mutex_timedlock(&refresh_mu, &dl) == 0 ? 0 : -1;
}

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
		/*
		 * Renew ahead of expiry if nobody else is, in this process or
		 * another; else use the current one, still valid.
		 */
		if (pthread_mutex_trylock(&refresh_mu) == 0) {
			er = db_token_refresh(src->db, src->appid, 0,
			    src->lock_ms, renew_at(t->lifetime), fetch, &fa,
			    &fresh, &got, rid);
			pthread_mutex_unlock(&refresh_mu);
			if (er == ERR_OK && got)
				*t = fresh;
			else if (er != ERR_OK)
				log_msg(LOG_WARN, rid, "token: renewal failed; "
				    "the current token has %ld s left", t->ttl);
		}
	} else if (!found || t->ttl <= 0) {
		if (lock_refresh(src->lock_ms) == -1)
			return ERR_UPSTREAM_TIMEOUT;
		if (clock_ms() < failed_until) {
			/* The fetch just failed here: do not ask again at once. */
			er = failed_er;
			pthread_mutex_unlock(&refresh_mu);
			return er;
		}
		er = db_token_refresh(src->db, src->appid, 1, src->lock_ms, 0,
		    fetch, &fa, t, &got, rid);
		if (er == ERR_OK && !got)
			er = ERR_UPSTREAM_ERROR;
		if (er != ERR_OK && er != ERR_UNAVAILABLE) {
			failed_until = clock_ms() + FAIL_BACKOFF_MS;
			failed_er = er;
		}
		pthread_mutex_unlock(&refresh_mu);
		if (er != ERR_OK)
			return er;
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
			return ERR_INTERNAL;
	}
	return ERR_OK;
}

enum err
token_call(const struct token_src *src, struct wx *wx, token_use_fn fn,
    void *arg, const char *rid)
{
	struct db_token	 t;
	char		 tok[WX_TOKEN_MAX + 1];
	long long	 t0 = clock_ms();
	int		 stale = 0, tries;
	enum err	 er;

	for (tries = 0; tries < 2; tries++) {
		/*
		 * The retry fits in the request's time only after a quick
		 * refusal (the usual 40001/42001); after a slow first round
		 * it would outlast the web server's timeout.
		 */
		if (tries == 1 && clock_ms() - t0 > src->lock_ms) {
			log_msg(LOG_WARN, rid, "token: no time left to retry");
			break;
		}
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
