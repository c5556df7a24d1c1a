/*
 * token.h -- the app's access_token, shared by every worker on every host.
 *
 * Policy:
 * - The token lives in PostgreSQL (wx_access_tokens, sealed like the
 *   session keys), never only in one process: with many workers, tokens
 *   fetched independently would replace one another (the 40001 storm).
 * - It is fetched with stable_token in normal mode, never force_refresh.
 * - A token with more than TOKEN_RENEW_S seconds left (or half its lifetime,
 *   for short ones) is used as it is.  Inside that window one process
 *   renews it ahead of expiry, without waiting: whoever does not get the
 *   refresh lock keeps using the current, still valid, token.  An expired
 *   or missing token is fetched by one process while the others wait for
 *   it on the same lock (at most the WeChat timeout plus a second), then
 *   use what it stored: N workers after expiry make one fetch, not N.
 *   Within a process only one thread takes part (the others wait on a
 *   mutex, holding no database connection); after a failed fetch that
 *   process answers the same error for a second rather than ask again.
 * - When WeChat says a token is invalid or expired (40001, 40014, 42001),
 *   the stored token is expired only if it is still the one that failed,
 *   a token is obtained as above, and the call is retried once, if the
 *   first round was quick enough for the retry to fit in the request's
 *   time.  Never a loop: a second refusal is upstream_error.
 */
#ifndef WXAUTH_TOKEN_H
#define WXAUTH_TOKEN_H

#include "db.h"
#include "seal.h"
#include "wx.h"

#define TOKEN_RENEW_S	300

struct token_src {
	struct db		*db;
	const struct keyring	*keys;
	const char		*appid;
	long			 lock_ms;	/* longest wait for the refresher */
};

/*
 * A call that uses the token.  Sets *stale when WeChat refused the token
 * (see wx.h); returns its outcome.
 */
typedef enum err (*token_use_fn)(struct wx *, const char *token, void *arg,
		    int *stale, const char *rid);

/* Run fn with the app's token, under the policy above. */
enum err	token_call(const struct token_src *, struct wx *, token_use_fn fn,
		    void *arg, const char *rid);

#endif
