/*
 * wx.c -- WeChat API client (see wx.h for the policy).
 */
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "clock.h"
#include "jsonx.h"
#include "log.h"
#include "wx.h"

struct wx {
	CURL			*h;
	const struct wx_conf	*conf;
	struct buf		 reply;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* WeChat errcodes that are not upstream_error. */
static const struct {
	long		 code;
	enum err	 er;
	long		 retry_after;
} errcodes[] = {
	{ 40029, ERR_INVALID_CODE, 0 },		/* invalid code */
	{ 40163, ERR_INVALID_CODE, 0 },		/* code already used */
	{ 40226, ERR_BLOCKED_USER, 0 },		/* high-risk user */
	{ 45011, ERR_RATE_LIMITED, WX_RETRY_AFTER }, /* frequency limit */
};

enum err
wx_errcode(long code, long *retry_after)
{
	size_t	 i;

	*retry_after = 0;
	for (i = 0; i < sizeof(errcodes) / sizeof(errcodes[0]); i++)
		if (errcodes[i].code == code) {
			*retry_after = errcodes[i].retry_after;
			return errcodes[i].er;
		}
	return ERR_UPSTREAM_ERROR;
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct wx	*wx = arg;

	if (nmemb != 0 && size > SIZE_MAX / nmemb)
		return 0;
	if (buf_add(&wx->reply, p, size * nmemb) == -1)
		return 0;	/* over WX_REPLY_MAX: abort the transfer */
	return size * nmemb;
}

struct wx *
wx_new(const struct wx_conf *conf)
{
	struct wx	*wx;
	long		 connect_ms;

	if ((wx = calloc(1, sizeof(*wx))) == NULL)
		abort();
	if ((wx->h = curl_easy_init()) == NULL) {
		free(wx);
		return NULL;
	}
	wx->conf = conf;
	buf_init(&wx->reply, WX_REPLY_MAX);
	connect_ms = conf->timeout_ms < 2000 ? conf->timeout_ms : 2000;
	curl_easy_setopt(wx->h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85: the string form */
	curl_easy_setopt(wx->h, CURLOPT_PROTOCOLS_STR,
	    conf->allow_http ? "http,https" : "https");
#else
	curl_easy_setopt(wx->h, CURLOPT_PROTOCOLS, conf->allow_http ?
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS) : (long)CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(wx->h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(wx->h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(wx->h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (conf->ca_file != NULL)
		curl_easy_setopt(wx->h, CURLOPT_CAINFO, conf->ca_file);
	curl_easy_setopt(wx->h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(wx->h, CURLOPT_TIMEOUT_MS, conf->timeout_ms);
	curl_easy_setopt(wx->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(wx->h, CURLOPT_USERAGENT, "wxauth/1");
	curl_easy_setopt(wx->h, CURLOPT_ERRORBUFFER, wx->errbuf);
	curl_easy_setopt(wx->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(wx->h, CURLOPT_WRITEDATA, wx);
	curl_easy_setopt(wx->h, CURLOPT_MAXFILESIZE, (long)WX_REPLY_MAX);
	/*
	 * WeChat's replies and our requests are a few hundred bytes: small
	 * buffers (libcurl's defaults are 16 KiB down, 64 KiB up, for each of
	 * a worker's threads) keep a worker's memory small.
	 */
	curl_easy_setopt(wx->h, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(wx->h, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
	return wx;
}

void
wx_free(struct wx *wx)
{
	if (wx == NULL)
		return;
	curl_easy_cleanup(wx->h);
	buf_free(&wx->reply);
	free(wx);
}

struct wx_pool {
	const struct wx_conf	*conf;
	CURLSH			*share;		/* TLS sessions, DNS answers */
	pthread_mutex_t		 share_mu[CURL_LOCK_DATA_LAST];
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct wx		**idle;		/* a stack: the last put on top */
	long long		*idle_at;	/* when each was put, ms */
	size_t			 nidle, made, max;
};

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct wx_pool	*p = arg;

	(void)h;
	(void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&p->share_mu[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct wx_pool	*p = arg;

	(void)h;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&p->share_mu[data]);
}

struct wx_pool *
wx_pool_new(const struct wx_conf *conf, size_t max)
{
	struct wx_pool	*p;
	int		 i;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->idle = calloc(max > 0 ? max : 1, sizeof(*p->idle))) == NULL ||
	    (p->idle_at = calloc(max > 0 ? max : 1, sizeof(*p->idle_at))) ==
	    NULL)
		abort();
	p->conf = conf;
	p->max = max > 0 ? max : 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&p->share_mu[i], NULL);
	/*
	 * The clients share TLS sessions: a client made in a burst resumes
	 * the session another made, an abbreviated handshake with no
	 * certificate to sign, send or verify; a burst of new clients then
	 * costs WeChat and us little CPU each and meets the connect timeout
	 * (measured: 256 logins at once on a cold pool, with full
	 * handshakes, left a third of the handshakes past 2 s on two cores).
	 * And one DNS answer for all of them.  If libcurl cannot make the
	 * share (out of memory), each client does a full handshake.
	 */
	if ((p->share = curl_share_init()) != NULL &&
	    (curl_share_setopt(p->share, CURLSHOPT_LOCKFUNC, share_lock) !=
	    CURLSHE_OK ||
	    curl_share_setopt(p->share, CURLSHOPT_UNLOCKFUNC, share_unlock) !=
	    CURLSHE_OK ||
	    curl_share_setopt(p->share, CURLSHOPT_USERDATA, p) != CURLSHE_OK ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
	    curl_share_setopt(p->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
	    CURLSHE_OK)) {
		curl_share_cleanup(p->share);
		p->share = NULL;
	}
	return p;
}

void
wx_pool_free(struct wx_pool *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nidle; i++)
		wx_free(p->idle[i]);
	if (p->share != NULL)
		curl_share_cleanup(p->share);
	for (i = 0; i < (size_t)CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&p->share_mu[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->idle);
	free(p->idle_at);
	free(p);
}

struct wx *
wx_pool_get(struct wx_pool *p)
{
	struct wx	*wx = NULL;
	size_t		 n = 0;

	pthread_mutex_lock(&p->mu);
	while (p->nidle == 0 && p->made == p->max)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->nidle > 0)
		wx = p->idle[--p->nidle];
	else
		n = ++p->made;
	pthread_mutex_unlock(&p->mu);
	if (wx != NULL)
		return wx;
	if ((wx = wx_new(p->conf)) == NULL) {
		pthread_mutex_lock(&p->mu);
		p->made--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	} else {
		if (p->share != NULL)
			curl_easy_setopt(wx->h, CURLOPT_SHARE, p->share);
		log_msg(LOG_INFO, NULL, "wx: %zu WeChat clients in this "
		    "process", n);
	}
	return wx;
}

void
wx_pool_put(struct wx_pool *p, struct wx *wx)
{
	if (wx == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->idle_at[p->nidle] = clock_ms();
	p->idle[p->nidle++] = wx;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

size_t
wx_pool_lent(struct wx_pool *p)
{
	size_t	 n;

	pthread_mutex_lock(&p->mu);
	n = p->made - p->nidle;
	pthread_mutex_unlock(&p->mu);
	return n;
}

size_t
wx_pool_trim(struct wx_pool *p, long idle_ms)
{
	struct wx	*gone[64];
	long long	 now = clock_ms();
	size_t		 n = 0, i;

	/* The bottom of the stack has been idle longest. */
	pthread_mutex_lock(&p->mu);
	while (n < sizeof(gone) / sizeof(gone[0]) && n < p->nidle &&
	    now - p->idle_at[n] > idle_ms) {
		gone[n] = p->idle[n];
		n++;
	}
	if (n > 0) {
		memmove(p->idle, p->idle + n, (p->nidle - n) * sizeof(*p->idle));
		memmove(p->idle_at, p->idle_at + n,
		    (p->nidle - n) * sizeof(*p->idle_at));
		p->nidle -= n;
		p->made -= n;
	}
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < n; i++)
		wx_free(gone[i]);
	return n;
}

/*
 * GET url, or POST body as JSON when body is not NULL (url and body hold
 * secrets: never logged), leaving the reply in wx->reply.  what names the
 * call in logs.
 */
static enum err
call_raw(struct wx *wx, const char *what, const char *url, const char *body,
    const char *rid)
{
	struct curl_slist	*hdr = NULL;
	CURLcode		 cc;
	long			 status = 0;

	buf_reset(&wx->reply);
	wx->errbuf[0] = '\0';
	if (body != NULL) {
		if ((hdr = curl_slist_append(NULL,
		    "Content-Type: application/json")) == NULL)
			return ERR_INTERNAL;
		curl_easy_setopt(wx->h, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(wx->h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(wx->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else
		curl_easy_setopt(wx->h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(wx->h, CURLOPT_URL, url);
	cc = curl_easy_perform(wx->h);
	curl_easy_setopt(wx->h, CURLOPT_URL, "");	/* drop the secret */
	if (hdr != NULL) {
		curl_easy_setopt(wx->h, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(wx->h, CURLOPT_POSTFIELDS, NULL);
		curl_slist_free_all(hdr);
	}
	if (cc != CURLE_OK) {
		log_msg(LOG_WARN, rid, "wx: %s: %s: %s", what,
		    curl_easy_strerror(cc), wx->errbuf);
		return cc == CURLE_OPERATION_TIMEDOUT ? ERR_UPSTREAM_TIMEOUT :
		    ERR_UPSTREAM_ERROR;
	}
	curl_easy_getinfo(wx->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		log_msg(LOG_WARN, rid, "wx: %s: HTTP status %ld", what, status);
		return ERR_UPSTREAM_ERROR;
	}
	return ERR_OK;
}

/* Replies carry session keys, tokens and phone numbers: keep no copy. */
static void
wipe_reply(struct wx *wx)
{
	if (wx->reply.p != NULL)
		memset(wx->reply.p, 0, wx->reply.len);
}

/* Parse a reply body as a JSON object (whatever its Content-Type said). */
static enum err
reply_object(const char *what, const char *body, size_t n, json_object **out,
    const char *rid)
{
	*out = jsonx_parse(body, n);
	if (*out == NULL || !json_object_is_type(*out, json_type_object)) {
		log_msg(LOG_WARN, rid, "wx: %s: reply is not a JSON object "
		    "(%zu bytes)", what, n);
		json_object_put(*out);
		*out = NULL;
		return ERR_UPSTREAM_ERROR;
	}
	return ERR_OK;
}

/*
 * A non-zero errcode in the reply: its outcome.  ERR_OK when errcode is
 * absent or 0; a non-integer errcode is an upstream error.
 */
static enum err
reply_errcode_code(json_object *o, const char *what, long *retry_after,
    long *codep, const char *rid)
{
	json_object	*v;
	long		 code;

	*retry_after = 0;
	*codep = 0;
	if (!json_object_object_get_ex(o, "errcode", &v) || v == NULL)
		return ERR_OK;
	if (!json_object_is_type(v, json_type_int)) {
		log_msg(LOG_WARN, rid, "wx: %s: errcode is not an integer", what);
		return ERR_UPSTREAM_ERROR;
	}
	if ((code = (long)json_object_get_int64(v)) == 0)
		return ERR_OK;
	*codep = code;
	log_msg(LOG_INFO, rid, "wx: %s: errcode %ld", what, code);
	return wx_errcode(code, retry_after);
}

static enum err
reply_errcode(json_object *o, const char *what, long *retry_after,
    const char *rid)
{
	long	 code;

	return reply_errcode_code(o, what, retry_after, &code, rid);
}

int
wx_token_stale(long code)
{
	return code == 40001 || code == 40014 || code == 42001;
}

/* Copy string member key into dst (size dstsz) if 1..dstsz-1 printable. */
static int
copy_field(json_object *o, const char *key, char *dst, size_t dstsz)
{
	const char	*s;
	size_t		 n, i;

	if (jsonx_str(o, key, &s, &n) != 1 || n == 0 || n >= dstsz)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

enum err
wx_reply_session(const char *body, size_t len, struct wx_session *out,
    long *retry_after, const char *rid)
{
	json_object	*o = NULL;
	const char	*s;
	size_t		 n;
	enum err	 er;

	memset(out, 0, sizeof(*out));
	*retry_after = 0;
	if ((er = reply_object("jscode2session", body, len, &o, rid)) !=
	    ERR_OK || (er = reply_errcode(o, "jscode2session", retry_after,
	    rid)) != ERR_OK)
		goto out;
	if (copy_field(o, "openid", out->openid, sizeof(out->openid)) == -1 ||
	    copy_field(o, "session_key", out->session_key,
	    sizeof(out->session_key)) == -1) {
		log_msg(LOG_WARN, rid, "wx: jscode2session: reply lacks a valid "
		    "openid or session_key");
		er = ERR_UPSTREAM_ERROR;
		goto out;
	}
	switch (jsonx_str(o, "unionid", &s, &n)) {
	case 0:
		break;
	case 1:
		if (n == 0)
			break;
		if (copy_field(o, "unionid", out->unionid,
		    sizeof(out->unionid)) == 0)
			break;
		/* FALLTHROUGH */
	default:
		log_msg(LOG_WARN, rid, "wx: jscode2session: bad unionid");
		er = ERR_UPSTREAM_ERROR;
		goto out;
	}
out:
	json_object_put(o);
	if (er != ERR_OK)
		memset(out, 0, sizeof(*out));
	return er;
}

enum err
wx_code2session(struct wx *wx, const char *code, struct wx_session *out,
    long *retry_after, const char *rid)
{
	struct buf	 url;
	char		*ecode = NULL, *eapp = NULL, *esec = NULL;
	enum err	 er;

	memset(out, 0, sizeof(*out));
	*retry_after = 0;
	buf_init(&url, 4096);
	if ((ecode = curl_easy_escape(wx->h, code, 0)) == NULL ||
	    (eapp = curl_easy_escape(wx->h, wx->conf->appid, 0)) == NULL ||
	    (esec = curl_easy_escape(wx->h, wx->conf->secret, 0)) == NULL ||
	    buf_addf(&url, "%s/sns/jscode2session?appid=%s&secret=%s"
	    "&js_code=%s&grant_type=authorization_code", wx->conf->base, eapp,
	    esec, ecode) == -1) {
		er = ERR_INTERNAL;
		goto out;
	}
	if ((er = call_raw(wx, "jscode2session", url.p, NULL, rid)) == ERR_OK)
		er = wx_reply_session(buf_str(&wx->reply), wx->reply.len, out,
		    retry_after, rid);
	wipe_reply(wx);
out:
	if (esec != NULL)
		memset(esec, 0, strlen(esec));
	curl_free(ecode);
	curl_free(eapp);
	curl_free(esec);
	if (url.p != NULL)
		memset(url.p, 0, url.len);
	buf_free(&url);
	return er;
}

/* Printable ASCII without spaces or URL metacharacters that need escaping. */
static int
token_chars(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.' || s[i] == '*'))
			return 0;
	return 1;
}

enum err
wx_reply_token(const char *body, size_t len, char tok[WX_TOKEN_MAX + 1],
    long *expires_in, const char *rid)
{
	json_object	*o = NULL, *v;
	const char	*s;
	size_t		 n;
	long		 ra;
	enum err	 er;

	tok[0] = '\0';
	*expires_in = 0;
	if ((er = reply_object("stable_token", body, len, &o, rid)) != ERR_OK ||
	    (er = reply_errcode(o, "stable_token", &ra, rid)) != ERR_OK) {
		/* Our credentials or WeChat's trouble: never the user's fault. */
		er = ERR_UPSTREAM_ERROR;
		goto out;
	}
	if (jsonx_str(o, "access_token", &s, &n) != 1 || n == 0 ||
	    n > WX_TOKEN_MAX || !token_chars(s, n) ||
	    !json_object_object_get_ex(o, "expires_in", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 1 || json_object_get_int64(v) > 86400) {
		log_msg(LOG_WARN, rid, "wx: stable_token: reply lacks a valid "
		    "access_token or expires_in");
		er = ERR_UPSTREAM_ERROR;
		goto out;
	}
	memcpy(tok, s, n);
	tok[n] = '\0';
	*expires_in = (long)json_object_get_int64(v);
out:
	json_object_put(o);
	return er;
}

enum err
wx_stable_token(struct wx *wx, char tok[WX_TOKEN_MAX + 1], long *expires_in,
    const char *rid)
{
	struct buf	 url;
	json_object	*req;
	const char	*body;
	size_t		 n;
	enum err	 er;

	tok[0] = '\0';
	*expires_in = 0;
	buf_init(&url, 1024);
	req = json_object_new_object();
	jsonx_add_str(req, "grant_type", "client_credential");
	jsonx_add_str(req, "appid", wx->conf->appid);
	jsonx_add_str(req, "secret", wx->conf->secret);
	/* Normal mode only: force_refresh is limited to 20 calls a day. */
	jsonx_set(req, "force_refresh", json_object_new_boolean(0));
	body = jsonx_text(req, &n);
	if (buf_addf(&url, "%s/cgi-bin/stable_token", wx->conf->base) == -1)
		er = ERR_INTERNAL;
	else if ((er = call_raw(wx, "stable_token", url.p, body, rid)) ==
	    ERR_OK)
		er = wx_reply_token(buf_str(&wx->reply), wx->reply.len, tok,
		    expires_in, rid);
	else if (er != ERR_UPSTREAM_TIMEOUT)
		er = ERR_UPSTREAM_ERROR;
	wipe_reply(wx);
	/* The request body holds the app secret. */
	memset((char *)(uintptr_t)body, 0, strlen(body));
	json_object_put(req);
	buf_free(&url);
	return er;
}

enum err
wx_reply_phone(const char *body, size_t len, json_object **phone_info,
    int *stale, long *retry_after, const char *rid)
{
	json_object	*o = NULL, *pi;
	long		 ec;
	enum err	 er;

	*phone_info = NULL;
	*stale = 0;
	*retry_after = 0;
	if ((er = reply_object("getuserphonenumber", body, len, &o, rid)) !=
	    ERR_OK)
		goto out;
	if ((er = reply_errcode_code(o, "getuserphonenumber", retry_after, &ec,
	    rid)) != ERR_OK) {
		*stale = wx_token_stale(ec);
		goto out;
	}
	if (!json_object_object_get_ex(o, "phone_info", &pi) ||
	    !json_object_is_type(pi, json_type_object)) {
		log_msg(LOG_WARN, rid, "wx: getuserphonenumber: reply lacks "
		    "phone_info");
		er = ERR_UPSTREAM_ERROR;
		goto out;
	}
	*phone_info = json_object_get(pi);
out:
	json_object_put(o);
	return er;
}

enum err
wx_phone_number(struct wx *wx, const char *token, const char *code,
    json_object **phone_info, int *stale, long *retry_after, const char *rid)
{
	struct buf	 url;
	json_object	*req;
	const char	*body;
	size_t		 n;
	enum err	 er;

	*phone_info = NULL;
	*stale = 0;
	*retry_after = 0;
	buf_init(&url, 1024);
	req = json_object_new_object();
	jsonx_add_str(req, "code", code);
	body = jsonx_text(req, &n);
	if (!token_chars(token, strlen(token)) ||
	    buf_addf(&url, "%s/wxa/business/getuserphonenumber?access_token=%s",
	    wx->conf->base, token) == -1)
		er = ERR_INTERNAL;
	else if ((er = call_raw(wx, "getuserphonenumber", url.p, body, rid)) ==
	    ERR_OK)
		er = wx_reply_phone(buf_str(&wx->reply), wx->reply.len,
		    phone_info, stale, retry_after, rid);
	wipe_reply(wx);
	if (url.p != NULL)
		memset(url.p, 0, url.len);
	json_object_put(req);
	buf_free(&url);
	return er;
}

enum err
wx_reply_checksession(const char *body, size_t len, int *valid, int *stale,
    long *retry_after, const char *rid)
{
	json_object	*o = NULL;
	long		 ec;
	enum err	 er;

	*valid = 0;
	*stale = 0;
	*retry_after = 0;
	if ((er = reply_object("checksession", body, len, &o, rid)) != ERR_OK)
		return er;
	er = reply_errcode_code(o, "checksession", retry_after, &ec, rid);
	json_object_put(o);
	if (ec == 87009)		/* invalid signature: the key is stale */
		return ERR_OK;
	if (er != ERR_OK) {
		*stale = wx_token_stale(ec);
		/* Only our login codes can be the user's fault. */
		return er == ERR_RATE_LIMITED ? er : ERR_UPSTREAM_ERROR;
	}
	*valid = 1;
	return ERR_OK;
}

enum err
wx_checksession(struct wx *wx, const char *token, const char *openid,
    const char *signature, int *valid, int *stale, long *retry_after,
    const char *rid)
{
	struct buf	 url;
	char		*eo = NULL;
	enum err	 er;

	*valid = 0;
	*stale = 0;
	*retry_after = 0;
	buf_init(&url, 2048);
	if (!token_chars(token, strlen(token)) ||
	    (eo = curl_easy_escape(wx->h, openid, 0)) == NULL ||
	    buf_addf(&url, "%s/wxa/checksession?access_token=%s&signature=%s"
	    "&openid=%s&sig_method=hmac_sha256", wx->conf->base, token,
	    signature, eo) == -1)
		er = ERR_INTERNAL;
	else if ((er = call_raw(wx, "checksession", url.p, NULL, rid)) ==
	    ERR_OK)
		er = wx_reply_checksession(buf_str(&wx->reply), wx->reply.len,
		    valid, stale, retry_after, rid);
	wipe_reply(wx);
	if (url.p != NULL)
		memset(url.p, 0, url.len);
	curl_free(eo);
	buf_free(&url);
	return er;
}
