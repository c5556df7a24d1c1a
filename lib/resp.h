/*
 * resp.h -- the reply a handler builds, and the one function that turns it
 * into bytes (FastCGI response headers and the JSON envelope).
 *
 * Success: HTTP 200, {"code":0,"msg":"ok","res":{...}}.
 * Failure: the status of the err, {"code":<err>,"msg":"...","error":"<slug>"}.
 * Every reply carries Content-Type: application/json; charset=utf-8,
 * Cache-Control: no-store and X-Request-Id -- but a successful raw reply
 * (GET /api/avatar/<id>): its own type and bytes, a strong ETag, and
 * caching for a year (immutable); 304 with no body when not_modified.
 */
#ifndef WXAUTH_RESP_H
#define WXAUTH_RESP_H

#include <json-c/json.h>

#include "buf.h"
#include "err.h"

#define RESP_MSG_MAX	256
#define RESP_COOKIE_MAX	256
#define RESP_ETAG_MAX	64
#define RESP_RAW_MAX	(1024 * 1024)	/* a raw body, at most */

struct reply {
	enum err	 er;		/* outcome */
	char		 msg[RESP_MSG_MAX]; /* "" or a message replacing the default */
	json_object	*res;		/* success payload, owned; NULL gives {} */
	char		 set_cookie[RESP_COOKIE_MAX]; /* "" or a Set-Cookie value */
	long		 retry_after;	/* > 0: Retry-After seconds */
	unsigned	 allow;		/* 405: allowed methods (enum method bits) */
	long long	 uid;		/* user id for the access log, 0: none */
	/* A raw reply instead of the envelope, on success: */
	const char	*raw_type;	/* its Content-Type, or NULL: envelope */
	struct buf	 raw;		/* its bytes (max RESP_RAW_MAX) */
	char		 etag[RESP_ETAG_MAX]; /* "" or a strong ETag, quoted */
	int		 not_modified;	/* 304: the client's copy is current */
};

/* An empty reply (ERR_OK, no payload). */
void	reply_init(struct reply *);

/* Free what the reply owns and empty it. */
void	reply_free(struct reply *);

/* Set the outcome, with a message (printf) replacing the default; fmt may be NULL. */
void	reply_err(struct reply *, enum err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Write the FastCGI response (Status line, headers, blank line, body) for
 * rp into out.  rid is the request id.  Returns 0, or -1 if out's maximum
 * was reached (out is then reset to a 500 reply).
 */
int	reply_render(const struct reply *rp, const char *rid, struct buf *out);

/* Append only the JSON envelope of rp to out.  Returns 0 or -1 (max). */
int	reply_body(const struct reply *rp, struct buf *out);

#endif
