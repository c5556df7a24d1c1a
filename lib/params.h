/*
 * params.h -- declared request parameters, validated once at the edge.
 *
 * Each endpoint declares its parameters in a static table of struct pspec.
 * params_parse() merges the query string and the body (urlencoded form or a
 * JSON object) into that table: every declared parameter comes out typed
 * and checked, or the request is refused with bad_request and a message
 * naming the parameter.  Undeclared parameters are ignored.  A parameter
 * given twice (in the query and the body, or twice in one of them) is
 * refused: there is no "which one wins".  (Within one JSON object a
 * repeated member cannot be seen: json-c keeps the last; see jsonx.h.)
 */
#ifndef WXAUTH_PARAMS_H
#define WXAUTH_PARAMS_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"

enum ptype {
	PT_ASCII,	/* min..max bytes of printable ASCII (0x20-0x7e) */
	PT_TEXT,	/* valid UTF-8, min..max code points, no control chars */
	PT_INT,		/* integer in [min, max]: JSON number or decimal text */
	PT_BOOL,	/* true/false, 1/0 (JSON or text) */
	PT_URL,		/* at most max bytes: an https:// URL (http:// too with
			   P_HTTP) or this server's /api/avatar/<id> */
	PT_HEX,		/* exactly max hex digits, either case */
	PT_JSON,	/* min..max bytes of text holding one JSON object */
	PT__MAX
};

#define P_REQUIRED	0x01
#define P_HTTP		0x02	/* PT_URL: http:// accepted too */

struct pspec {
	const char	*name;
	enum ptype	 type;
	long		 min, max;
	unsigned	 flags;
};

#define PARAMS_MAX	16	/* most parameters an endpoint declares */

struct pval {
	int	 set;	/* given (and not JSON null) */
	char	*s;	/* PT_ASCII/PT_TEXT: owned, NUL-terminated */
	size_t	 len;	/* length of s in bytes */
	long	 i;	/* PT_INT/PT_BOOL */
};

struct params {
	struct pval	v[PARAMS_MAX];	/* parallel to the spec table */
	size_t		n;
};

/* How the body is encoded, from the Content-Type media type. */
enum body_type {
	BODY_NONE,	/* empty body */
	BODY_FORM,	/* application/x-www-form-urlencoded */
	BODY_JSON,	/* application/json */
	BODY_OTHER,	/* anything else: refused when the body is not empty */
};

/* Classify a Content-Type header value (NULL: absent). */
enum body_type	params_body_type(const char *content_type);

/*
 * Validate query and body against spec[0..nspec).  On success fills out
 * (free with params_free()) and returns ERR_OK; otherwise returns
 * ERR_BAD_REQUEST with a message for the user in msg (size msgsz) and out
 * holds nothing.  query may be NULL; body may be NULL when bodylen is 0.
 */
enum err	params_parse(const struct pspec *spec, size_t nspec,
		    const char *query, enum body_type bt, const char *body,
		    size_t bodylen, struct params *out, char *msg, size_t msgsz);

/*
 * The same for a JSON object already parsed (WeChat's decrypted or signed
 * user data): each declared member is checked as if it came in a request.
 */
enum err	params_from_json(const struct pspec *spec, size_t nspec,
		    json_object *obj, struct params *out, char *msg,
		    size_t msgsz);

void		params_free(struct params *);

#endif
