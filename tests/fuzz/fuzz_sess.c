/*
 * fuzz_sess.c -- sess_token_find() (lib/sess.h) on fuzzed Authorization,
 * X-WX-Session and Cookie headers.
 *
 * Input: a flags byte (bit i set: header i is absent, NULL), then the three
 * headers separated by NUL bytes.  Invariants: a token found is
 * sess_token_valid(), hashes, and appears verbatim in one of the headers;
 * the headers are tried in their documented order (the result with all
 * three is the first header's own result); and a well-formed token added
 * to a header in each accepted form is found, whatever junk surrounds it.
 */
#include "fuzz.h"
#include "crypto.h"
#include "log.h"
#include "sess.h"

static const char	 b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
in_header(const char *h, const char *tok)
{
	return h != NULL && strstr(h, tok) != NULL;
}

static int
find1(const char *a, const char *x, const char *c, char tok[SESS_TOKEN_LEN + 1])
{
	int	 r;

	memset(tok, 'X', SESS_TOKEN_LEN + 1);
	r = sess_token_find(a, x, c, tok);
	FUZZ_CHECK(r == 0 || r == 1);
	if (r == 1) {
		uint8_t	 h1[SHA256_LEN], h2[SHA256_LEN];

		FUZZ_CHECK(tok[SESS_TOKEN_LEN] == '\0');
		FUZZ_CHECK(strlen(tok) == SESS_TOKEN_LEN);
		FUZZ_CHECK(sess_token_valid(tok, SESS_TOKEN_LEN));
		FUZZ_CHECK(in_header(a, tok) || in_header(x, tok) ||
		    in_header(c, tok));
		FUZZ_CHECK(sess_token_hash(tok, SESS_TOKEN_LEN, h1) == 0);
		FUZZ_CHECK(crypto_sha256(tok, SESS_TOKEN_LEN, h2) == 0);
		FUZZ_CHECK(memcmp(h1, h2, SHA256_LEN) == 0);
	}
	return r;
}

/* A well-formed token made from the input's bytes. */
static void
make_token(const uint8_t *data, size_t size, char tok[SESS_TOKEN_LEN + 1])
{
	static const char	 last[] = "AEIMQUYcgkosw048";
	size_t			 i;

	for (i = 0; i < SESS_TOKEN_LEN - 1; i++)
		tok[i] = b64url[(size > 0 ? data[i % size] + i : i) % 64];
	tok[SESS_TOKEN_LEN - 1] = last[(size > 0 ? data[size - 1] : 0) % 16];
	tok[SESS_TOKEN_LEN] = '\0';
	FUZZ_CHECK(sess_token_valid(tok, SESS_TOKEN_LEN));
}

static char *
concat(const char *a, const char *b, const char *c)
{
	size_t	 la = strlen(a), lb = strlen(b), lc = strlen(c);
	char	*s;

	if ((s = malloc(la + lb + lc + 1)) == NULL)
		abort();
	memcpy(s, a, la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c, lc + 1);
	return s;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_ERROR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data;
	size_t		 n = size;
	char		*h[3], *s, *q;
	char		 all[SESS_TOKEN_LEN + 1], one[SESS_TOKEN_LEN + 1];
	char		 t[SESS_TOKEN_LEN + 1];
	unsigned	 flags;
	int		 r, i, first = -1;

	if (size < 1)
		return 0;
	flags = data[0];
	p++;
	n--;
	for (i = 0; i < 3; i++) {
		h[i] = fuzz_part(&p, &n, NULL);
		if (flags & (1u << i)) {
			free(h[i]);
			h[i] = NULL;
		}
	}

	r = find1(h[0], h[1], h[2], all);
	/* The documented order: the first header holding a token wins. */
	for (i = 0; i < 3 && first == -1; i++)
		if (find1(i == 0 ? h[0] : NULL, i == 1 ? h[1] : NULL,
		    i == 2 ? h[2] : NULL, one) == 1)
			first = i;
	FUZZ_CHECK(r == (first != -1));
	if (r == 1)
		FUZZ_CHECK(strcmp(all, one) == 0);

	/* A real token, presented in each accepted form, is found. */
	make_token(data, size, t);
	s = concat("Bearer ", t, "");
	FUZZ_CHECK(find1(s, h[1], h[2], one) == 1 && strcmp(one, t) == 0);
	free(s);
	s = concat(" bEaReR \t", t, " \t");
	FUZZ_CHECK(find1(s, NULL, NULL, one) == 1 && strcmp(one, t) == 0);
	free(s);
	s = concat("\t ", t, " ");
	FUZZ_CHECK(find1(NULL, s, NULL, one) == 1 && strcmp(one, t) == 0);
	free(s);
	if (h[2] != NULL && find1(NULL, NULL, h[2], one) == 0) {
		/* After any cookie header that holds no token, the pair wins. */
		s = concat(h[2], "; sid=", t);
		FUZZ_CHECK(find1(NULL, NULL, s, one) == 1 && strcmp(one, t) == 0);
		free(s);
		q = concat(h[2], ";sid=\"", t);
		s = concat(q, "\"", "");
		free(q);
		FUZZ_CHECK(find1(NULL, NULL, s, one) == 1 && strcmp(one, t) == 0);
		free(s);
		s = concat("sid=\"", t, "\"; ");
		FUZZ_CHECK(find1(NULL, NULL, s, one) == 1 && strcmp(one, t) == 0);
		free(s);
	}
	/* Precedence holds with the real token in a later header too. */
	if (h[0] != NULL && find1(h[0], NULL, NULL, one) == 1) {
		FUZZ_CHECK(find1(h[0], t, NULL, all) == 1 &&
		    strcmp(all, one) == 0);
	}
	for (i = 0; i < 3; i++)
		free(h[i]);
	return 0;
}
