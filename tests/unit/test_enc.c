/*
 * test_enc.c -- b64url_encode and hex_encode.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "enc.h"

/* Encode the string s; returns the static result, length in *len. */
static const char *
b64s(const char *s, size_t *len)
{
	static char	 out[256];

	memset(out, 'X', sizeof(out));
	*len = b64url_encode((const uint8_t *)s, strlen(s), out);
	return out;
}

static void
test_b64url(void)
{
	size_t		 len;
	char		 out[64];
	const uint8_t	 fb[] = { 0xfb, 0xff };
	const uint8_t	 f8[] = { 0xf8 };
	const uint8_t	 z3[] = { 0, 0, 0 };
	const uint8_t	 ff3[] = { 0xff, 0xff, 0xff };
	const uint8_t	 hi[] = { 0x3e, 0x3f, 0xbf, 0xfe };

	/* RFC 4648 section 10, unpadded. */
	CHECK_STR(b64s("", &len), ""); CHECK(len == 0);
	CHECK_STR(b64s("f", &len), "Zg"); CHECK(len == 2);
	CHECK_STR(b64s("fo", &len), "Zm8"); CHECK(len == 3);
	CHECK_STR(b64s("foo", &len), "Zm9v"); CHECK(len == 4);
	CHECK_STR(b64s("foob", &len), "Zm9vYg"); CHECK(len == 6);
	CHECK_STR(b64s("fooba", &len), "Zm9vYmE"); CHECK(len == 7);
	CHECK_STR(b64s("foobar", &len), "Zm9vYmFy"); CHECK(len == 8);

	/* The URL-safe alphabet: 62 is '-', 63 is '_'. */
	CHECK(b64url_encode(fb, sizeof(fb), out) == 3);
	CHECK_STR(out, "-_8");
	CHECK(b64url_encode(f8, sizeof(f8), out) == 2);
	CHECK_STR(out, "-A");
	CHECK(b64url_encode(ff3, sizeof(ff3), out) == 4);
	CHECK_STR(out, "____");
	CHECK(b64url_encode(z3, sizeof(z3), out) == 4);
	CHECK_STR(out, "AAAA");
	/* Standard base64 would be "Pj+//g==". */
	CHECK(b64url_encode(hi, sizeof(hi), out) == 6);
	CHECK_STR(out, "Pj-__g");
	CHECK(strchr(out, '+') == NULL && strchr(out, '/') == NULL &&
	    strchr(out, '=') == NULL);

	/* B64URL_LEN matches what is written, and out is terminated there. */
	CHECK(B64URL_LEN(0) == 0);
	CHECK(B64URL_LEN(1) == 2);
	CHECK(B64URL_LEN(2) == 3);
	CHECK(B64URL_LEN(3) == 4);
	CHECK(B64URL_LEN(32) == 43);
	CHECK(B64URL_LEN(12) == 16);
	{
		uint8_t	 in[40];
		char	 o[B64URL_LEN(40) + 2];
		size_t	 n, k;
		int	 ok = 1;

		for (k = 0; k < sizeof(in); k++)
			in[k] = (uint8_t)(k * 37 + 11);
		for (n = 0; n <= sizeof(in); n++) {
			memset(o, '#', sizeof(o));
			if (b64url_encode(in, n, o) != B64URL_LEN(n) ||
			    o[B64URL_LEN(n)] != '\0' ||
			    o[B64URL_LEN(n) + 1] != '#')
				ok = 0;
		}
		CHECK(ok);
	}
}

static void
test_hex(void)
{
	char		 out[64];
	const uint8_t	 b[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff };
	const uint8_t	 d[] = { 0xde, 0xad, 0xbe, 0xef };

	memset(out, 'X', sizeof(out));
	hex_encode(b, 0, out);
	CHECK_STR(out, "");
	hex_encode(b, sizeof(b), out);
	CHECK_STR(out, "00017f80abcdefff");
	hex_encode(d, sizeof(d), out);
	CHECK_STR(out, "deadbeef");
	memset(out, 'X', sizeof(out));
	hex_encode(d, 1, out);
	CHECK(out[0] == 'd' && out[1] == 'e' && out[2] == '\0' &&
	    out[3] == 'X');
}

/* Decode s strictly; the result as a string in out, or NULL. */
static const char *
dec(const char *s)
{
	static char	 out[256];
	size_t		 n;

	if (b64_decode(s, strlen(s), (uint8_t *)out, sizeof(out) - 1, &n) != 0)
		return NULL;
	out[n] = '\0';
	return out;
}

static void
test_b64(void)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char		 enc[64];
	uint8_t		 raw[32];
	size_t		 i, n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(b64_encode((const uint8_t *)v[i][0], strlen(v[i][0]), enc) ==
		    strlen(v[i][1]));
		CHECK_STR(enc, v[i][1]);
		CHECK_STR(dec(v[i][1]), v[i][0]);
	}
	raw[0] = 0xfb;
	raw[1] = 0xff;
	b64_encode(raw, 2, enc);
	CHECK_STR(enc, "+/8=");
	/* WeChat's official session_key decodes to exactly 16 bytes. */
	CHECK(b64_decode("tiihtNczf5v6AKRyjwEUhQ==", 24, raw, 16, &n) == 0 &&
	    n == 16 && raw[0] == 0xb6 && raw[15] == 0x85);
	CHECK(b64_decode("tiihtNczf5v6AKRyjwEUhQ==", 24, raw, 15, &n) == -1);
	/* Strict: no repair, no URL alphabet, no whitespace, canonical. */
	CHECK(dec("Zm9v YmFy") == NULL);
	CHECK(dec(" m9vYmFy") == NULL);	/* a '+' that arrived as a space */
	CHECK(dec("Zm9vYmF") == NULL);	/* not a multiple of 4 */
	CHECK(dec("Zm9vYmE") == NULL);
	CHECK(dec("Zg") == NULL);	/* unpadded */
	CHECK(dec("Zg=") == NULL);
	CHECK(dec("Zh==") == NULL);	/* non-zero unused bits */
	CHECK(dec("Zm9=") == NULL);
	CHECK(dec("Zm8=") != NULL);
	CHECK(dec("-_8=") == NULL);	/* base64url is not base64 */
	CHECK(dec("Zg==Zg==") == NULL);	/* padding inside */
	CHECK(dec("====") == NULL);
	CHECK(dec("Z===") == NULL);
	CHECK(dec("Zm9v\n") == NULL);
}

int
main(void)
{
	test_b64url();
	test_hex();
	test_b64();
	return check_done("test_enc");
}
