/*
 * limit.c -- rate-limit keys and the client address (see limit.h); the
 * counting itself is db_limit_*() in db.c.
 */
#include <stdio.h>
#include <string.h>

#include "limit.h"

static const struct {
	const char	*prefix;
	long		 window;
} kinds[LIMIT__MAX] = {
	[LIMIT_LOGIN_IP] = { "login_ip", 60 },
	[LIMIT_LOGIN_USER] = { "login_user", 60 },
	[LIMIT_PHONE_USER] = { "phone_user", 86400 },
	[LIMIT_DECRYPT_FAIL] = { "decrypt_fail", 60 },
};

long
limit_window(enum limit_kind k)
{
	return kinds[k].window;
}

int
limit_key(enum limit_kind k, const char *subject, char key[LIMIT_KEY_MAX])
{
	int	 n = snprintf(key, LIMIT_KEY_MAX, "%s:%s", kinds[k].prefix,
	    subject);

	return n > 0 && n < LIMIT_KEY_MAX ? 0 : -1;
}

/* Is [s, s+n) a plain IPv4 or IPv6 address's characters? */
static int
addr_chars(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n >= CLIENT_ADDR_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F') ||
		    s[i] == '.' || s[i] == ':'))
			return 0;
	return 1;
}

/* Is the n-byte address a member of the comma-separated list? */
static int
in_list(const char *list, const char *a, size_t n)
{
	const char	*p, *e;
	size_t		 l;

	for (p = list; p != NULL && *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		while (p < e && *p == ' ')
			p++;
		l = (size_t)(e - p);
		while (l > 0 && p[l - 1] == ' ')
			l--;
		if (l == n && memcmp(p, a, n) == 0)
			return 1;
	}
	return 0;
}

static void
copy(char out[CLIENT_ADDR_MAX], const char *s, size_t n)
{
	memcpy(out, s, n);
	out[n] = '\0';
}

#define XFF_HOPS_MAX	32	/* hops of X-Forwarded-For looked at */

void
limit_client_addr(const char *remote, const char *xff, const char *trusted,
    char out[CLIENT_ADDR_MAX])
{
	const char	*hop[XFF_HOPS_MAX], *p, *e;
	size_t		 len[XFF_HOPS_MAX];
	int		 n = 0, i;

	if (remote == NULL || !addr_chars(remote, strlen(remote))) {
		copy(out, "-", 1);
		return;
	}
	copy(out, remote, strlen(remote));
	if (xff == NULL || trusted == NULL || *trusted == '\0' ||
	    !in_list(trusted, remote, strlen(remote)))
		return;
	/* The hops, left to right; only the last XFF_HOPS_MAX are kept. */
	for (p = xff; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (n == XFF_HOPS_MAX) {
			memmove(hop, hop + 1, sizeof(hop[0]) * (XFF_HOPS_MAX - 1));
			memmove(len, len + 1, sizeof(len[0]) * (XFF_HOPS_MAX - 1));
			n--;
		}
		hop[n] = p;
		len[n] = (size_t)(e - p);
		while (len[n] > 0 && (*hop[n] == ' ' || *hop[n] == '\t')) {
			hop[n]++;
			len[n]--;
		}
		while (len[n] > 0 && (hop[n][len[n] - 1] == ' ' ||
		    hop[n][len[n] - 1] == '\t'))
			len[n]--;
		n++;
	}
	/* From the right: past our own proxies, to the first one we did not add. */
	for (i = n - 1; i >= 0; i--) {
		if (!addr_chars(hop[i], len[i]))
			return;		/* garbage: keep the last good hop */
		copy(out, hop[i], len[i]);
		if (!in_list(trusted, hop[i], len[i]))
			return;
	}
}
