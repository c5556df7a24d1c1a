/*
 * multipart.c -- multipart/form-data, bounded, in place (multipart.h).
 */
#include <string.h>
#include <strings.h>

#include "multipart.h"

/* RFC 2046 bchars (a space only inside). */
static int
bchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c) != NULL;
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int
multipart_boundary(const char *ct, char out[MP_BOUNDARY_MAX + 1])
{
	static const char	 type[] = "multipart/form-data";
	const char		*p, *v;
	size_t			 n;
	int			 quoted;

	if (ct == NULL)
		return -1;
	p = skip_ws(ct);
	if (strncasecmp(p, type, sizeof(type) - 1) != 0)
		return -1;
	p = skip_ws(p + sizeof(type) - 1);
	while (*p == ';') {
		p = skip_ws(p + 1);
		if (strncasecmp(p, "boundary=", 9) != 0) {
			/* Another parameter: skip it (quoted or not). */
			quoted = 0;
			while (*p != '\0' && (quoted || *p != ';')) {
				if (*p == '"')
					quoted = !quoted;
				p++;
			}
			continue;
		}
		v = p + 9;
		if ((quoted = *v == '"'))
			v++;
		for (n = 0; v[n] != '\0' && n <= MP_BOUNDARY_MAX; n++)
			if (quoted ? v[n] == '"' : (v[n] == ';' || v[n] == ' ' ||
			    v[n] == '\t'))
				break;
		if (n == 0 || n > MP_BOUNDARY_MAX || (quoted && v[n] != '"'))
			return -1;
		memcpy(out, v, n);
		out[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!bchar((unsigned char)out[i]))
				return -1;
		if (out[n - 1] == ' ')
			return -1;
		return 0;
	}
	return -1;
}

/* The first occurrence of the n bytes of needle in [p, p + len), or NULL. */
static const uint8_t *
find(const uint8_t *p, size_t len, const char *needle, size_t n)
{
	return memmem(p, len, needle, n);
}

/* A case-insensitive header name match at line (len bytes). */
static const char *
header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
	size_t		 nl = strlen(name);
	const char	*v, *end = line + len;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return NULL;
	for (v = line + nl + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		continue;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*vlen = (size_t)(end - v);
	return v;
}

/* A name="value" (or name=token) parameter of a header value. */
static const char *
param(const char *v, size_t vlen, const char *name, size_t *plen)
{
	size_t		 nl = strlen(name), i = 0, n;
	const char	*end = v + vlen, *s;
	int		 quoted;

	while (i < vlen) {
		/* At the start of a parameter: after ';' and spaces. */
		while (i < vlen && v[i] != ';') {
			if (v[i] == '"') {	/* skip a quoted string */
				for (i++; i < vlen && v[i] != '"'; i++)
					continue;
			}
			i++;
		}
		if (i >= vlen)
			return NULL;
		for (i++; i < vlen && (v[i] == ' ' || v[i] == '\t'); i++)
			continue;
		if ((size_t)(end - (v + i)) > nl && strncasecmp(v + i, name,
		    nl) == 0 && v[i + nl] == '=') {
			s = v + i + nl + 1;
			if ((quoted = s < end && *s == '"'))
				s++;
			for (n = 0; s + n < end; n++)
				if (quoted ? s[n] == '"' : (s[n] == ';' ||
				    s[n] == ' '))
					break;
			if (quoted && s + n >= end)
				return NULL;	/* unterminated */
			*plen = n;
			return s;
		}
	}
	return NULL;
}

/* Fill p's headers from the header block [h, h + hlen).  0 or -1. */
static int
headers(const char *h, size_t hlen, struct mp_part *p)
{
	const char	*line = h, *end = h + hlen, *eol, *v;
	size_t		 len, vlen;

	while (line < end) {
		eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		len = eol != NULL ? (size_t)(eol - line) : (size_t)(end - line);
		if (memchr(line, ':', len) == NULL)
			return -1;
		if ((v = header_value(line, len, "Content-Disposition",
		    &vlen)) != NULL) {
			if (vlen < 9 || strncasecmp(v, "form-data", 9) != 0)
				return -1;
			p->name = param(v, vlen, "name", &p->name_len);
			p->filename = param(v, vlen, "filename",
			    &p->filename_len);
		} else if ((v = header_value(line, len, "Content-Type",
		    &vlen)) != NULL) {
			p->type = v;
			p->type_len = vlen;
		}
		line += len + 2;
	}
	return 0;
}

int
multipart_each(const uint8_t *body, size_t len, const char *boundary,
    int (*cb)(const struct mp_part *, void *), void *arg)
{
	char		 delim[MP_BOUNDARY_MAX + 5];	/* CRLF "--" boundary */
	const uint8_t	*p, *end = body + len, *hend, *next;
	struct mp_part	 part;
	size_t		 bl = strlen(boundary), dl, nparts = 0;
	int		 rc;

	if (bl == 0 || bl > MP_BOUNDARY_MAX)
		return -1;
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, bl);
	dl = bl + 4;
	/* The first delimiter: at the very start, or after a preamble. */
	if (len >= dl - 2 && memcmp(body, delim + 2, dl - 2) == 0)
		p = body + dl - 2;
	else if ((p = find(body, len, delim, dl)) != NULL)
		p += dl;
	else
		return -1;
	for (;;) {
		/* After a delimiter: "--" closes; else padding and CRLF. */
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return -1;
		p += 2;
		if (++nparts > MP_PARTS_MAX)
			return -1;
		memset(&part, 0, sizeof(part));
		/* Headers end at a blank line (none at all is allowed). */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			hend = p;
		else {
			hend = find(p, (size_t)(end - p) < MP_HEADERS_MAX + 4 ?
			    (size_t)(end - p) : MP_HEADERS_MAX + 4,
			    "\r\n\r\n", 4);
			if (hend == NULL || headers((const char *)p,
			    (size_t)(hend - p), &part) == -1)
				return -1;
			hend += 2;
		}
		part.data = hend + 2;
		if ((next = find(part.data, (size_t)(end - part.data), delim,
		    dl)) == NULL)
			return -1;	/* no closing delimiter */
		part.len = (size_t)(next - part.data);
		if ((rc = cb(&part, arg)) != 0)
			return rc;
		p = next + dl;
	}
}
