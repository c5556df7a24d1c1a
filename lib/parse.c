/*
 * parse.c -- strict integer and UTF-8 parsers (see parse.h).
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

int
parse_long_n(const char *s, size_t n, long min, long max, long *out)
{
	size_t		 i = 0;
	int		 neg = 0;
	unsigned long	 v = 0, lim;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || n - i > 19)
		return -1;
	lim = neg ? (unsigned long)LONG_MAX + 1 : (unsigned long)LONG_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (lim - (unsigned long)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (neg) {
		long r = v == (unsigned long)LONG_MAX + 1 ? LONG_MIN : -(long)v;
		if (r < min || r > max)
			return -1;
		*out = r;
	} else {
		if ((long)v < min || (long)v > max)
			return -1;
		*out = (long)v;
	}
	return 0;
}

int
parse_long(const char *s, long min, long max, long *out)
{
	return parse_long_n(s, strlen(s), min, max, out);
}

/*
 * Decode one code point at s (n bytes left).  Returns its length and sets
 * *cp, or returns 0 if the bytes are not a valid shortest-form sequence.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	 c;
	size_t		 len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

long
utf8_count(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, l;
	long			 count = 0;
	uint32_t		 cp;

	while (i < n) {
		if ((l = utf8_decode(p + i, n - i, &cp)) == 0)
			return -1;
		i += l;
		count++;
	}
	return count;
}

int
utf8_has_control(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, l;
	uint32_t		 cp;

	while (i < n) {
		if ((l = utf8_decode(p + i, n - i, &cp)) == 0)
			return 1;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 1;
		i += l;
	}
	return 0;
}
