/*
 * profile.c -- profile changes and their precedence rules (see profile.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonx.h"
#include "profile.h"

/* PROFILE_PSPECS's limits under WeChat's names, parallel to enum pfield. */
static const struct pspec wechat_spec[PF__MAX] = {
	[PF_NICK_NAME] = { "nickName", PT_TEXT, 0, 64, 0 },
	[PF_GENDER] = { "gender", PT_INT, 0, 2, 0 },
	[PF_PROVINCE] = { "province", PT_TEXT, 0, 64, 0 },
	[PF_CITY] = { "city", PT_TEXT, 0, 64, 0 },
	[PF_COUNTRY] = { "country", PT_TEXT, 0, 64, 0 },
	[PF_AVATAR_URL] = { "avatarUrl", PT_URL, 0, 1024, P_HTTP },
	[PF_LANGUAGE] = { "language", PT_ASCII, 0, 16, 0 },
	[PF_UNIONID] = { "unionId", PT_ASCII, 0, 128, 0 },
};

/* The grey avatar's image id, after /mmopen/vi_32/ on a *.qlogo.cn host. */
#define GREY_AVATAR_ID	"POgEwh4mIHO4nibH0KlMECNjjGxQUq24ZEaGT4poC6icRiccVGK" \
			"SyXwibcPq4BWmiaIGuG1icwxaQX6grC9VemZoJ8rg"

int
profile_is_placeholder_avatar(const char *url)
{
	const char	*host, *path, *id;
	size_t		 hl, il = sizeof(GREY_AVATAR_ID) - 1;

	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return 0;
	path = host + strcspn(host, "/?#");
	hl = strcspn(host, ":/?#");	/* the host without a port */
	if (hl < 9 || strncasecmp(host + hl - 9, ".qlogo.cn", 9) != 0)
		return 0;
	if (strncmp(path, "/mmopen/vi_32/", 14) != 0)
		return 0;
	id = path + 14;
	return strncmp(id, GREY_AVATAR_ID, il) == 0 &&
	    (id[il] == '/' || id[il] == '\0');
}

static void
put(struct profile *p, enum pfield f, const char *s)
{
	char	*d;

	if (s == NULL || *s == '\0')
		return;
	if ((d = strdup(s)) == NULL)
		abort();
	free(p->v[f]);
	p->v[f] = d;
}

/*
 * Apply one source whose values are parallel to enum pfield (n of them),
 * with the placeholder rules.
 */
static void
apply(struct profile *p, const struct pval *v, size_t n)
{
	char	 g[2];
	size_t	 i;
	int	 anonymous;

	anonymous = v[PF_NICK_NAME].set &&
	    strcmp(v[PF_NICK_NAME].s, PROFILE_PLACEHOLDER_NICK) == 0;
	for (i = 0; i < n; i++) {
		if (!v[i].set)
			continue;
		switch (i) {
		case PF_NICK_NAME:
			if (!anonymous)
				put(p, PF_NICK_NAME, v[i].s);
			break;
		case PF_GENDER:
			if (anonymous && v[i].i == 0)
				break;
			g[0] = (char)('0' + v[i].i);
			g[1] = '\0';
			put(p, PF_GENDER, g);
			break;
		case PF_AVATAR_URL:
			if (!profile_is_placeholder_avatar(v[i].s))
				put(p, PF_AVATAR_URL, v[i].s);
			break;
		default:
			put(p, (enum pfield)i, v[i].s);
			break;
		}
	}
}

void
profile_from_params(struct profile *p, const struct params *pa)
{
	apply(p, pa->v, PROFILE_PARAMS);
}

enum err
profile_from_wechat(struct profile *p, json_object *data, char *msg,
    size_t msgsz)
{
	struct params	 pa;
	enum err	 er;

	if ((er = params_from_json(wechat_spec, PF__MAX, data, &pa, msg,
	    msgsz)) != ERR_OK)
		return er;
	apply(p, pa.v, PF__MAX);
	params_free(&pa);
	return ERR_OK;
}

int
profile_any(const struct profile *p)
{
	size_t	 i;

	for (i = 0; i < PF__MAX; i++)
		if (p->v[i] != NULL)
			return 1;
	return 0;
}

void
profile_free(struct profile *p)
{
	size_t	 i;

	for (i = 0; i < PF__MAX; i++)
		free(p->v[i]);
	memset(p, 0, sizeof(*p));
}

/* 1..max characters of digits, '+', '-' and spaces, with a digit. */
static int
phone_text(const char *s, size_t n, size_t max)
{
	size_t	 i;
	int	 digit = 0;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digit = 1;
		else if (s[i] != '+' && s[i] != '-' && s[i] != ' ')
			return 0;
	}
	return digit;
}

int
profile_phone(json_object *o, struct phone *out)
{
	json_object	*cc;
	const char	*s;
	size_t		 n, i;
	int64_t		 num;

	memset(out, 0, sizeof(*out));
	if (jsonx_str(o, "phoneNumber", &s, &n) != 1 ||
	    !phone_text(s, n, PHONE_MAX))
		return -1;
	memcpy(out->number, s, n);
	if (jsonx_str(o, "purePhoneNumber", &s, &n) != 1 ||
	    !phone_text(s, n, PHONE_MAX))
		return -1;
	memcpy(out->pure, s, n);
	if (!json_object_object_get_ex(o, "countryCode", &cc) || cc == NULL)
		return -1;
	if (json_object_is_type(cc, json_type_int)) {
		num = json_object_get_int64(cc);
		if (num < 1 || num > 99999999)
			return -1;
		snprintf(out->country_code, sizeof(out->country_code), "%lld",
		    (long long)num);
		return 0;
	}
	if (jsonx_str(o, "countryCode", &s, &n) != 1 || n == 0 ||
	    n > PHONE_CC_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(out->country_code, s, n);
	return 0;
}
