/*
 * sess.c -- session tokens (see sess.h).
 */
#include <string.h>
#include <strings.h>

#include "enc.h"
#include "sess.h"

int
sess_token_new(char tok[SESS_TOKEN_LEN + 1], uint8_t hash[SHA256_LEN])
{
	uint8_t	 raw[SESS_TOKEN_BYTES];

	if (crypto_random(raw, sizeof(raw)) == -1)
		return -1;
	b64url_encode(raw, sizeof(raw), tok);
	memset(raw, 0, sizeof(raw));
	return crypto_sha256(tok, SESS_TOKEN_LEN, hash);
}

int
sess_token_valid(const char *s, size_t n)
{
	size_t	 i;
	char	 c;

	if (n != SESS_TOKEN_LEN)
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	/* 43 characters carry 258 bits for 256: the last one's low 2 bits are 0. */
	c = s[n - 1];
	return strchr("AEIMQUYcgkosw048", c) != NULL;
}

int
sess_token_hash(const char *tok, size_t n, uint8_t hash[SHA256_LEN])
{
	if (!sess_token_valid(tok, n))
		return -1;
	return crypto_sha256(tok, n, hash);
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Copy the n-byte candidate into tok if it is a token.  1 or 0. */
static int
take(const char *s, size_t n, char tok[SESS_TOKEN_LEN + 1])
{
	if (!sess_token_valid(s, n))
		return 0;
	memcpy(tok, s, n);
	tok[n] = '\0';
	return 1;
}

/* Trim optional whitespace around [*s, *s + *n). */
static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_ows(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_ows((*s)[*n - 1]))
		(*n)--;
}

/* "Bearer" 1*SP token: RFC 6750 section 2.1, scheme case-insensitive. */
static int
from_authorization(const char *h, char tok[SESS_TOKEN_LEN + 1])
{
	size_t	 n;

	while (is_ows(*h))
		h++;
	if (strncasecmp(h, "Bearer", 6) != 0 || !is_ows(h[6]))
		return 0;
	h += 6;
	n = strlen(h);
	trim(&h, &n);
	return take(h, n, tok);
}

/* Cookie: name=value pairs separated by ";" (RFC 6265 section 5.4). */
static int
from_cookie(const char *h, char tok[SESS_TOKEN_LEN + 1])
{
	const char	*p, *semi, *eq, *name, *val;
	size_t		 nl, vl;

	for (p = h; *p != '\0'; p = *semi == ';' ? semi + 1 : semi) {
		semi = p + strcspn(p, ";");
		eq = memchr(p, '=', (size_t)(semi - p));
		if (eq == NULL)
			continue;
		name = p;
		nl = (size_t)(eq - p);
		trim(&name, &nl);
		val = eq + 1;
		vl = (size_t)(semi - val);
		trim(&val, &vl);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val++;
			vl -= 2;
		}
		if (nl == sizeof(SESS_COOKIE) - 1 &&
		    memcmp(name, SESS_COOKIE, nl) == 0 && take(val, vl, tok))
			return 1;
	}
	return 0;
}

int
sess_token_find(const char *authorization, const char *xwx,
    const char *cookie, char tok[SESS_TOKEN_LEN + 1])
{
	size_t	 n;

	if (authorization != NULL && from_authorization(authorization, tok))
		return 1;
	if (xwx != NULL) {
		n = strlen(xwx);
		trim(&xwx, &n);
		if (take(xwx, n, tok))
			return 1;
	}
	if (cookie != NULL && from_cookie(cookie, tok))
		return 1;
	return 0;
}
