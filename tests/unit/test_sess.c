/*
 * test_sess.c -- session tokens: minting, validity, hashing, finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "crypto.h"
#include "enc.h"
#include "sess.h"

/* Well-formed tokens: 43 base64url chars, the last one in [AEIMQUYcgkosw048]. */
#define TOK_A	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define TOK_B	"abcdefghijklmnopqrstuvwxyz0123456789-_ABCDQ"
#define TOK_C	"ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZg"
/* Last character 'E' (value 4): valid for 32 bytes (low 2 bits zero). */
#define TOK_E	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"

static int
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static void
test_new(void)
{
	char	 t1[SESS_TOKEN_LEN + 1], t2[SESS_TOKEN_LEN + 1];
	uint8_t	 h1[SHA256_LEN], h2[SHA256_LEN], want[SHA256_LEN];
	size_t	 i;
	int	 ok;

	memset(t1, '#', sizeof(t1));
	CHECK(sess_token_new(t1, h1) == 0);
	CHECK(strlen(t1) == SESS_TOKEN_LEN);
	CHECK(SESS_TOKEN_LEN == 43 && SESS_TOKEN_LEN == B64URL_LEN(32));
	for (ok = 1, i = 0; i < SESS_TOKEN_LEN; i++)
		if (!b64url_char(t1[i]))
			ok = 0;
	CHECK(ok);
	/* The hash is SHA-256 of the token text. */
	CHECK(crypto_sha256(t1, SESS_TOKEN_LEN, want) == 0);
	CHECK(memcmp(h1, want, SHA256_LEN) == 0);
	/* sess_token_hash agrees. */
	memset(h2, 0, sizeof(h2));
	CHECK(sess_token_hash(t1, SESS_TOKEN_LEN, h2) == 0 &&
	    memcmp(h2, h1, SHA256_LEN) == 0);

	CHECK(sess_token_new(t2, h2) == 0);
	CHECK(strcmp(t1, t2) != 0);
	CHECK(memcmp(h1, h2, SHA256_LEN) != 0);
}

/*
 * Every minted token must be accepted by sess_token_valid (and so by
 * sess_token_find): otherwise a client presenting the token it was given
 * at login is treated as unauthenticated.
 */
static void
test_new_valid(void)
{
	char	 t[SESS_TOKEN_LEN + 1];
	uint8_t	 h[SHA256_LEN];
	char	 found[SESS_TOKEN_LEN + 1];
	int	 i, valid = 0, mismatch = 0;

	for (i = 0; i < 200; i++) {
		if (sess_token_new(t, h) != 0)
			continue;
		if (sess_token_valid(t, strlen(t)))
			valid++;
		if (sess_token_find(NULL, t, NULL, found) == 1 &&
		    strcmp(found, t) != 0)
			mismatch++;
	}
	CHECK(mismatch == 0);
	CHECK(valid == 200);
}

static void
test_valid(void)
{
	char	 t[SESS_TOKEN_LEN + 2];

	CHECK(strlen(TOK_A) == 43 && strlen(TOK_B) == 43 &&
	    strlen(TOK_C) == 43 && strlen(TOK_E) == 43);
	CHECK(sess_token_valid(TOK_A, 43) == 1);
	CHECK(sess_token_valid(TOK_B, 43) == 1);
	CHECK(sess_token_valid(TOK_C, 43) == 1);
	/* Length */
	CHECK(sess_token_valid(TOK_A, 42) == 0);
	CHECK(sess_token_valid("", 0) == 0);
	memcpy(t, TOK_A, 43);
	t[43] = 'A';
	t[44] = '\0';
	CHECK(sess_token_valid(t, 44) == 0);
	/* Charset: standard base64 characters, padding, space, NUL */
	memcpy(t, TOK_A, 44);
	t[5] = '+';
	CHECK(sess_token_valid(t, 43) == 0);
	t[5] = '/';
	CHECK(sess_token_valid(t, 43) == 0);
	t[5] = '=';
	CHECK(sess_token_valid(t, 43) == 0);
	t[5] = ' ';
	CHECK(sess_token_valid(t, 43) == 0);
	t[5] = '\0';
	CHECK(sess_token_valid(t, 43) == 0);
	t[5] = '\xc3';
	CHECK(sess_token_valid(t, 43) == 0);
	t[5] = '-';
	CHECK(sess_token_valid(t, 43) == 1);
	t[5] = '_';
	CHECK(sess_token_valid(t, 43) == 1);
	t[5] = '9';
	CHECK(sess_token_valid(t, 43) == 1);
	/* Last character: 32 bytes leave its 2 low bits zero. */
	t[42] = 'B';
	CHECK(sess_token_valid(t, 43) == 0);
	t[42] = 'D';
	CHECK(sess_token_valid(t, 43) == 0);
	t[42] = '_';
	CHECK(sess_token_valid(t, 43) == 0);
	t[42] = '-';
	CHECK(sess_token_valid(t, 43) == 0);
	t[42] = '=';
	CHECK(sess_token_valid(t, 43) == 0);
	t[42] = 'Q';
	CHECK(sess_token_valid(t, 43) == 1);
	t[42] = 'w';
	CHECK(sess_token_valid(t, 43) == 1);
	/* Hash refuses what valid refuses. */
	{
		uint8_t	 h[SHA256_LEN], want[SHA256_LEN];

		CHECK(sess_token_hash(TOK_A, 42, h) == -1);
		CHECK(sess_token_hash("AAA+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    43, h) == -1);
		CHECK(sess_token_hash(TOK_B, 43, h) == 0);
		CHECK(crypto_sha256(TOK_B, 43, want) == 0 &&
		    memcmp(h, want, SHA256_LEN) == 0);
	}
}

/*
 * The last character of a 32-byte base64url encoding carries 4 data bits
 * and 2 zero bits: values 0,4,8,...,60, i.e. "AEIMQUYcgkosw048".
 */
static void
test_last_char(void)
{
	const char	*ok_last = "AEIMQUYcgkosw048";
	const char	*al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char		 t[SESS_TOKEN_LEN + 1];
	uint8_t		 raw[32];
	int		 i, wrong_acc = 0, wrong_rej = 0;

	/* What the encoder really produces for the last character. */
	memset(raw, 0, sizeof(raw));
	raw[31] = 0x01;		/* last char value 1 << 2 = 4: 'E' */
	b64url_encode(raw, sizeof(raw), t);
	CHECK(t[42] == 'E');
	raw[31] = 0x0f;		/* value 60: '8' */
	b64url_encode(raw, sizeof(raw), t);
	CHECK(t[42] == '8');

	memcpy(t, TOK_A, sizeof(t));
	for (i = 0; i < 64; i++) {
		t[42] = al[i];
		if (strchr(ok_last, al[i]) != NULL) {
			if (!sess_token_valid(t, 43))
				wrong_rej++;
		} else if (sess_token_valid(t, 43))
			wrong_acc++;
	}
	CHECK(wrong_acc == 0);
	/* Was a bug: only "AQgw" were accepted, refusing 3/4 of minted tokens. */
	CHECK(wrong_rej == 0);
	CHECK(sess_token_valid(TOK_E, 43) == 1);
}

static void
test_find(void)
{
	char	 tok[SESS_TOKEN_LEN + 1];

	/* Nothing presented. */
	CHECK(sess_token_find(NULL, NULL, NULL, tok) == 0);
	CHECK(sess_token_find("", "", "", tok) == 0);

	/* Each carrier alone. */
	memset(tok, 0, sizeof(tok));
	CHECK(sess_token_find("Bearer " TOK_A, NULL, NULL, tok) == 1);
	CHECK_STR(tok, TOK_A);
	memset(tok, 0, sizeof(tok));
	CHECK(sess_token_find(NULL, TOK_B, NULL, tok) == 1);
	CHECK_STR(tok, TOK_B);
	memset(tok, 0, sizeof(tok));
	CHECK(sess_token_find(NULL, NULL, "sid=" TOK_C, tok) == 1);
	CHECK_STR(tok, TOK_C);

	/* Precedence: Authorization > X-WX-Session > Cookie. */
	CHECK(sess_token_find("Bearer " TOK_A, TOK_B, "sid=" TOK_C, tok) == 1);
	CHECK_STR(tok, TOK_A);
	CHECK(sess_token_find(NULL, TOK_B, "sid=" TOK_C, tok) == 1);
	CHECK_STR(tok, TOK_B);
	CHECK(sess_token_find("Bearer " TOK_A, NULL, "sid=" TOK_C, tok) == 1);
	CHECK_STR(tok, TOK_A);

	/* Case-insensitive scheme; extra spaces around. */
	CHECK(sess_token_find("bearer " TOK_A, NULL, NULL, tok) == 1);
	CHECK_STR(tok, TOK_A);
	CHECK(sess_token_find("BEARER " TOK_B, NULL, NULL, tok) == 1);
	CHECK_STR(tok, TOK_B);
	CHECK(sess_token_find("Bearer   " TOK_C "  ", NULL, NULL, tok) == 1);
	CHECK_STR(tok, TOK_C);
	/* Other schemes, no space, or no token: not a bearer token. */
	CHECK(sess_token_find("Basic " TOK_A, NULL, NULL, tok) == 0);
	CHECK(sess_token_find("Basic dXNlcjpwYXNz", NULL, NULL, tok) == 0);
	CHECK(sess_token_find("Bearer" TOK_A, NULL, NULL, tok) == 0);
	CHECK(sess_token_find("Bearer ", NULL, NULL, tok) == 0);
	CHECK(sess_token_find("Bearerx " TOK_A, NULL, NULL, tok) == 0);
	CHECK(sess_token_find(TOK_A, NULL, NULL, tok) == 0);
	/* "Basic" does not hide the next carrier. */
	CHECK(sess_token_find("Basic dXNlcjpwYXNz", TOK_B, NULL, tok) == 1);
	CHECK_STR(tok, TOK_B);

	/* Malformed ones are ignored: the next carrier is used. */
	CHECK(sess_token_find("Bearer short", TOK_B, "sid=" TOK_C, tok) == 1);
	CHECK_STR(tok, TOK_B);
	CHECK(sess_token_find("Bearer short", "bad+token", "sid=" TOK_C,
	    tok) == 1);
	CHECK_STR(tok, TOK_C);
	CHECK(sess_token_find("Bearer " TOK_A "x", NULL, "sid=" TOK_C,
	    tok) == 1);
	CHECK_STR(tok, TOK_C);
	CHECK(sess_token_find("Bearer " TOK_A " x", NULL, NULL, tok) == 0);
	CHECK(sess_token_find("Bearer short", "bad", "sid=bad", tok) == 0);

	/* X-WX-Session with surrounding whitespace. */
	CHECK(sess_token_find(NULL, "  " TOK_B "\t", NULL, tok) == 1);
	CHECK_STR(tok, TOK_B);
}

static void
test_cookie(void)
{
	char	 tok[SESS_TOKEN_LEN + 1];

	CHECK(sess_token_find(NULL, NULL, "a=1; sid=" TOK_A "; b=2", tok) == 1);
	CHECK_STR(tok, TOK_A);
	CHECK(sess_token_find(NULL, NULL, "a=1;sid=" TOK_B, tok) == 1);
	CHECK_STR(tok, TOK_B);
	CHECK(sess_token_find(NULL, NULL, "sid=" TOK_C "; a=1", tok) == 1);
	CHECK_STR(tok, TOK_C);
	/* Quoted value. */
	CHECK(sess_token_find(NULL, NULL, "sid=\"" TOK_A "\"", tok) == 1);
	CHECK_STR(tok, TOK_A);
	CHECK(sess_token_find(NULL, NULL, "x=y; sid=\"" TOK_B "\"; z=1",
	    tok) == 1);
	CHECK_STR(tok, TOK_B);
	/* Similar names are not "sid". */
	CHECK(sess_token_find(NULL, NULL, "xsid=" TOK_A, tok) == 0);
	CHECK(sess_token_find(NULL, NULL, "sidx=" TOK_A, tok) == 0);
	CHECK(sess_token_find(NULL, NULL, "SID=" TOK_A, tok) == 0);
	CHECK(sess_token_find(NULL, NULL, "a=sid=" TOK_A, tok) == 0);
	/* A malformed sid before a good one: the good one is found. */
	CHECK(sess_token_find(NULL, NULL, "sid=bad; sid=" TOK_C, tok) == 1);
	CHECK_STR(tok, TOK_C);
	/* Cookie pairs without '=' are skipped. */
	CHECK(sess_token_find(NULL, NULL, "junk; sid=" TOK_A, tok) == 1);
	CHECK_STR(tok, TOK_A);
	CHECK(sess_token_find(NULL, NULL, "sid=", tok) == 0);
	CHECK(sess_token_find(NULL, NULL, ";;;", tok) == 0);
	CHECK(sess_token_find(NULL, NULL, "sid=\"" TOK_A, tok) == 0);
	/* The token must be the whole value. */
	CHECK(sess_token_find(NULL, NULL, "sid=" TOK_A "x", tok) == 0);
}

int
main(void)
{
	test_new();
	test_new_valid();
	test_valid();
	test_last_char();
	test_find();
	test_cookie();
	return check_done("test_sess");
}
