/*
 * user.h -- a user's profile as the API shows it.
 */
#ifndef WXAUTH_USER_H
#define WXAUTH_USER_H

#include <stddef.h>

#include <json-c/json.h>

#include "seal.h"

/* The nullable text fields of a profile, in API order. */
enum user_field {
	UF_OPENID,
	UF_UNIONID,
	UF_NICK_NAME,
	UF_PROVINCE,
	UF_CITY,
	UF_COUNTRY,
	UF_AVATAR_URL,
	UF_LANGUAGE,
	UF_PHONE_NUMBER,
	UF_PURE_PHONE_NUMBER,
	UF_COUNTRY_CODE,
	UF_CREATED_AT,
	UF_UPDATED_AT,
	UF__MAX
};

struct user {
	long long	 id;
	int		 gender;		/* 0, 1, 2, or -1 for null */
	char		*f[UF__MAX];		/* owned; NULL for null */
};

/* The profile as a new JSON object (caller puts it). */
json_object	*user_json(const struct user *);

/* Free the strings and empty the struct. */
void		 user_free(struct user *);

/*
 * The user's WeChat session_key at rest (seal.h): sealed bound to the
 * openid, so that a ciphertext copied to another user's row does not open.
 * Both return 0 or -1.
 */
int		 user_seal_session_key(const struct keyring *, const char *openid,
		    const char *session_key, struct sealed *out);
int		 user_open_session_key(const struct keyring *, const char *openid,
		    const struct sealed *, char *out, size_t outsz);

#endif
