/*
 * wx.c -- WeChat API client (see wx.h for the policy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
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

/*
 * GET url (which holds secrets: never logged) and parse the reply as a
 * JSON object into *out.  what names the call in logs.
 */
static enum err
get_json(struct wx *wx, const char *what, const char *url, json_object **out,
    const char *rid)
{
	CURLcode	 cc;
	long		 status = 0;

	*out = NULL;
	buf_reset(&wx->reply);
	wx->errbuf[0] = '\0';
	curl_easy_setopt(wx->h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(wx->h, CURLOPT_URL, url);
	cc = curl_easy_perform(wx->h);
	curl_easy_setopt(wx->h, CURLOPT_URL, "");	/* drop the secret */
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
	*out = jsonx_parse(buf_str(&wx->reply), wx->reply.len);
	if (*out == NULL || !json_object_is_type(*out, json_type_object)) {
		log_msg(LOG_WARN, rid, "wx: %s: reply is not a JSON object "
		    "(%zu bytes)", what, wx->reply.len);
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
reply_errcode(json_object *o, const char *what, long *retry_after,
    const char *rid)
{
	json_object	*v;
	long		 code;

	*retry_after = 0;
	if (!json_object_object_get_ex(o, "errcode", &v) || v == NULL)
		return ERR_OK;
	if (!json_object_is_type(v, json_type_int)) {
		log_msg(LOG_WARN, rid, "wx: %s: errcode is not an integer", what);
		return ERR_UPSTREAM_ERROR;
	}
	if ((code = (long)json_object_get_int64(v)) == 0)
		return ERR_OK;
	log_msg(LOG_INFO, rid, "wx: %s: errcode %ld", what, code);
	return wx_errcode(code, retry_after);
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
wx_code2session(struct wx *wx, const char *code, struct wx_session *out,
    long *retry_after, const char *rid)
{
	struct buf	 url;
	char		*ecode = NULL, *eapp = NULL, *esec = NULL;
	json_object	*o = NULL;
	const char	*s;
	size_t		 n;
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
	if ((er = get_json(wx, "jscode2session", url.p, &o, rid)) != ERR_OK ||
	    (er = reply_errcode(o, "jscode2session", retry_after, rid)) !=
	    ERR_OK)
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
	if (esec != NULL)
		memset(esec, 0, strlen(esec));
	curl_free(ecode);
	curl_free(eapp);
	curl_free(esec);
	if (url.p != NULL)
		memset(url.p, 0, url.len);
	buf_free(&url);
	json_object_put(o);
	if (er != ERR_OK)
		memset(out, 0, sizeof(*out));
	return er;
}
