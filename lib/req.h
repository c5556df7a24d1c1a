/*
 * req.h -- the request model: what a handler may know about one HTTP
 * request, filled from the web server's FastCGI parameters.
 *
 * req_init() takes the parameters as the NULL-terminated "NAME=value"
 * strings of CGI and FastCGI (libfcgi's envp), so that this module does
 * not depend on libfcgi.  The strings it points to are borrowed from them
 * and live as long as the request.  The body is read by the caller into
 * rq->body.
 */
#ifndef WXAUTH_REQ_H
#define WXAUTH_REQ_H

#include "buf.h"

#define BODY_MAX	(64 * 1024)	/* default request body limit */
#define RID_MAX		64		/* longest request id we accept */
#define PATH_MAX_LEN	256		/* longer paths are simply not found */

enum method {
	METHOD_GET	= 0x01,
	METHOD_POST	= 0x02,
	METHOD_OTHER	= 0x04,
};

struct req {
	enum method	 method;
	char		 path[PATH_MAX_LEN + 1]; /* request path, no query */
	const char	*query;		/* QUERY_STRING or NULL */
	const char	*content_type;	/* CONTENT_TYPE or NULL */
	long		 content_length; /* -1: absent; -2: malformed */
	const char	*cookie;	/* HTTP_COOKIE */
	const char	*authorization;	/* HTTP_AUTHORIZATION */
	const char	*x_wx_session;	/* HTTP_X_WX_SESSION */
	const char	*remote_addr;	/* REMOTE_ADDR */
	const char	*forwarded_for;	/* HTTP_X_FORWARDED_FOR */
	const char	*if_none_match;	/* HTTP_IF_NONE_MATCH */
	int		 https;		/* HTTPS=on */
	char		 rid[RID_MAX + 1]; /* request id: the caller's or ours */
	struct buf	 body;		/* filled by the caller, <= its max */
};

/*
 * Fill rq from the FastCGI parameters envp (the first of a repeated name
 * counts; strings without '=' are skipped).  The request id is the
 * caller's X-Request-Id when it is 1..RID_MAX characters of [A-Za-z0-9._-],
 * else a fresh random one.  rq->body starts empty with max BODY_MAX.
 */
void	req_init(struct req *rq, const char *const *envp);

/* Free what the request owns. */
void	req_free(struct req *rq);

#endif
