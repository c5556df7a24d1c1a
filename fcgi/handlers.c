/*
 * handlers.c -- one function per endpoint.  Each reads validated
 * parameters, calls lib/, and fills ctx->rp->res; dispatch() and
 * reply_render() do the rest.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "avatar.h"
#include "enc.h"
#include "jsonx.h"
#include "log.h"
#include "opendata.h"
#include "sess.h"
#include "user.h"
#include "wxauth.h"

/* The session token the request presents, hashed; 0 if there is none. */

struct wx *
wx_client(struct ctx *c)
{
	if (c->wx == NULL)
		c->wx = wx_pool_get(c->app->wxp);
	return c->wx;
}

/* Done with WeChat for this request: the client goes back at once. */
static void
wx_done(struct ctx *c)
{
	wx_pool_put(c->app->wxp, c->wx);
	c->wx = NULL;
}

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

/*
 * The user of the request's live session, or ERR_UNAUTHORIZED.  With key
 * not NULL, also the user's sealed session_key and the session's decrypt
 * failures in this window (same round trip), and then sets c->fail_key.
 */
static enum err
authenticate(struct ctx *c, struct user *u, long *expires_in,
    struct db_session_key *key)
{
	const struct config	*cfg = c->app->cfg;
	uint8_t			 hash[SHA256_LEN];
	char			 hex[2 * SHA256_LEN + 1];
	enum err		 er;

	if (!presented(c->rq, hash))
		return ERR_UNAUTHORIZED;
	/* Only the routes that decrypt need the failure counter. */
	if (key != NULL) {
		hex_encode(hash, sizeof(hash), hex);
		if (limit_key(LIMIT_DECRYPT_FAIL, hex, c->fail_key) == -1)
			return ERR_INTERNAL;
		key->fail_key = c->fail_key;
		key->fail_window = limit_window(LIMIT_DECRYPT_FAIL);
	}
	er = db_session_user(c->app->db, hash, cfg->session_idle,
	    config_touch_interval(cfg), u, expires_in, key, c->rq->rid);
	if (er == ERR_OK)
		c->rp->uid = u->id;
	return er;
}

/*
 * Count one event of kind for subject; ERR_RATE_LIMITED (with Retry-After
 * set) once over the configured limit, ERR_OK under it or when it is off.
 * *counted tells whether a count was taken (for limit_give_back()).  Logins
 * per address are counted ahead of the database (limit.h) when they can.
 */
static enum err
limit_take(struct ctx *c, enum limit_kind kind, const char *subject,
    int *counted)
{
	long	 lim = c->app->cfg->limit[kind], win = limit_window(kind);
	long	 n, ra, add = 1;
	char	 key[LIMIT_KEY_MAX];
	time_t	 now = time(NULL);
	enum err er;

	if (counted != NULL)
		*counted = 0;
	if (lim == 0)
		return ERR_OK;
	if (limit_key(kind, subject, key) == -1)
		return ERR_INTERNAL;
	if (kind == LIMIT_LOGIN_IP &&
	    limit_ahead_take(c->app->ahead, key, lim, win, now, &add))
		return ERR_OK;
	er = db_limit_add(c->app->db, key, win, add, &n, &ra, c->rq->rid);
	if (kind == LIMIT_LOGIN_IP)
		limit_ahead_learn(c->app->ahead, key, win, now, add, 1,
		    er == ERR_OK ? n : -1);
	if (er != ERR_OK)
		return er;
	if (counted != NULL)
		*counted = 1;
	if (n <= lim)
		return ERR_OK;
	c->rp->retry_after = ra;
	log_msg(LOG_INFO, c->rq->rid, "limit: over %ld per %ld s (%s)", lim,
	    limit_window(kind), kind == LIMIT_LOGIN_IP ? "login per address" :
	    kind == LIMIT_LOGIN_USER ? "login per user" :
	    kind == LIMIT_PHONE_USER ? "phone binds per user" :
	    "decrypt failures per session");
	return ERR_RATE_LIMITED;
}

/* Give back a count that limit_take() took for an event that did not happen. */
static void
limit_give_back(struct ctx *c, enum limit_kind kind, const char *subject)
{
	char	 key[LIMIT_KEY_MAX];

	if (limit_key(kind, subject, key) == 0)
		(void)db_limit_undo(c->app->db, key, limit_window(kind),
		    c->rq->rid);
}

/*
 * Before decrypting or checking a signature: is this session over its
 * failure limit?  Then nothing is decrypted until the window ends.
 */
static enum err
decrypt_allowed(struct ctx *c, const struct db_session_key *k)
{
	long	 lim = c->app->cfg->limit[LIMIT_DECRYPT_FAIL];
	long	 w = limit_window(LIMIT_DECRYPT_FAIL);

	if (lim == 0 || k->fails < lim)
		return ERR_OK;
	c->rp->retry_after = w - (long)(time(NULL) % w);
	return ERR_RATE_LIMITED;
}

/* After a decrypt or signature outcome: count a failure. */
static void
decrypt_outcome(struct ctx *c, enum err er)
{
	long	 n, ra;

	if ((er == ERR_DECRYPT_FAILED || er == ERR_INVALID_SIGNATURE) &&
	    c->app->cfg->limit[LIMIT_DECRYPT_FAIL] > 0 &&
	    c->fail_key[0] != '\0')
		(void)db_limit_add(c->app->db, c->fail_key,
		    limit_window(LIMIT_DECRYPT_FAIL), 1, &n, &ra, c->rq->rid);
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
	struct sealed		 sk;
	struct user		 u;
	uint8_t			 newh[SHA256_LEN], oldh[SHA256_LEN];
	char			 tok[SESS_TOKEN_LEN + 1], cookie[64];
	char			 addr[CLIENT_ADDR_MAX], ukey[LIMIT_KEY_MAX];
	json_object		*res;
	int			 is_new, has_old;
	enum err		 er;

	has_old = presented(c->rq, oldh);
	limit_client_addr(c->rq->remote_addr, c->rq->forwarded_for,
	    cfg->trusted_proxies, addr);
	if ((er = limit_take(c, LIMIT_LOGIN_IP, addr, NULL)) != ERR_OK)
		return er;
	/* A code spent at WeChat is gone: not while the database is down. */
	if ((er = db_usable(c->app->db, c->rq->rid)) != ERR_OK)
		return er;
	if (wx_client(c) == NULL)
		return ERR_INTERNAL;
	er = wx_code2session(c->wx, c->pa->v[0].s, &ws, &c->rp->retry_after,
	    c->rq->rid);
	wx_done(c);
	if (er != ERR_OK)
		return er;
	if (sess_token_new(tok, newh) == -1 ||
	    user_seal_session_key(&cfg->keys, ws.openid, ws.session_key,
	    &sk) == -1) {
		memset(&ws, 0, sizeof(ws));
		memset(tok, 0, sizeof(tok));
		return ERR_INTERNAL;
	}
	in.openid = ws.openid;
	in.unionid = ws.unionid[0] != '\0' ? ws.unionid : NULL;
	in.session_key = &sk;
	in.new_hash = newh;
	in.old_hash = has_old ? oldh : NULL;
	in.ttl = cfg->session_ttl;
	/* The per-openid limit is counted by the login statement itself. */
	in.limit = cfg->limit[LIMIT_LOGIN_USER];
	in.limit_window = limit_window(LIMIT_LOGIN_USER);
	in.limit_key = NULL;
	if (in.limit > 0) {
		if (limit_key(LIMIT_LOGIN_USER, ws.openid, ukey) == -1) {
			memset(&ws, 0, sizeof(ws));
			memset(tok, 0, sizeof(tok));
			return ERR_INTERNAL;
		}
		in.limit_key = ukey;
	}
	er = db_login(c->app->db, &in, &u, &is_new, &c->rp->retry_after,
	    c->rq->rid);
	if (er == ERR_RATE_LIMITED)
		log_msg(LOG_INFO, c->rq->rid, "limit: over %ld per %ld s (login "
		    "per user)", in.limit, in.limit_window);
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
	jsonx_set(res, "expires_in", json_object_new_int64(cfg->session_ttl));
	jsonx_set(res, "is_new_user", json_object_new_boolean(is_new));
	jsonx_set(res, "user", user_json(&u));
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

	if ((er = authenticate(c, &u, &exp, NULL)) != ERR_OK)
		return er;
	c->rp->res = json_object_new_object();
	jsonx_set(c->rp->res, "user", user_json(&u));
	user_free(&u);
	return ERR_OK;
}

/* The session_key of u, opened; 0, or -1 if there is none we can read. */
static int
open_session_key(struct ctx *c, const struct user *u, const struct sealed *sk,
    char out[WX_SESSION_KEY_MAX + 1])
{
	if (sk->len == 0 || user_open_session_key(&c->app->cfg->keys,
	    u->f[UF_OPENID], sk, out, WX_SESSION_KEY_MAX + 1) == -1) {
		memset(out, 0, WX_SESSION_KEY_MAX + 1);
		log_msg(LOG_INFO, c->rq->rid, "no readable session_key for "
		    "uid=%lld", u->id);
		return -1;
	}
	return 0;
}

struct checksession_arg {
	const char	*openid;
	const char	*signature;
	int		 valid;
	long		*retry_after;
};

static enum err
checksession_fn(struct wx *wx, const char *token, void *arg, int *stale,
    const char *rid)
{
	struct checksession_arg	*a = arg;

	return wx_checksession(wx, token, a->openid, a->signature, &a->valid,
	    stale, a->retry_after, rid);
}

/*
 * Does WeChat still hold this session_key?  checksession with the
 * HMAC-SHA256 of "" keyed by the key's base64 text, in lowercase hex.
 */
static enum err
remote_check(struct ctx *c, const struct user *u, const struct sealed *sk,
    int *valid)
{
	struct checksession_arg	 a;
	uint8_t			 mac[SHA256_LEN];
	char			 key[WX_SESSION_KEY_MAX + 1];
	char			 hex[2 * SHA256_LEN + 1];
	enum err		 er;

	*valid = 0;
	if (open_session_key(c, u, sk, key) == -1)
		return ERR_OK;		/* nothing WeChat could confirm */
	if (crypto_hmac_sha256(key, strlen(key), "", 0, mac) == -1) {
		memset(key, 0, sizeof(key));
		return ERR_INTERNAL;
	}
	memset(key, 0, sizeof(key));
	hex_encode(mac, sizeof(mac), hex);
	a.openid = u->f[UF_OPENID];
	a.signature = hex;
	a.valid = 0;
	a.retry_after = &c->rp->retry_after;
	if (wx_client(c) == NULL)
		return ERR_INTERNAL;
	er = token_call(&c->app->tokens, c->wx, checksession_fn, &a,
	    c->rq->rid);
	wx_done(c);
	*valid = a.valid;
	return er;
}

/*
 * GET /api/user/check_session: valid, and the seconds left before the
 * session expires if it is not used (the sooner of its absolute and its idle
 * expiry).  remote=1 also asks WeChat whether the stored session_key still
 * holds: session_key_valid.
 */
enum err
h_check_session(struct ctx *c)
{
	const struct config	*cfg = c->app->cfg;
	const struct pval	*remote = &c->pa->v[CS_REMOTE];
	struct db_session_key	 sk;
	struct user		 u;
	uint8_t			 hash[SHA256_LEN];
	long			 exp;
	int			 valid = 0, want = remote->set && remote->i;
	enum err		 er;

	if (want) {
		if ((er = authenticate(c, &u, &exp, &sk)) != ERR_OK)
			return er;
		er = remote_check(c, &u, &sk.sealed, &valid);
		user_free(&u);
		if (er != ERR_OK)
			return er;
	} else {
		/* The session alone: no user row to fetch. */
		if (!presented(c->rq, hash))
			return ERR_UNAUTHORIZED;
		if ((er = db_session_check(c->app->db, hash, cfg->session_idle,
		    config_touch_interval(cfg), &c->rp->uid, &exp,
		    c->rq->rid)) != ERR_OK)
			return er;
	}
	c->rp->res = json_object_new_object();
	jsonx_set(c->rp->res, "valid", json_object_new_boolean(1));
	jsonx_set(c->rp->res, "expires_in",
	    json_object_new_int64(exp > 0 ? exp : 0));
	if (want)
		jsonx_set(c->rp->res, "session_key_valid",
		    json_object_new_boolean(valid));
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

/* One of a pair of parameters without the other. */
static enum err
unpaired(struct ctx *c, const char *a, const char *b)
{
	reply_err(c->rp, ERR_BAD_REQUEST, "参数 %s 与 %s 须同时提供", a, b);
	return ERR_BAD_REQUEST;
}

/* Decrypt the request's encrypted_data/encrypt_iv (at index enc, enc + 1). */
static enum err
decrypt(struct ctx *c, const struct user *u, const struct sealed *sk,
    size_t enc, json_object **out)
{
	const struct pval	*d = &c->pa->v[enc], *iv = &c->pa->v[enc + 1];
	char			 key[WX_SESSION_KEY_MAX + 1];
	enum err		 er;

	*out = NULL;
	if (open_session_key(c, u, sk, key) == -1)
		return ERR_DECRYPT_FAILED;
	er = opendata_decrypt(key, d->s, d->len, iv->s, iv->len,
	    c->app->cfg->wx_appid, out);
	memset(key, 0, sizeof(key));
	return er;
}

/*
 * GET|POST /api/user/update_base_info: plain fields, verified raw_data
 * and decrypted data, merged by the rules of profile.h, in one UPDATE.
 */
enum err
h_update_base_info(struct ctx *c)
{
	const struct pval	*v = c->pa->v;
	struct profile		 p;
	struct db_session_key	 sk;
	struct user		 u, nu;
	json_object		*dec = NULL, *raw = NULL;
	char			 key[WX_SESSION_KEY_MAX + 1];
	long			 exp;
	int			 enc = v[UB_ENC].set, sig = v[UB_RAW].set;
	enum err		 er;

	if (v[UB_ENC].set != v[UB_IV].set)
		return unpaired(c, "encrypted_data", "encrypt_iv");
	if (v[UB_RAW].set != v[UB_SIG].set)
		return unpaired(c, "raw_data", "signature");
	if ((er = authenticate(c, &u, &exp, enc || sig ? &sk : NULL)) !=
	    ERR_OK)
		return er;
	memset(&p, 0, sizeof(p));
	if ((enc || sig) && (er = decrypt_allowed(c, &sk)) != ERR_OK)
		goto out;
	if (sig) {
		if (open_session_key(c, &u, &sk.sealed, key) == -1)
			er = ERR_INVALID_SIGNATURE;
		else
			er = opendata_check_signature(v[UB_RAW].s, v[UB_RAW].len,
			    key, v[UB_SIG].s, v[UB_SIG].len);
		memset(key, 0, sizeof(key));
		decrypt_outcome(c, er);
		if (er != ERR_OK)
			goto out;
		/* Checked to be a JSON object by the parameter table. */
		raw = jsonx_parse(v[UB_RAW].s, v[UB_RAW].len);
	}
	if (enc) {
		er = decrypt(c, &u, &sk.sealed, UB_ENC, &dec);
		decrypt_outcome(c, er);
		if (er != ERR_OK)
			goto out;
	}
	profile_from_params(&p, c->pa);
	if ((raw != NULL && (er = profile_from_wechat(&p, raw, c->rp->msg,
	    sizeof(c->rp->msg))) != ERR_OK) ||
	    (dec != NULL && (er = profile_from_wechat(&p, dec, c->rp->msg,
	    sizeof(c->rp->msg))) != ERR_OK)) {
		c->rp->er = er;
		goto out;
	}
	if (profile_any(&p)) {
		if ((er = db_user_update(c->app->db, u.id, &p, &nu,
		    c->rq->rid)) != ERR_OK)
			goto out;
		user_free(&u);
		u = nu;
	}
	c->rp->res = json_object_new_object();
	jsonx_set(c->rp->res, "user", user_json(&u));
out:
	json_object_put(dec);
	json_object_put(raw);
	profile_free(&p);
	user_free(&u);
	return er;
}

struct phone_arg {
	const char	*code;
	const char	*appid;
	struct phone	*ph;
	long		*retry_after;
};

/* Is a watermark, when present, this app's?  1 or 0. */
static int
watermark_ours(json_object *o, const char *appid)
{
	json_object	*wm;
	const char	*a;
	size_t		 n;

	if (!json_object_object_get_ex(o, "watermark", &wm) || wm == NULL)
		return 1;
	return jsonx_str(wm, "appid", &a, &n) == 1 && n == strlen(appid) &&
	    memcmp(a, appid, n) == 0;
}

static enum err
phone_fn(struct wx *wx, const char *token, void *arg, int *stale,
    const char *rid)
{
	struct phone_arg	*a = arg;
	json_object		*pi;
	enum err		 er;

	if ((er = wx_phone_number(wx, token, a->code, &pi, stale,
	    a->retry_after, rid)) != ERR_OK)
		return er;
	if (!watermark_ours(pi, a->appid))
		er = ERR_INVALID_WATERMARK;
	else if (profile_phone(pi, a->ph) == -1) {
		log_msg(LOG_WARN, rid, "wx: getuserphonenumber: phone_info "
		    "is not a phone number");
		er = ERR_UPSTREAM_ERROR;
	}
	json_object_put(pi);
	return er;
}

/*
 * POST /api/user/bind_wx_phone_number: the current getPhoneNumber code
 * (exchanged with the shared access_token) or the legacy encrypted data.
 */
enum err
h_bind_phone(struct ctx *c)
{
	const struct pval	*v = c->pa->v;
	struct phone_arg	 a;
	struct phone		 ph;
	struct db_session_key	 sk;
	struct user		 u, nu;
	json_object		*dec = NULL, *res;
	char			 uid[24];
	long			 exp;
	int			 legacy = v[BP_ENC].set, reserved = 0;
	enum err		 er;

	if (v[BP_ENC].set != v[BP_IV].set)
		return unpaired(c, "encrypted_data", "encrypt_iv");
	if (v[BP_CODE].set == legacy) {
		reply_err(c->rp, ERR_BAD_REQUEST, "须提供 code，或 "
		    "encrypted_data 与 encrypt_iv，二者取一");
		return ERR_BAD_REQUEST;
	}
	if ((er = authenticate(c, &u, &exp, legacy ? &sk : NULL)) != ERR_OK)
		return er;
	memset(&ph, 0, sizeof(ph));
	snprintf(uid, sizeof(uid), "%lld", u.id);
	if (legacy && (er = decrypt_allowed(c, &sk)) != ERR_OK)
		goto out;
	/* A bind reserves one of the day's; a failed one gives it back. */
	if ((er = limit_take(c, LIMIT_PHONE_USER, uid, &reserved)) != ERR_OK)
		goto out;
	if (legacy) {
		er = decrypt(c, &u, &sk.sealed, BP_ENC, &dec);
		decrypt_outcome(c, er);
		if (er != ERR_OK)
			goto out;
		if (profile_phone(dec, &ph) == -1) {
			reply_err(c->rp, ERR_BAD_REQUEST, "解密数据不是手机号");
			er = ERR_BAD_REQUEST;
			goto out;
		}
	} else {
		a.code = v[BP_CODE].s;
		a.appid = c->app->cfg->wx_appid;
		a.ph = &ph;
		a.retry_after = &c->rp->retry_after;
		if (wx_client(c) == NULL) {
			er = ERR_INTERNAL;
			goto out;
		}
		er = token_call(&c->app->tokens, c->wx, phone_fn, &a,
		    c->rq->rid);
		wx_done(c);
		if (er != ERR_OK) {
			if (er == ERR_INVALID_CODE)
				reply_err(c->rp, er, "手机号授权已失效，请重新授权");
			goto out;
		}
	}
	if ((er = db_user_phone(c->app->db, u.id, &ph, &nu, c->rq->rid)) !=
	    ERR_OK)
		goto out;
	user_free(&nu);
	res = json_object_new_object();
	jsonx_add_str(res, "phone_number", ph.number);
	jsonx_add_str(res, "pure_phone_number", ph.pure);
	jsonx_add_str(res, "country_code", ph.country_code);
	c->rp->res = res;
out:
	if (er != ERR_OK && reserved)
		limit_give_back(c, LIMIT_PHONE_USER, uid);
	memset(&ph, 0, sizeof(ph));
	json_object_put(dec);
	user_free(&u);
	return er;
}

/*
 * POST /api/user/avatar: the image of the multipart part "file" (what
 * wx.uploadFile sends for <button open-type="chooseAvatar">'s file), told
 * by its bytes, at most AVATAR_MAX; stored once under its id and made the
 * user's avatar_url.
 */
enum err
h_avatar_upload(struct ctx *c)
{
	struct avatar_upload	 up;
	struct user		 u, nu;
	const char		*type;
	char			 id[AVATAR_ID_LEN + 1];
	char			 url[sizeof(AVATAR_PATH) + AVATAR_ID_LEN];
	long			 exp;
	enum err		 er;

	if ((er = authenticate(c, &u, &exp, NULL)) != ERR_OK)
		return er;
	c->rp->uid = u.id;
	if (avatar_find_file(c->rq->content_type, (const uint8_t *)c->rq->body.p,
	    c->rq->body.len, &up) == -1) {
		reply_err(c->rp, ERR_BAD_REQUEST, "需要 multipart/form-data 上传");
		er = ERR_BAD_REQUEST;
		goto out;
	}
	if (up.files != 1) {
		reply_err(c->rp, ERR_BAD_REQUEST, up.files == 0 ?
		    "缺少文件 file" : "只能上传一个文件");
		er = ERR_BAD_REQUEST;
		goto out;
	}
	if (up.len > AVATAR_MAX) {
		er = ERR_PAYLOAD_TOO_LARGE;
		goto out;
	}
	if ((type = avatar_sniff(up.data, up.len)) == NULL) {
		reply_err(c->rp, ERR_BAD_REQUEST, "头像须为 JPEG、PNG、WebP 或 GIF 图片");
		er = ERR_BAD_REQUEST;
		goto out;
	}
	if (avatar_id(&c->app->cfg->keys, up.data, up.len, id) == -1) {
		er = ERR_INTERNAL;
		goto out;
	}
	snprintf(url, sizeof(url), AVATAR_PATH "%s", id);
	if ((er = db_avatar_set(c->app->db, u.id, id, type, up.data, up.len,
	    url, &nu, c->rq->rid)) != ERR_OK)
		goto out;
	c->rp->res = json_object_new_object();
	jsonx_add_str(c->rp->res, "avatar_url", url);
	jsonx_set(c->rp->res, "user", user_json(&nu));
	user_free(&nu);
out:
	user_free(&u);
	return er;
}

/*
 * Does an If-None-Match header name etag (one of a list, weak or not, or
 * "*")?
 */
static int
etag_matches(const char *inm, const char *etag)
{
	size_t		 n = strlen(etag);
	const char	*p;

	if (inm == NULL)
		return 0;
	for (p = inm; *p != '\0'; ) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' ||
		    p[n] == ' '))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}

/*
 * GET /api/avatar/<id>: the image, no session needed (the id cannot be
 * guessed), with its content type and a strong ETag (the id: the bytes
 * never change), cacheable for a year; 304 when the client has it.
 */
enum err
h_avatar_get(struct ctx *c)
{
	const char	*id = c->rq->path + sizeof(AVATAR_PATH) - 1;
	static const char *const types[] = { "image/jpeg", "image/png",
			    "image/gif", "image/webp" };
	char		 type[32];
	size_t		 i;
	enum err	 er;

	if (!avatar_id_valid(id))
		return ERR_NOT_FOUND;
	snprintf(c->rp->etag, sizeof(c->rp->etag), "\"%s\"", id);
	if (etag_matches(c->rq->if_none_match, c->rp->etag)) {
		c->rp->not_modified = 1;
		c->rp->raw_type = types[0];	/* not sent with a 304 */
		return ERR_OK;
	}
	if ((er = db_avatar_get(c->app->db, id, type, sizeof(type),
	    &c->rp->raw, c->rq->rid)) != ERR_OK)
		return er;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			c->rp->raw_type = types[i];
	return c->rp->raw_type != NULL ? ERR_OK : ERR_INTERNAL;
}
