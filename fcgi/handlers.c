/*
 * handlers.c -- one function per endpoint.  Each reads validated
 * parameters, calls lib/, and fills ctx->rp->res; dispatch() and
 * reply_render() do the rest.
 */
#include <stdio.h>
#include <string.h>

#include "jsonx.h"
#include "sess.h"
#include "user.h"
#include "wxauth.h"

/* The session token the request presents, hashed; 0 if there is none. */
static int
presented(const struct req *rq, uint8_t hash[SHA256_LEN])
{
	char	 tok[SESS_TOKEN_LEN + 1];
	int	 ok;

	ok = sess_token_find(rq->authorization, rq->x_wx_session, rq->cookie,
	    tok) && sess_token_hash(tok, SESS_TOKEN_LEN, hash) == 0;
	memset(tok, 0, sizeof(tok));
	return ok;
}

/* The user of the request's live session, or ERR_UNAUTHORIZED. */
static enum err
authenticate(struct ctx *c, struct user *u, long *expires_in)
{
	const struct config	*cfg = c->app->cfg;
	uint8_t			 hash[SHA256_LEN];
	enum err		 er;

	if (!presented(c->rq, hash))
		return ERR_UNAUTHORIZED;
	er = db_session_user(c->app->db, hash, cfg->session_idle,
	    config_touch_interval(cfg), u, expires_in, c->rq->rid);
	if (er == ERR_OK)
		c->rp->uid = u->id;
	return er;
}

enum err
h_healthz(struct ctx *c)
{
	enum err	 er;

	if ((er = db_ping(c->app->db, c->rq->rid)) != ERR_OK)
		return er;
	c->rp->res = json_object_new_object();
	jsonx_add_str(c->rp->res, "db", "ok");
	return ERR_OK;
}

/*
 * GET|POST /api/user/auth_login: code -> jscode2session (once) -> one
 * statement that upserts the user, revokes the presented token and stores
 * the new session -> the token, as res.cookies, res.token and Set-Cookie.
 */
enum err
h_auth_login(struct ctx *c)
{
	const struct config	*cfg = c->app->cfg;
	struct wx_session	 ws;
	struct db_login		 in;
	struct user		 u;
	uint8_t			 newh[SHA256_LEN], oldh[SHA256_LEN];
	char			 tok[SESS_TOKEN_LEN + 1], cookie[64];
	json_object		*res;
	int			 is_new, has_old;
	enum err		 er;

	has_old = presented(c->rq, oldh);
	er = wx_code2session(c->wx, c->pa->v[0].s, &ws, &c->rp->retry_after,
	    c->rq->rid);
	if (er != ERR_OK)
		return er;
	if (sess_token_new(tok, newh) == -1) {
		memset(&ws, 0, sizeof(ws));
		return ERR_INTERNAL;
	}
	in.openid = ws.openid;
	in.unionid = ws.unionid[0] != '\0' ? ws.unionid : NULL;
	in.session_key = ws.session_key;
	in.new_hash = newh;
	in.old_hash = has_old ? oldh : NULL;
	in.ttl = cfg->session_ttl;
	er = db_login(c->app->db, &in, &u, &is_new, c->rq->rid);
	memset(&ws, 0, sizeof(ws));
	if (er != ERR_OK) {
		memset(tok, 0, sizeof(tok));
		return er;
	}
	c->rp->uid = u.id;
	snprintf(cookie, sizeof(cookie), SESS_COOKIE "=%s", tok);
	res = json_object_new_object();
	jsonx_add_str(res, "cookies", cookie);
	jsonx_add_str(res, "token", tok);
	json_object_object_add(res, "expires_in",
	    json_object_new_int64(cfg->session_ttl));
	json_object_object_add(res, "is_new_user",
	    json_object_new_boolean(is_new));
	json_object_object_add(res, "user", user_json(&u));
	c->rp->res = res;
	snprintf(c->rp->set_cookie, sizeof(c->rp->set_cookie),
	    "%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s", cookie,
	    cfg->session_ttl, c->rq->https ? "; Secure" : "");
	memset(tok, 0, sizeof(tok));
	memset(cookie, 0, sizeof(cookie));
	user_free(&u);
	return ERR_OK;
}

/* GET /api/user/info */
enum err
h_user_info(struct ctx *c)
{
	struct user	 u;
	long		 exp;
	enum err	 er;

	if ((er = authenticate(c, &u, &exp)) != ERR_OK)
		return er;
	c->rp->res = json_object_new_object();
	json_object_object_add(c->rp->res, "user", user_json(&u));
	user_free(&u);
	return ERR_OK;
}

/*
 * GET /api/user/check_session: valid, and the seconds left before the
 * session expires if it is not used (the sooner of its absolute and its idle
 * expiry).  remote=1 (asking WeChat about the session_key) is not served
 * yet: it comes with the profile and phone work.
 */
enum err
h_check_session(struct ctx *c)
{
	struct user	 u;
	long		 exp;
	enum err	 er;

	if ((er = authenticate(c, &u, &exp)) != ERR_OK)
		return er;
	user_free(&u);
	c->rp->res = json_object_new_object();
	json_object_object_add(c->rp->res, "valid",
	    json_object_new_boolean(1));
	json_object_object_add(c->rp->res, "expires_in",
	    json_object_new_int64(exp > 0 ? exp : 0));
	return ERR_OK;
}

/* POST /api/user/logout: this session only; the cookie is cleared too. */
enum err
h_logout(struct ctx *c)
{
	uint8_t		 hash[SHA256_LEN];
	enum err	 er;

	if (!presented(c->rq, hash))
		return ERR_UNAUTHORIZED;
	if ((er = db_session_revoke(c->app->db, hash,
	    c->app->cfg->session_idle, &c->rp->uid, c->rq->rid)) != ERR_OK)
		return er;
	c->rp->res = json_object_new_object();
	snprintf(c->rp->set_cookie, sizeof(c->rp->set_cookie),
	    SESS_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
	    c->rq->https ? "; Secure" : "");
	return ERR_OK;
}
