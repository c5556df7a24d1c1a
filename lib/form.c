/*
 * form.c -- urlencoded pair decoding (see form.h).
 */
#include <stdlib.h>
#include <string.h>

#include "form.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode n bytes at s into out (room for n + 1).  Returns length or -1. */
static long
decode(const char *s, size_t n, char *out)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%') {
			if (i + 2 >= n)
				return -1;
			if ((hi = hexval(s[i + 1])) == -1 ||
			    (lo = hexval(s[i + 2])) == -1)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return (long)o;
}

int
form_each(const char *s, size_t n,
    int (*cb)(const char *, size_t, const char *, size_t, void *), void *arg)
{
	const char	*p = s, *end = s + n, *amp, *eq;
	char		*tmp;
	long		 nl, vl;
	int		 rc = 0;

	if ((tmp = malloc(n + 2)) == NULL)
		abort();
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (amp == p) {
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		/* name in tmp[0..], value right after its terminator */
		if ((nl = decode(p, (size_t)(eq - p), tmp)) == -1 ||
		    (vl = decode(eq < amp ? eq + 1 : amp,
		    eq < amp ? (size_t)(amp - eq - 1) : 0,
		    tmp + nl + 1)) == -1) {
			rc = -1;
			break;
		}
		if ((rc = cb(tmp, (size_t)nl, tmp + nl + 1, (size_t)vl,
		    arg)) != 0)
			break;
		p = amp < end ? amp + 1 : end;
	}
	free(tmp);
	return rc;
}
