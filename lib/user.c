/*
 * user.c -- profile JSON (see user.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "user.h"

static const char *const names[UF__MAX] = {
	[UF_OPENID] = "openid",
	[UF_UNIONID] = "unionid",
	[UF_NICK_NAME] = "nick_name",
	[UF_PROVINCE] = "province",
	[UF_CITY] = "city",
	[UF_COUNTRY] = "country",
	[UF_AVATAR_URL] = "avatar_url",
	[UF_LANGUAGE] = "language",
	[UF_PHONE_NUMBER] = "phone_number",
	[UF_PURE_PHONE_NUMBER] = "pure_phone_number",
	[UF_COUNTRY_CODE] = "country_code",
	[UF_CREATED_AT] = "created_at",
	[UF_UPDATED_AT] = "updated_at",
};

json_object *
user_json(const struct user *u)
{
	json_object	*o = json_object_new_object();
	int		 i;

	jsonx_set(o, "id", json_object_new_int64(u->id));
	for (i = 0; i < UF__MAX; i++) {
		if (i == UF_PROVINCE)	/* API order: gender after nick_name */
			jsonx_set(o, "gender", u->gender < 0 ?
			    NULL : json_object_new_int(u->gender));
		jsonx_add_str(o, names[i], u->f[i]);
	}
	return o;
}

void
user_free(struct user *u)
{
	int	 i;

	for (i = 0; i < UF__MAX; i++)
		free(u->f[i]);
	memset(u, 0, sizeof(*u));
}

#define SK_AAD	"users.session_key:"

static int
sk_aad(const char *openid, char *aad, size_t n)
{
	return snprintf(aad, n, SK_AAD "%s", openid) < (int)n ? 0 : -1;
}

int
user_seal_session_key(const struct keyring *kr, const char *openid,
    const char *sk, struct sealed *out)
{
	char	 aad[256];

	if (sk_aad(openid, aad, sizeof(aad)) == -1)
		return -1;
	return seal(kr, aad, sk, strlen(sk), out);
}

int
user_open_session_key(const struct keyring *kr, const char *openid,
    const struct sealed *s, char *out, size_t outsz)
{
	char	 aad[256];
	size_t	 n;

	if (sk_aad(openid, aad, sizeof(aad)) == -1)
		return -1;
	return seal_open(kr, aad, s, out, outsz, &n);
}
