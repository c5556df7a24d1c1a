/*
 * test_form.c -- form_each (application/x-www-form-urlencoded).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "form.h"

#define MAXP	8

struct pairs {
	int	 n;
	char	 name[MAXP][64];
	size_t	 nl[MAXP];
	char	 val[MAXP][64];
	size_t	 vl[MAXP];
	int	 nul_ok[MAXP];	/* name and value NUL-terminated */
	int	 stop_at;	/* return 7 on this call (1-based), 0: never */
};

static int
collect(const char *name, size_t nl, const char *val, size_t vl, void *arg)
{
	struct pairs	*p = arg;

	if (p->n >= MAXP || nl >= 64 || vl >= 64)
		return 99;
	memcpy(p->name[p->n], name, nl + 1);
	memcpy(p->val[p->n], val, vl + 1);
	p->nl[p->n] = nl;
	p->vl[p->n] = vl;
	p->nul_ok[p->n] = name[nl] == '\0' && val[vl] == '\0';
	p->n++;
	if (p->stop_at != 0 && p->n == p->stop_at)
		return 7;
	return 0;
}

static int
run(const char *s, struct pairs *p)
{
	memset(p, 0, sizeof(*p));
	return form_each(s, strlen(s), collect, p);
}

/* Is pair i name=val (both NUL-free here)? */
static int
is_pair(const struct pairs *p, int i, const char *name, const char *val)
{
	return i < p->n && p->nl[i] == strlen(name) &&
	    strcmp(p->name[i], name) == 0 && p->vl[i] == strlen(val) &&
	    strcmp(p->val[i], val) == 0 && p->nul_ok[i];
}

static void
test_pairs(void)
{
	struct pairs	 p;

	CHECK(run("", &p) == 0 && p.n == 0);
	CHECK(run("a=1", &p) == 0 && p.n == 1 && is_pair(&p, 0, "a", "1"));
	CHECK(run("a=1&b=2&c=3", &p) == 0 && p.n == 3);
	CHECK(is_pair(&p, 0, "a", "1"));
	CHECK(is_pair(&p, 1, "b", "2"));
	CHECK(is_pair(&p, 2, "c", "3"));
	/* Order and duplicates are passed through as given. */
	CHECK(run("x=1&x=2", &p) == 0 && p.n == 2 &&
	    is_pair(&p, 0, "x", "1") && is_pair(&p, 1, "x", "2"));
	/* Split at the first '=' only. */
	CHECK(run("a=b=c", &p) == 0 && p.n == 1 && is_pair(&p, 0, "a", "b=c"));
	/* Empty value, empty name. */
	CHECK(run("a=", &p) == 0 && p.n == 1 && is_pair(&p, 0, "a", ""));
	CHECK(run("=v", &p) == 0 && p.n == 1 && is_pair(&p, 0, "", "v"));
	/* A name without '=': empty value. */
	CHECK(run("flag", &p) == 0 && p.n == 1 && is_pair(&p, 0, "flag", ""));
	CHECK(run("flag&a=1", &p) == 0 && p.n == 2 &&
	    is_pair(&p, 0, "flag", "") && is_pair(&p, 1, "a", "1"));
}

static void
test_empty_pairs(void)
{
	struct pairs	 p;

	CHECK(run("&", &p) == 0 && p.n == 0);
	CHECK(run("&&&", &p) == 0 && p.n == 0);
	CHECK(run("&a=1", &p) == 0 && p.n == 1 && is_pair(&p, 0, "a", "1"));
	CHECK(run("a=1&", &p) == 0 && p.n == 1 && is_pair(&p, 0, "a", "1"));
	CHECK(run("a=1&&b=2", &p) == 0 && p.n == 2 &&
	    is_pair(&p, 0, "a", "1") && is_pair(&p, 1, "b", "2"));
	CHECK(run("&&a=1&&&b=2&&", &p) == 0 && p.n == 2 &&
	    is_pair(&p, 0, "a", "1") && is_pair(&p, 1, "b", "2"));
}

static void
test_decoding(void)
{
	struct pairs	 p;

	CHECK(run("a=hello+world", &p) == 0 && is_pair(&p, 0, "a",
	    "hello world"));
	CHECK(run("my+name=x", &p) == 0 && is_pair(&p, 0, "my name", "x"));
	CHECK(run("a=%20", &p) == 0 && is_pair(&p, 0, "a", " "));
	CHECK(run("a=%2B", &p) == 0 && is_pair(&p, 0, "a", "+"));
	CHECK(run("a=%2b", &p) == 0 && is_pair(&p, 0, "a", "+"));
	CHECK(run("a=%26%3D", &p) == 0 && p.n == 1 &&
	    is_pair(&p, 0, "a", "&="));
	CHECK(run("%61=%62", &p) == 0 && is_pair(&p, 0, "a", "b"));
	CHECK(run("a=%25", &p) == 0 && is_pair(&p, 0, "a", "%"));
	CHECK(run("a=%2525", &p) == 0 && is_pair(&p, 0, "a", "%25"));
	/* UTF-8 bytes: 微信 */
	CHECK(run("n=%E5%BE%AE%E4%BF%A1", &p) == 0 &&
	    is_pair(&p, 0, "n", "\xe5\xbe\xae\xe4\xbf\xa1"));
	/* Raw (unencoded) UTF-8 passes through. */
	CHECK(run("n=\xe5\xbe\xae", &p) == 0 &&
	    is_pair(&p, 0, "n", "\xe5\xbe\xae"));
	/* %FF is a byte, not validated here. */
	CHECK(run("a=%ff", &p) == 0 && p.vl[0] == 1 &&
	    (unsigned char)p.val[0][0] == 0xff);
	/* An escape at the very end. */
	CHECK(run("a=x%41", &p) == 0 && is_pair(&p, 0, "a", "xA"));
}

static void
test_bad_escapes(void)
{
	struct pairs	 p;

	CHECK(run("a=%", &p) == -1 && p.n == 0);
	CHECK(run("a=%4", &p) == -1 && p.n == 0);
	CHECK(run("a=%zz", &p) == -1 && p.n == 0);
	CHECK(run("a=%4z", &p) == -1);
	CHECK(run("a=%z4", &p) == -1);
	CHECK(run("a=%%41", &p) == -1);
	CHECK(run("%=1", &p) == -1);
	CHECK(run("%g0=1", &p) == -1);
	CHECK(run("a=%4&b=1", &p) == -1 && p.n == 0);
	CHECK(run("a=%&b=1", &p) == -1 && p.n == 0);
	CHECK(run("a=% 1", &p) == -1);
	CHECK(run("a=%+1", &p) == -1);
	/* The pairs before the bad one were delivered, then -1. */
	CHECK(run("a=1&b=%", &p) == -1 && p.n == 1 && is_pair(&p, 0, "a", "1"));
	/* Only n bytes count: "%41" cut to "%4" is malformed. */
	memset(&p, 0, sizeof(p));
	CHECK(form_each("a=%41", 4, collect, &p) == -1);
	memset(&p, 0, sizeof(p));
	CHECK(form_each("a=1&b=2", 3, collect, &p) == 0 && p.n == 1 &&
	    is_pair(&p, 0, "a", "1"));
}

static void
test_nul(void)
{
	struct pairs	 p;

	CHECK(run("a=x%00y", &p) == 0 && p.n == 1);
	CHECK(p.nl[0] == 1 && strcmp(p.name[0], "a") == 0);
	CHECK(p.vl[0] == 3 && memcmp(p.val[0], "x\0y", 4) == 0);
	CHECK(run("a%00b=1", &p) == 0 && p.n == 1);
	CHECK(p.nl[0] == 3 && memcmp(p.name[0], "a\0b", 4) == 0);
	CHECK(p.vl[0] == 1 && strcmp(p.val[0], "1") == 0);
	CHECK(run("z=%00", &p) == 0 && p.vl[0] == 1 && p.val[0][0] == '\0' &&
	    p.val[0][1] == '\0');
}

static void
test_stop(void)
{
	struct pairs	 p;

	memset(&p, 0, sizeof(p));
	p.stop_at = 1;
	CHECK(form_each("a=1&b=2&c=3", 11, collect, &p) == 7 && p.n == 1);
	memset(&p, 0, sizeof(p));
	p.stop_at = 2;
	CHECK(form_each("a=1&b=2&c=3", 11, collect, &p) == 7 && p.n == 2);
	/* A stop before a later bad escape wins: the escape is never seen. */
	memset(&p, 0, sizeof(p));
	p.stop_at = 1;
	CHECK(form_each("a=1&b=%", 7, collect, &p) == 7 && p.n == 1);
}

int
main(void)
{
	test_pairs();
	test_empty_pairs();
	test_decoding();
	test_bad_escapes();
	test_nul();
	test_stop();
	return check_done("test_form");
}
