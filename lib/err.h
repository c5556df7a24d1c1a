/*
 * err.h -- the one outcome type of wxauth.
 *
 * Every lib function that can fail returns an enum err.  The values mirror
 * the public API's error slugs (../docs/API.md), and err_info() gives, for
 * each, the HTTP status, the slug, the envelope's numeric code and a default
 * message a mini program can show to its user.
 */
#ifndef WXAUTH_ERR_H
#define WXAUTH_ERR_H

enum err {
	ERR_OK = 0,
	ERR_BAD_REQUEST,	/* 400 bad_request */
	ERR_INVALID_CODE,	/* 400 invalid_code */
	ERR_BLOCKED_USER,	/* 403 blocked_user */
	ERR_DECRYPT_FAILED,	/* 400 decrypt_failed */
	ERR_INVALID_WATERMARK,	/* 400 invalid_watermark */
	ERR_INVALID_SIGNATURE,	/* 400 invalid_signature */
	ERR_UNAUTHORIZED,	/* 401 unauthorized */
	ERR_NOT_FOUND,		/* 404 not_found */
	ERR_METHOD_NOT_ALLOWED,	/* 405 method_not_allowed */
	ERR_PAYLOAD_TOO_LARGE,	/* 413 payload_too_large */
	ERR_RATE_LIMITED,	/* 429 rate_limited */
	ERR_INTERNAL,		/* 500 internal */
	ERR_UPSTREAM_ERROR,	/* 502 upstream_error */
	ERR_UNAVAILABLE,	/* 503 unavailable */
	ERR_UPSTREAM_TIMEOUT,	/* 504 upstream_timeout */
	ERR__MAX
};

struct err_info {
	int		 status;	/* HTTP status */
	const char	*reason;	/* HTTP reason phrase */
	const char	*slug;		/* stable API slug; "ok" for ERR_OK */
	const char	*msg;		/* default human message */
};

/*
 * The row of the table for er; an out-of-range value gives ERR_INTERNAL's.
 * The envelope's "code" is the enum value itself (stable: append only).
 */
const struct err_info	*err_info(enum err er);

/*
 * The outcome to report for an error the web server in front of us makes
 * itself with HTTP status `status' (it cannot reach the pool, the body is too
 * large, the request is malformed, ...).
 */
enum err		 err_for_server_status(int status);

/* The statuses web servers make themselves, for which pages are generated. */
extern const int	 err_server_statuses[];
extern const int	 err_server_nstatuses;

#endif
