/*
 * fuzz_form.c -- form_each() (lib/form.h) on any bytes.
 *
 * Invariants: every pair form_each() reports is the one an independent
 * reading of the WHATWG rules gives (split on '&', skip empty pairs, name
 * and value at the first '=', '+' a space, %XX a byte, a bad escape fails
 * the whole input); names and values are terminated and no longer than the
 * input; a callback's non-zero return stops the walk and is returned;
 * percent-encoding the pairs again and decoding them gives the same pairs.
 */
#include "fuzz.h"
#include "form.h"
#include "log.h"

struct pair {
	char	*name, *val;
	size_t	 nl, vl;
};

struct pairs {
	struct pair	*v;
	size_t		 n, cap;
	size_t		 inlen;		/* bytes form_each() was given */
	size_t		 stop_at;	/* return stop_rc at this pair */
	int		 stop_rc;
};

static void
pairs_add(struct pairs *ps, const char *name, size_t nl, const char *val,
    size_t vl)
{
	struct pair	*p;

	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 8;
		if ((ps->v = realloc(ps->v, ps->cap * sizeof(*ps->v))) == NULL)
			abort();
	}
	p = &ps->v[ps->n++];
	p->name = fuzz_dup(name, nl);
	p->val = fuzz_dup(val, vl);
	p->nl = nl;
	p->vl = vl;
}

static void
pairs_free(struct pairs *ps)
{
	size_t	 i;

	for (i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].val);
	}
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

static int
collect(const char *name, size_t nl, const char *val, size_t vl, void *arg)
{
	struct pairs	*ps = arg;

	FUZZ_CHECK(name != NULL && val != NULL);
	FUZZ_CHECK(nl <= ps->inlen && vl <= ps->inlen && nl + vl <= ps->inlen);
	FUZZ_CHECK(name[nl] == '\0' && val[vl] == '\0');
	pairs_add(ps, name, nl, val, vl);
	if (ps->n - 1 == ps->stop_at)
		return ps->stop_rc;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The reference reading: a second implementation to compare against. */
static int
ref_decode(const uint8_t *s, size_t n, char **out, size_t *outlen)
{
	char	*o = malloc(n + 1);
	size_t	 i, k = 0;

	if (o == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (n - i < 3 || hexval(s[i + 1]) < 0 ||
			    hexval(s[i + 2]) < 0) {
				free(o);
				return -1;
			}
			o[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else
			o[k++] = s[i] == '+' ? ' ' : (char)s[i];
	}
	*out = o;
	*outlen = k;
	return 0;
}

static int
ref_pairs(const uint8_t *s, size_t n, struct pairs *ps)
{
	size_t	 i = 0, j, eq, nl, vl;
	char	*name, *val;

	while (i < n) {
		for (j = i; j < n && s[j] != '&'; j++)
			;
		if (j > i) {
			for (eq = i; eq < j && s[eq] != '='; eq++)
				;
			if (ref_decode(s + i, eq - i, &name, &nl) == -1)
				return -1;
			if (ref_decode(s + (eq < j ? eq + 1 : j),
			    eq < j ? j - eq - 1 : 0, &val, &vl) == -1) {
				free(name);
				return -1;
			}
			pairs_add(ps, name, nl, val, vl);
			free(name);
			free(val);
		}
		i = j + 1;
	}
	return 0;
}

static int
same_pairs(const struct pairs *a, const struct pairs *b)
{
	size_t	 i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->v[i].nl != b->v[i].nl || a->v[i].vl != b->v[i].vl ||
		    memcmp(a->v[i].name, b->v[i].name, a->v[i].nl) != 0 ||
		    memcmp(a->v[i].val, b->v[i].val, a->v[i].vl) != 0)
			return 0;
	return 1;
}

/* Percent-encode s into o (room for 3n); spaces as '+' or %20 by turns. */
static size_t
encode(const char *s, size_t n, char *o, int plus)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i, k = 0;
	unsigned char		 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			o[k++] = (char)c;
		else if (c == ' ' && plus)
			o[k++] = '+';
		else {
			o[k++] = '%';
			o[k++] = hex[c >> 4];
			o[k++] = hex[c & 15];
		}
	}
	return k;
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
	struct pairs	 got = { 0 }, ref = { 0 }, again = { 0 };
	char		*in, *enc;
	size_t		 i, k, total;
	int		 rc, rrc;

	in = fuzz_dup(data, size);
	got.inlen = size;
	got.stop_at = SIZE_MAX;
	rc = form_each(in, size, collect, &got);
	rrc = ref_pairs(data, size, &ref);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(rc == rrc);
	/* On a bad escape, the pairs before it were reported, not the rest. */
	FUZZ_CHECK(same_pairs(&got, &ref));
	if (rc == 0) {
		for (i = 0, total = 0; i < got.n; i++)
			total += got.v[i].nl + got.v[i].vl;
		FUZZ_CHECK(total <= size);
	}

	/* A callback's verdict stops the walk and is what form_each returns. */
	if (rc == 0 && got.n > 0) {
		struct pairs	 stop = { 0 };

		stop.inlen = size;
		stop.stop_at = (size_t)data[0] % got.n;
		stop.stop_rc = 1 + data[size - 1] % 100;
		FUZZ_CHECK(form_each(in, size, collect, &stop) == stop.stop_rc);
		FUZZ_CHECK(stop.n == stop.stop_at + 1);
		pairs_free(&stop);
	}

	/* Round trip: encode what was decoded, decode it again. */
	if (rc == 0) {
		for (i = 0, total = 0; i < got.n; i++)
			total += 3 * (got.v[i].nl + got.v[i].vl) + 2;
		if ((enc = malloc(total + 1)) == NULL)
			abort();
		for (i = 0, k = 0; i < got.n; i++) {
			if (i > 0)
				enc[k++] = '&';
			k += encode(got.v[i].name, got.v[i].nl, enc + k, i & 1);
			enc[k++] = '=';
			k += encode(got.v[i].val, got.v[i].vl, enc + k, !(i & 1));
		}
		again.inlen = k;
		again.stop_at = SIZE_MAX;
		FUZZ_CHECK(form_each(enc, k, collect, &again) == 0);
		/* An empty name with an empty value encodes as "=": kept. */
		FUZZ_CHECK(same_pairs(&got, &again));
		free(enc);
	}
	pairs_free(&got);
	pairs_free(&ref);
	pairs_free(&again);
	free(in);
	return 0;
}
