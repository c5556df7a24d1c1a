/*
 * routes.c -- the route table with each endpoint's declared parameters, and
 * the dispatcher that applies them in the contract's order: path (404),
 * method (405, before any authentication), body size (413), parameters
 * (400), then the handler.
 */
#include <string.h>

#include "avatar.h"
#include "opendata.h"
#include "wxauth.h"

static const struct pspec login_spec[] = {
	{ "code", PT_ASCII, 1, 128, P_REQUIRED },
};

static const struct pspec check_session_spec[] = {
	{ "remote", PT_BOOL, 0, 1, 0 },
};

/* WeChat's encrypted open data: a pair (lengths: see opendata.h). */
#define OPENDATA_PSPECS \
	{ "encrypted_data", PT_ASCII, 1, OPENDATA_B64_MAX, 0 }, \
	{ "encrypt_iv", PT_ASCII, 1, 64, 0 }

/* In the order of UB_* (wxauth.h). */
static const struct pspec update_spec[] = {
	PROFILE_PSPECS,
	OPENDATA_PSPECS,
	{ "raw_data", PT_JSON, 1, 4096, 0 },
	{ "signature", PT_HEX, 40, 40, 0 },
};

/* In the order of BP_* (wxauth.h). */
static const struct pspec phone_spec[] = {
	{ "code", PT_ASCII, 1, 128, 0 },
	OPENDATA_PSPECS,
};

#define SPEC(s)	s, sizeof(s) / sizeof(s[0])

static const struct route routes[] = {
	{ "/healthz", METHOD_GET, 0, NULL, 0, h_healthz },
	{ "/api/user/auth_login", METHOD_GET | METHOD_POST, BODY_MAX,
	    SPEC(login_spec), h_auth_login },
	{ "/api/user/info", METHOD_GET, 0, NULL, 0, h_user_info },
	{ "/api/user/check_session", METHOD_GET, 0,
	    SPEC(check_session_spec), h_check_session },
	{ "/api/user/logout", METHOD_POST, BODY_MAX, NULL, 0, h_logout },
	{ "/api/user/update_base_info", METHOD_GET | METHOD_POST, BODY_MAX,
	    SPEC(update_spec), h_update_base_info },
	{ "/api/user/bind_wx_phone_number", METHOD_POST, BODY_MAX,
	    SPEC(phone_spec), h_bind_phone },
	{ "/api/user/avatar", METHOD_POST, AVATAR_BODY_MAX, NULL, 0,
	    h_avatar_upload },
	/* A path ending in '/' matches what continues it with no '/'. */
	{ AVATAR_PATH, METHOD_GET, 0, NULL, 0, h_avatar_get },
};

const struct route *
routes_table(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}

static const struct route *
route_find(const char *path)
{
	size_t	 i;

	size_t	 n;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		n = strlen(routes[i].path);
		if (routes[i].path[n - 1] == '/' ? strncmp(routes[i].path, path,
		    n) == 0 && path[n] != '\0' && strchr(path + n, '/') == NULL :
		    strcmp(routes[i].path, path) == 0)
			return &routes[i];
	}
	return NULL;
}

void
dispatch(const struct app *app, struct req *rq,
    struct reply *rp, body_reader rd, void *rdarg, const char **route_name)
{
	const struct route	*rt;
	struct params		 pa;
	struct ctx		 ctx;
	size_t			 max;
	enum err		 er;

	*route_name = "-";
	if ((rt = route_find(rq->path)) == NULL) {
		reply_err(rp, ERR_NOT_FOUND, NULL);
		return;
	}
	*route_name = rt->path;
	if (!(rt->methods & rq->method)) {
		reply_err(rp, ERR_METHOD_NOT_ALLOWED, NULL);
		rp->allow = rt->methods;
		return;
	}
	/* Routes without a body take none; a stray one must still be small. */
	max = rt->body_max > 0 ? rt->body_max : BODY_MAX;
	if (rq->content_length == -2) {
		reply_err(rp, ERR_BAD_REQUEST, "Content-Length 无效");
		return;
	}
	if (rq->content_length > (long)max) {
		reply_err(rp, ERR_PAYLOAD_TOO_LARGE, NULL);
		return;
	}
	rq->body.max = max;
	if (rq->content_length != 0 && rd(rdarg, &rq->body) == -1) {
		reply_err(rp, ERR_PAYLOAD_TOO_LARGE, NULL);
		return;
	}
	if (rt->nspec > 0) {
		if ((er = params_parse(rt->spec, rt->nspec, rq->query,
		    params_body_type(rq->content_type), rq->body.p, rq->body.len,
		    &pa, rp->msg, sizeof(rp->msg))) != ERR_OK) {
			rp->er = er;
			return;
		}
	} else
		memset(&pa, 0, sizeof(pa));
	ctx.app = app;
	ctx.wx = NULL;
	ctx.rq = rq;
	ctx.pa = &pa;
	ctx.rp = rp;
	ctx.fail_key[0] = '\0';
	er = rt->fn(&ctx);
	wx_pool_put(app->wxp, ctx.wx);
	if (er != ERR_OK) {
		/* Keep the handler's message only when it set the outcome too. */
		if (rp->er != er)
			rp->msg[0] = '\0';
		rp->er = er;
		json_object_put(rp->res);
		rp->res = NULL;
	}
	params_free(&pa);
}
