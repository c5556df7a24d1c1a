/*
 * wx.h -- the WeChat server API client, over libcurl.
 *
 * Policy (one struct wx per call in flight, lent by a wx_pool; it owns one
 * CURL handle, reused so that connections are kept alive):
 * - HTTPS with certificate and host verification always on; the CA bundle is
 *   WX_CA_FILE or the system's.  Plain http only when the configured base is
 *   an http URL on loopback (the development fake); redirects not followed.
 * - Connect timeout min(2 s, total); total timeout WX_TIMEOUT_MS; past it
 *   the call is ERR_UPSTREAM_TIMEOUT.  No signals (CURLOPT_NOSIGNAL).
 * - A reply is capped at WX_REPLY_MAX bytes; beyond that, or not JSON, or an
 *   HTTP status other than 200, or a TLS failure: ERR_UPSTREAM_ERROR.
 * - The body is parsed as JSON whatever its Content-Type (WeChat answers
 *   text/plain).  A non-zero errcode goes through one table (wx.c) to an
 *   outcome.
 * - A login code is sent once: never retried, whatever happened.
 * - The app secret and session keys never reach a log line; the error
 *   buffer logged names no URL.
 */
#ifndef WXAUTH_WX_H
#define WXAUTH_WX_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"

#define WX_REPLY_MAX		(64 * 1024)
#define WX_OPENID_MAX		128
#define WX_SESSION_KEY_MAX	64
#define WX_RETRY_AFTER		60	/* seconds, for WeChat's 45011 */
#define WX_TOKEN_MAX		512	/* longest access_token WeChat may send */

struct wx;

struct wx_conf {
	const char	*base;		/* API base URL, no trailing slash */
	const char	*appid;
	const char	*secret;
	const char	*ca_file;	/* NULL: the system's CAs */
	long		 timeout_ms;
	int		 allow_http;	/* base is http on loopback */
};

/*
 * A client for one thread.  conf's strings are borrowed and must outlive
 * it.  Returns NULL if libcurl cannot make a handle.
 */
struct wx	*wx_new(const struct wx_conf *conf);
void		 wx_free(struct wx *);

/*
 * The clients of a process, lent to one thread at a time.  A worker's
 * threads do not each keep a client: a client holds a TLS connection to
 * WeChat (OpenSSL's context and buffers, ~130 KiB), and most requests
 * make no WeChat call.  wx_pool_get() gives the client returned last (its
 * connection is the likeliest still open), or makes one, up to max, then
 * waits for one; NULL if libcurl cannot make a handle.  So a process holds
 * as many clients as it ever had calls in flight at once.  The clients of a
 * pool share TLS sessions and resolved names (a CURLSH): a new client
 * resumes a session rather than doing a full handshake, so a burst of new
 * clients does not spend the connect timeout on RSA.
 */
struct wx_pool;
struct wx_pool	*wx_pool_new(const struct wx_conf *conf, size_t max);
void		 wx_pool_free(struct wx_pool *);
struct wx	*wx_pool_get(struct wx_pool *);
void		 wx_pool_put(struct wx_pool *, struct wx *);
/*
 * Free the clients idle for over idle_ms (the connection and OpenSSL state
 * of a burst of calls go back when the burst is over).  Returns how many.
 */
size_t		 wx_pool_trim(struct wx_pool *, long idle_ms);
/* Clients lent now: the calls to WeChat in flight. */
size_t		 wx_pool_lent(struct wx_pool *);

struct wx_session {
	char	openid[WX_OPENID_MAX + 1];
	char	unionid[WX_OPENID_MAX + 1];	/* "" when WeChat gave none */
	char	session_key[WX_SESSION_KEY_MAX + 1];
};

/*
 * Exchange a wx.login code (jscode2session), once.  Fills out, or returns:
 * ERR_INVALID_CODE (40029, 40163), ERR_BLOCKED_USER (40226),
 * ERR_RATE_LIMITED (45011; *retry_after set), ERR_UPSTREAM_TIMEOUT, or
 * ERR_UPSTREAM_ERROR for everything else.
 */
enum err	 wx_code2session(struct wx *, const char *code,
		    struct wx_session *out, long *retry_after, const char *rid);

/* The outcome for a WeChat errcode (non-zero), and a retry-after or 0. */
enum err	 wx_errcode(long errcode, long *retry_after);

/* Does this errcode say the access_token used is invalid or expired? */
int		 wx_token_stale(long errcode);

/*
 * Fetch the app's access_token with POST /cgi-bin/stable_token in normal
 * mode (never force_refresh).  Fills tok and *expires_in (seconds), or
 * returns ERR_UPSTREAM_TIMEOUT or ERR_UPSTREAM_ERROR (any errcode: bad
 * credentials and WeChat's trouble are not the user's fault).
 */
enum err	 wx_stable_token(struct wx *, char tok[WX_TOKEN_MAX + 1],
		    long *expires_in, const char *rid);

/*
 * Exchange a getPhoneNumber code (getuserphonenumber) with the access_token
 * token.  On success *phone_info is the reply's phone_info object (caller
 * puts it).  Errors as wx_code2session(); *stale is set when WeChat said
 * the token is invalid or expired (the code was then not consumed).
 */
enum err	 wx_phone_number(struct wx *, const char *token,
		    const char *code, json_object **phone_info, int *stale,
		    long *retry_after, const char *rid);

/*
 * Ask checksession whether the user's session_key is still the one WeChat
 * holds: signature is the lowercase hex HMAC-SHA256 keyed by the
 * session_key's base64 text over "".  *valid is 1 or 0 (errcode 87009).
 * *stale as wx_phone_number(); other errcodes are ERR_UPSTREAM_ERROR.
 */
enum err	 wx_checksession(struct wx *, const char *token,
		    const char *openid, const char *signature, int *valid,
		    int *stale, long *retry_after, const char *rid);

/*
 * The parsers behind the calls above, on a reply body of len bytes (any
 * bytes: they are what WeChat, or whoever answers in its place, sent).
 * Same outcomes as the calls; exposed for the tests and the fuzzers.
 */
enum err	 wx_reply_session(const char *body, size_t len,
		    struct wx_session *out, long *retry_after, const char *rid);
enum err	 wx_reply_token(const char *body, size_t len,
		    char tok[WX_TOKEN_MAX + 1], long *expires_in,
		    const char *rid);
enum err	 wx_reply_phone(const char *body, size_t len,
		    json_object **phone_info, int *stale, long *retry_after,
		    const char *rid);
enum err	 wx_reply_checksession(const char *body, size_t len, int *valid,
		    int *stale, long *retry_after, const char *rid);

#endif
