/*
 * enc.c -- hex and base64url encoders (see enc.h).
 */
#include "enc.h"

size_t
b64url_encode(const uint8_t *in, size_t n, char *out)
{
	static const char	 al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t			 i, o = 0;
	uint32_t		 v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = al[v >> 6 & 63];
		out[o++] = al[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = al[v >> 18 & 63];
		out[o++] = al[v >> 12 & 63];
		out[o++] = al[v >> 6 & 63];
	}
	out[o] = '\0';
	return o;
}

void
hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char	 hx[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static const char	 b64al[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t		 i, o = 0;
	uint32_t	 v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64al[v >> 18 & 63];
		out[o++] = b64al[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64al[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64al[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* The value of a base64 character, or -1. */
static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
b64_decode(const char *s, size_t n, uint8_t *out, size_t outsz,
    size_t *outlen)
{
	size_t		 i, k, pad = 0, o = 0, need;
	uint32_t	 v;
	int		 d;

	if (n % 4 != 0)
		return -1;
	if (n > 0 && s[n - 1] == '=')
		pad = n > 1 && s[n - 2] == '=' ? 2 : 1;
	need = n / 4 * 3 - pad;
	if (need > outsz)
		return -1;
	for (i = 0; i < n; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++) {
			if (i + k >= n - pad && s[i + k] == '=')
				d = 0;
			else if ((d = b64val(s[i + k])) < 0)
				return -1;
			v = v << 6 | (uint32_t)d;
		}
		/* Unused bits of the last character must be zero. */
		if (i + 4 == n && ((pad == 1 && (v & 0xff)) ||
		    (pad == 2 && (v & 0xffff))))
			return -1;
		out[o++] = (uint8_t)(v >> 16);
		if (o < need)
			out[o++] = (uint8_t)(v >> 8);
		if (o < need)
			out[o++] = (uint8_t)v;
	}
	*outlen = need;
	return 0;
}
