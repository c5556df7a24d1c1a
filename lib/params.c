/*
 * params.c -- parameter merging and validation (see params.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "form.h"
#include "jsonx.h"
#include "params.h"
#include "parse.h"

struct pctx {
	const struct pspec	*spec;
	size_t			 nspec;
	struct params		*out;
	char			*msg;
	size_t			 msgsz;
};

enum body_type
params_body_type(const char *ct)
{
	size_t	 n;

	if (ct == NULL)
		return BODY_OTHER;
	n = strcspn(ct, "; \t");
	if (n == 33 && strncasecmp(ct, "application/x-www-form-urlencoded",
	    n) == 0)
		return BODY_FORM;
	if (n == 16 && strncasecmp(ct, "application/json", n) == 0)
		return BODY_JSON;
	return BODY_OTHER;
}

/* What the user is told about a parameter that does not fit its spec. */
static enum err
bad(struct pctx *c, const struct pspec *p)
{
	switch (p->type) {
	case PT_ASCII:
		snprintf(c->msg, c->msgsz, "参数 %s 无效：须为 %ld-%ld 个可打印"
		    " ASCII 字符", p->name, p->min, p->max);
		break;
	case PT_TEXT:
		snprintf(c->msg, c->msgsz, "参数 %s 无效：须为不超过 %ld 个字符"
		    "的文本，且不含控制字符", p->name, p->max);
		break;
	case PT_INT:
		snprintf(c->msg, c->msgsz, "参数 %s 无效：须为 %ld 到 %ld 之间的"
		    "整数", p->name, p->min, p->max);
		break;
	case PT_URL:
		snprintf(c->msg, c->msgsz, "参数 %s 无效：须为不超过 %ld 字节的 "
		    "https 链接或本站 /api/avatar/ 头像地址", p->name, p->max);
		break;
	case PT_HEX:
		snprintf(c->msg, c->msgsz, "参数 %s 无效：须为 %ld 位十六进制数字",
		    p->name, p->max);
		break;
	case PT_JSON:
		snprintf(c->msg, c->msgsz, "参数 %s 无效：须为不超过 %ld 字节的 "
		    "JSON 对象", p->name, p->max);
		break;
	default:
		snprintf(c->msg, c->msgsz, "参数 %s 无效：须为 true 或 false",
		    p->name);
		break;
	}
	return ERR_BAD_REQUEST;
}

static int
find(const struct pctx *c, const char *name, size_t nl)
{
	size_t	 i;

	for (i = 0; i < c->nspec; i++)
		if (strlen(c->spec[i].name) == nl &&
		    memcmp(c->spec[i].name, name, nl) == 0)
			return (int)i;
	return -1;
}

#define AVATAR_PREFIX	"/api/avatar/"
#define AVATAR_ID_MAX	128

static int
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * An absolute https (or, with http_ok, http) URL with a host, or this
 * server's avatar path; no spaces or control characters anywhere.
 */
static int
url_ok(const char *v, size_t vl, int http_ok)
{
	size_t	 k, skip, pl = sizeof(AVATAR_PREFIX) - 1;
	char	 ch;

	for (k = 0; k < vl; k++)
		if (v[k] <= 0x20 || v[k] > 0x7e)
			return 0;
	if (vl > pl && memcmp(v, AVATAR_PREFIX, pl) == 0) {
		if (vl - pl > AVATAR_ID_MAX)
			return 0;
		for (k = pl; k < vl; k++) {
			ch = v[k];
			if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' &&
			    ch <= 'z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '_'))
				return 0;
		}
		return 1;
	}
	if (vl >= 8 && strncasecmp(v, "https://", 8) == 0)
		skip = 8;
	else if (http_ok && vl >= 7 && strncasecmp(v, "http://", 7) == 0)
		skip = 7;
	else
		return 0;
	/* A host: something before the path, and no userinfo. */
	k = skip + strcspn(v + skip, "/?#");
	if (k > vl)
		k = vl;
	return k > skip && memchr(v + skip, '@', k - skip) == NULL;
}

static int
json_object_text_ok(const char *v, size_t vl)
{
	json_object	*o = jsonx_parse(v, vl);
	int		 ok = o != NULL && json_object_is_type(o, json_type_object);

	json_object_put(o);
	return ok;
}

/* Check and store a textual value for spec entry i. */
static enum err
set_text(struct pctx *c, size_t i, const char *v, size_t vl)
{
	const struct pspec	*p = &c->spec[i];
	struct pval		*pv = &c->out->v[i];
	long			 cps;
	size_t			 k;

	if (pv->set) {
		snprintf(c->msg, c->msgsz, "参数 %s 重复", p->name);
		return ERR_BAD_REQUEST;
	}
	if (memchr(v, '\0', vl) != NULL)
		return bad(c, p);
	switch (p->type) {
	case PT_ASCII:
		if ((long)vl < p->min || (long)vl > p->max)
			return bad(c, p);
		for (k = 0; k < vl; k++)
			if (v[k] < 0x20 || v[k] > 0x7e)
				return bad(c, p);
		break;
	case PT_TEXT:
		if ((cps = utf8_count(v, vl)) < 0 || cps < p->min ||
		    cps > p->max || utf8_has_control(v, vl))
			return bad(c, p);
		break;
	case PT_INT:
		if (parse_long_n(v, vl, p->min, p->max, &pv->i) == -1)
			return bad(c, p);
		break;
	case PT_URL:
		if ((long)vl < p->min || (long)vl > p->max ||
		    (vl > 0 && !url_ok(v, vl, (p->flags & P_HTTP) != 0)))
			return bad(c, p);
		break;
	case PT_HEX:
		if ((long)vl != p->max)
			return bad(c, p);
		for (k = 0; k < vl; k++)
			if (!is_hex(v[k]))
				return bad(c, p);
		break;
	case PT_JSON:
		if ((long)vl < p->min || (long)vl > p->max ||
		    !json_object_text_ok(v, vl))
			return bad(c, p);
		break;
	case PT_BOOL:
		if ((vl == 1 && v[0] == '1') || (vl == 4 &&
		    memcmp(v, "true", 4) == 0))
			pv->i = 1;
		else if ((vl == 1 && v[0] == '0') || (vl == 5 &&
		    memcmp(v, "false", 5) == 0))
			pv->i = 0;
		else
			return bad(c, p);
		break;
	default:
		return bad(c, p);
	}
	if (p->type != PT_INT && p->type != PT_BOOL) {
		if ((pv->s = malloc(vl + 1)) == NULL)
			abort();
		memcpy(pv->s, v, vl);
		pv->s[vl] = '\0';
		pv->len = vl;
	}
	pv->set = 1;
	return ERR_OK;
}

static int
form_cb(const char *name, size_t nl, const char *val, size_t vl, void *arg)
{
	struct pctx	*c = arg;
	int		 i;

	if ((i = find(c, name, nl)) == -1)
		return 0;
	return set_text(c, (size_t)i, val, vl) == ERR_OK ? 0 : 1;
}

static enum err
parse_form(struct pctx *c, const char *s, size_t n)
{
	int	 rc;

	if ((rc = form_each(s, n, form_cb, c)) == -1)
		snprintf(c->msg, c->msgsz, "参数编码有误：%% 后须跟两位十六进制"
		    "数字");
	return rc == 0 ? ERR_OK : ERR_BAD_REQUEST;
}

/* Check and store one JSON member for spec entry i. */
static enum err
set_json(struct pctx *c, size_t i, json_object *v)
{
	const struct pspec	*p = &c->spec[i];
	char			 num[32];
	int64_t			 iv;

	if (v == NULL)		/* JSON null: as if absent */
		return ERR_OK;
	switch (json_object_get_type(v)) {
	case json_type_string:
		return set_text(c, i, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v));
	case json_type_int:
		if (p->type != PT_INT && p->type != PT_BOOL)
			return bad(c, p);
		iv = json_object_get_int64(v);
		snprintf(num, sizeof(num), "%lld", (long long)iv);
		/* Values beyond int64 saturate in json-c: refuse them. */
		if (iv == INT64_MAX || iv == INT64_MIN)
			return bad(c, p);
		return set_text(c, i, num, strlen(num));
	case json_type_boolean:
		if (p->type != PT_BOOL)
			return bad(c, p);
		return set_text(c, i, json_object_get_boolean(v) ? "1" : "0", 1);
	default:
		return bad(c, p);
	}
}

static enum err
walk_json(struct pctx *c, json_object *obj)
{
	json_object	*v;
	enum err	 er = ERR_OK;
	size_t		 i;

	for (i = 0; i < c->nspec && er == ERR_OK; i++)
		if (json_object_object_get_ex(obj, c->spec[i].name, &v))
			er = set_json(c, i, v);
	return er;
}

static enum err
parse_json(struct pctx *c, const char *s, size_t n)
{
	json_object	*obj;
	enum err	 er;

	if ((obj = jsonx_parse(s, n)) == NULL ||
	    !json_object_is_type(obj, json_type_object)) {
		snprintf(c->msg, c->msgsz, "请求体须为 JSON 对象");
		json_object_put(obj);
		return ERR_BAD_REQUEST;
	}
	er = walk_json(c, obj);
	json_object_put(obj);
	return er;
}

enum err
params_from_json(const struct pspec *spec, size_t nspec, json_object *obj,
    struct params *out, char *msg, size_t msgsz)
{
	struct pctx	 c = { spec, nspec, out, msg, msgsz };
	enum err	 er;

	memset(out, 0, sizeof(*out));
	if (nspec > PARAMS_MAX)
		abort();
	out->n = nspec;
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(msg, msgsz, "数据须为 JSON 对象");
		return ERR_BAD_REQUEST;
	}
	if ((er = walk_json(&c, obj)) != ERR_OK)
		params_free(out);
	return er;
}

enum err
params_parse(const struct pspec *spec, size_t nspec, const char *query,
    enum body_type bt, const char *body, size_t bodylen, struct params *out,
    char *msg, size_t msgsz)
{
	struct pctx	 c = { spec, nspec, out, msg, msgsz };
	enum err	 er = ERR_OK;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	if (nspec > PARAMS_MAX)
		abort();
	out->n = nspec;
	if (query != NULL && (er = parse_form(&c, query, strlen(query))) != ERR_OK)
		goto out;
	if (bodylen > 0) {
		switch (bt) {
		case BODY_FORM:
			er = parse_form(&c, body, bodylen);
			break;
		case BODY_JSON:
			er = parse_json(&c, body, bodylen);
			break;
		default:
			snprintf(msg, msgsz, "请求体须为 application/json 或 "
			    "application/x-www-form-urlencoded");
			er = ERR_BAD_REQUEST;
			break;
		}
		if (er != ERR_OK)
			goto out;
	}
	for (i = 0; i < nspec; i++) {
		if (!(spec[i].flags & P_REQUIRED) || out->v[i].set)
			continue;
		snprintf(msg, msgsz, "缺少参数 %s", spec[i].name);
		er = ERR_BAD_REQUEST;
		goto out;
	}
out:
	if (er != ERR_OK)
		params_free(out);
	return er;
}

void
params_free(struct params *p)
{
	size_t	 i;

	for (i = 0; i < p->n && i < PARAMS_MAX; i++)
		free(p->v[i].s);
	memset(p, 0, sizeof(*p));
}
