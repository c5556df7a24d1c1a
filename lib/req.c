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

/* The parameters req_init() reads. */
enum rparam {
	RP_METHOD, RP_URI, RP_SCRIPT, RP_PINFO, RP_QUERY, RP_CTYPE, RP_CLEN,
	RP_COOKIE, RP_AUTH, RP_WXSESS, RP_RADDR, RP_XFF, RP_INM, RP_HTTPS,
	RP_RID, RP__MAX
};

#define RP(s)	{ s, sizeof(s) - 1 }
static const struct {
	const char	*name;
	size_t		 len;
} rparams[RP__MAX] = {
	[RP_METHOD] = RP("REQUEST_METHOD"),
	[RP_URI] = RP("REQUEST_URI"),
	[RP_SCRIPT] = RP("SCRIPT_NAME"),
	[RP_PINFO] = RP("PATH_INFO"),
	[RP_QUERY] = RP("QUERY_STRING"),
	[RP_CTYPE] = RP("CONTENT_TYPE"),
	[RP_CLEN] = RP("CONTENT_LENGTH"),
	[RP_COOKIE] = RP("HTTP_COOKIE"),
	[RP_AUTH] = RP("HTTP_AUTHORIZATION"),
	[RP_WXSESS] = RP("HTTP_X_WX_SESSION"),
	[RP_RADDR] = RP("REMOTE_ADDR"),
	[RP_XFF] = RP("HTTP_X_FORWARDED_FOR"),
	[RP_INM] = RP("HTTP_IF_NONE_MATCH"),
	[RP_HTTPS] = RP("HTTPS"),
	[RP_RID] = RP("HTTP_X_REQUEST_ID"),
};

/*
 * The value of each parameter in v (NULL when absent), in one pass over
 * the "NAME=value" strings: the first of a repeated name counts, as with
 * FCGX_GetParam (15 lookups by name were a ninth of a request's own work).
 */
static void
scan_params(const char *const *envp, const char *v[RP__MAX])
{
	const char	*eq;
	size_t		 n;
	int		 i;

	for (i = 0; i < RP__MAX; i++)
		v[i] = NULL;
	for (; envp != NULL && *envp != NULL; envp++) {
		if ((eq = strchr(*envp, '=')) == NULL)
			continue;
		n = (size_t)(eq - *envp);
		for (i = 0; i < RP__MAX; i++)
			if (rparams[i].len == n && v[i] == NULL &&
			    memcmp(*envp, rparams[i].name, n) == 0) {
				v[i] = eq + 1;
				break;
			}
	}
}

void
req_init(struct req *rq, const char *const *envp)
{
	const char	*v[RP__MAX], *m, *cl, *rid, *https;
	uint8_t		 raw[12];
	long		 l;

	memset(rq, 0, sizeof(*rq));
	scan_params(envp, v);
	m = v[RP_METHOD];
	if (m != NULL && strcmp(m, "GET") == 0)
		rq->method = METHOD_GET;
	else if (m != NULL && strcmp(m, "POST") == 0)
		rq->method = METHOD_POST;
	else
		rq->method = METHOD_OTHER;
	set_path(rq, v[RP_URI], v[RP_SCRIPT], v[RP_PINFO]);
	rq->query = v[RP_QUERY];
	rq->content_type = v[RP_CTYPE];
	cl = v[RP_CLEN];
	if (cl == NULL || *cl == '\0')
		rq->content_length = -1;
	else if (parse_long(cl, 0, 1L << 40, &l) == 0)
		rq->content_length = l;
	else
		rq->content_length = -2;
	rq->cookie = v[RP_COOKIE];
	rq->authorization = v[RP_AUTH];
	rq->x_wx_session = v[RP_WXSESS];
	rq->remote_addr = v[RP_RADDR];
	rq->forwarded_for = v[RP_XFF];
	rq->if_none_match = v[RP_INM];
	https = v[RP_HTTPS];
	rq->https = https != NULL && (strcmp(https, "on") == 0 ||
	    strcmp(https, "1") == 0);
	rid = v[RP_RID];
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
