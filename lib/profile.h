/*
 * profile.h -- what update_base_info and bind_wx_phone_number may change
 * on a user, gathered from the request's plain parameters and from the
 * open data WeChat signed or encrypted, with the rules for which wins.
 *
 * Rules, in one place:
 * - Sources are applied in rising precedence: plain parameters, then
 *   verified raw_data, then decrypted data.  A later source's value
 *   replaces an earlier one's; a value never given stays as stored.
 * - An empty string is "not given": nothing is ever cleared this way.
 * - WeChat's anonymous placeholders are "not given" too, from any source:
 *   the nickname "微信用户" and the default grey avatar.  A source whose
 *   nickname is the placeholder is an anonymous profile: its gender 0
 *   ("unknown") is not given either.
 * - WeChat's data is checked against the same limits as the parameters
 *   (the declared tables in profile.c); it may carry an http avatar URL.
 */
#ifndef WXAUTH_PROFILE_H
#define WXAUTH_PROFILE_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"
#include "params.h"

#define PROFILE_PLACEHOLDER_NICK	"微信用户"

enum pfield {
	PF_NICK_NAME,
	PF_GENDER,		/* "0", "1" or "2" */
	PF_PROVINCE,
	PF_CITY,
	PF_COUNTRY,
	PF_AVATAR_URL,
	PF_LANGUAGE,
	PF_UNIONID,		/* from WeChat's data only */
	PF__MAX
};

/* The changes to make: owned strings, NULL for "keep what is stored". */
struct profile {
	char	*v[PF__MAX];
};

/*
 * The parameters of update_base_info that are profile fields, with the
 * API's limits, in the order of enum pfield up to PF_LANGUAGE: a route's
 * spec table starts with PROFILE_PSPECS, so that pa->v[i] is field i.
 */
#define PROFILE_PARAMS	(PF_LANGUAGE + 1)
#define PROFILE_PSPECS \
	{ "nick_name", PT_TEXT, 0, 64, 0 }, \
	{ "gender", PT_INT, 0, 2, 0 }, \
	{ "province", PT_TEXT, 0, 64, 0 }, \
	{ "city", PT_TEXT, 0, 64, 0 }, \
	{ "country", PT_TEXT, 0, 64, 0 }, \
	{ "avatar_url", PT_URL, 0, 1024, 0 }, \
	{ "language", PT_ASCII, 0, 16, 0 }

/* Apply the plain parameters (the first PROFILE_PARAMS of pa). */
void		profile_from_params(struct profile *, const struct params *pa);

/*
 * Apply WeChat's user data (decrypted, or verified raw_data): nickName,
 * gender, language, city, province, country, avatarUrl, unionId.
 * ERR_BAD_REQUEST with msg set if a field breaks the limits.
 */
enum err	profile_from_wechat(struct profile *, json_object *data,
		    char *msg, size_t msgsz);

/* Has anything been given?  1 or 0. */
int		profile_any(const struct profile *);

void		profile_free(struct profile *);

/* Is url WeChat's default grey avatar (any size, any qlogo host)?  1 or 0. */
int		profile_is_placeholder_avatar(const char *url);

#define PHONE_MAX	32
#define PHONE_CC_MAX	8

struct phone {
	char	number[PHONE_MAX + 1];		/* phoneNumber, e.g. +8613800138000 */
	char	pure[PHONE_MAX + 1];		/* purePhoneNumber */
	char	country_code[PHONE_CC_MAX + 1];	/* countryCode, always text */
};

/*
 * Read WeChat's phone data (phone_info of getuserphonenumber, or the
 * decrypted legacy getPhoneNumber data): phoneNumber and purePhoneNumber
 * (1..PHONE_MAX characters of digits, '+', '-' and spaces), countryCode (a
 * string or a number of 1..PHONE_CC_MAX digits).  Returns 0 or -1.
 */
int		profile_phone(json_object *o, struct phone *out);

#endif
