/*
 * req.c -- the request model (see req.h).
 */
#include <string.h>

#include "crypto.h"
#include "enc.h"
#include "parse.h"
#include "req.h"

static int
rid_ok(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++, n++) {
		if (n >= RID_MAX)
			return 0;
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		    *s == '-'))
			return 0;
	}
	return n > 0;
}

static void
set_path(struct req *rq, const char *uri, const char *script,
    const char *pinfo)
{
	size_t	 n;

	rq->path[0] = '\0';
	if (uri != NULL) {
		n = strcspn(uri, "?#");
		if (n > PATH_MAX_LEN)
			return;
		memcpy(rq->path, uri, n);
		rq->path[n] = '\0';
		return;
	}
	if (script == NULL)
		script = "";
	if (pinfo == NULL)
		pinfo = "";
	if (strlen(script) + strlen(pinfo) > PATH_MAX_LEN)
		return;
	memcpy(rq->path, script, strlen(script) + 1);
	strncat(rq->path, pinfo, PATH_MAX_LEN - strlen(rq->path));
}

void
req_init(struct req *rq, req_getter get, void *arg)
{
	const char	*m, *cl, *rid, *https;
	uint8_t		 raw[12];
	long		 l;

	memset(rq, 0, sizeof(*rq));
	m = get("REQUEST_METHOD", arg);
	if (m != NULL && strcmp(m, "GET") == 0)
		rq->method = METHOD_GET;
	else if (m != NULL && strcmp(m, "POST") == 0)
		rq->method = METHOD_POST;
	else
		rq->method = METHOD_OTHER;
	set_path(rq, get("REQUEST_URI", arg), get("SCRIPT_NAME", arg),
	    get("PATH_INFO", arg));
	rq->query = get("QUERY_STRING", arg);
	rq->content_type = get("CONTENT_TYPE", arg);
	cl = get("CONTENT_LENGTH", arg);
	if (cl == NULL || *cl == '\0')
		rq->content_length = -1;
	else if (parse_long(cl, 0, 1L << 40, &l) == 0)
		rq->content_length = l;
	else
		rq->content_length = -2;
	rq->cookie = get("HTTP_COOKIE", arg);
	rq->authorization = get("HTTP_AUTHORIZATION", arg);
	rq->x_wx_session = get("HTTP_X_WX_SESSION", arg);
	rq->remote_addr = get("REMOTE_ADDR", arg);
	rq->forwarded_for = get("HTTP_X_FORWARDED_FOR", arg);
	rq->if_none_match = get("HTTP_IF_NONE_MATCH", arg);
	https = get("HTTPS", arg);
	rq->https = https != NULL && (strcmp(https, "on") == 0 ||
	    strcmp(https, "1") == 0);
	rid = get("HTTP_X_REQUEST_ID", arg);
	if (rid != NULL && rid_ok(rid))
		memcpy(rq->rid, rid, strlen(rid) + 1);
	else {
		crypto_unique(raw, sizeof(raw));
		b64url_encode(raw, sizeof(raw), rq->rid);
	}
	buf_init(&rq->body, BODY_MAX);
}

void
req_free(struct req *rq)
{
	buf_free(&rq->body);
}
