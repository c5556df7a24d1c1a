/*
 * test_multipart.c -- multipart_boundary and multipart_each.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "multipart.h"

#define MAXP	MP_PARTS_MAX

struct parts {
	int		 n;
	struct mp_part	 p[MAXP];
	int		 stop_at;	/* return 5 on this call, 0: never */
};

static int
collect(const struct mp_part *p, void *arg)
{
	struct parts	*ps = arg;

	if (ps->n < MAXP)
		ps->p[ps->n] = *p;
	ps->n++;
	return ps->stop_at != 0 && ps->n == ps->stop_at ? 5 : 0;
}

static int
each(const char *body, const char *b, struct parts *ps)
{
	memset(ps, 0, sizeof(*ps));
	return multipart_each((const uint8_t *)body, strlen(body), b, collect,
	    ps);
}

/* Does field (ptr, len) equal s? */
static int
eq(const void *p, size_t len, const char *s)
{
	return p != NULL && len == strlen(s) && memcmp(p, s, len) == 0;
}

static void
test_boundary(void)
{
	char	 b[MP_BOUNDARY_MAX + 1];

	CHECK(multipart_boundary("multipart/form-data; boundary=abc", b) == 0);
	CHECK_STR(b, "abc");
	CHECK(multipart_boundary("Multipart/Form-Data;boundary=\"a b:c\"", b) ==
	    0);
	CHECK_STR(b, "a b:c");
	CHECK(multipart_boundary("multipart/form-data; charset=utf-8; "
	    "boundary=----WebKitFormBoundaryXyZ09", b) == 0);
	CHECK_STR(b, "----WebKitFormBoundaryXyZ09");
	CHECK(multipart_boundary("multipart/form-data; x=\"a;boundary=no\"; "
	    "boundary=yes", b) == 0);
	CHECK_STR(b, "yes");
	/* Not multipart/form-data, or no usable boundary. */
	CHECK(multipart_boundary(NULL, b) == -1);
	CHECK(multipart_boundary("application/json", b) == -1);
	CHECK(multipart_boundary("multipart/mixed; boundary=abc", b) == -1);
	CHECK(multipart_boundary("multipart/form-data", b) == -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=", b) == -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=\"abc", b) ==
	    -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=a\"b", b) == -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=\"ab \"", b) ==
	    -1);
	CHECK(multipart_boundary("multipart/form-data; boundary=a\x01z", b) ==
	    -1);
	/* 70 characters at most. */
	CHECK(multipart_boundary("multipart/form-data; boundary="
	    "0123456789012345678901234567890123456789012345678901234567890123456789",
	    b) == 0 && strlen(b) == 70);
	CHECK(multipart_boundary("multipart/form-data; boundary="
	    "01234567890123456789012345678901234567890123456789012345678901234567890",
	    b) == -1);
}

static void
test_parts(void)
{
	struct parts	 ps;

	/* As wx.uploadFile sends it: the file, then formData fields. */
	CHECK(each("--XX\r\n"
	    "Content-Disposition: form-data; name=\"file\"; "
	    "filename=\"tmp_1.png\"\r\n"
	    "Content-Type: image/png\r\n"
	    "\r\n"
	    "\x89PNG--XY\r\n--X\r\n"
	    "--XX\r\n"
	    "content-disposition: form-data; name=\"nick\"\r\n"
	    "\r\n"
	    "小明\r\n"
	    "--XX--\r\n", "XX", &ps) == 0);
	CHECK(ps.n == 2);
	CHECK(eq(ps.p[0].name, ps.p[0].name_len, "file"));
	CHECK(eq(ps.p[0].filename, ps.p[0].filename_len, "tmp_1.png"));
	CHECK(eq(ps.p[0].type, ps.p[0].type_len, "image/png"));
	/* Delimiter-like bytes inside the data are data. */
	CHECK(eq(ps.p[0].data, ps.p[0].len, "\x89PNG--XY\r\n--X"));
	CHECK(eq(ps.p[1].name, ps.p[1].name_len, "nick"));
	CHECK(ps.p[1].filename == NULL && ps.p[1].type == NULL);
	CHECK(eq(ps.p[1].data, ps.p[1].len, "小明"));

	/* A preamble, padding after a delimiter, an epilogue, empty data. */
	CHECK(each("preamble\r\n--b \t\r\n"
	    "Content-Disposition: form-data; name=a\r\n\r\n"
	    "\r\n--b--\r\nepilogue", "b", &ps) == 0);
	CHECK(ps.n == 1 && eq(ps.p[0].name, ps.p[0].name_len, "a") &&
	    ps.p[0].len == 0);
	/* No headers at all. */
	CHECK(each("--b\r\n\r\nhello\r\n--b--", "b", &ps) == 0);
	CHECK(ps.n == 1 && ps.p[0].name == NULL &&
	    eq(ps.p[0].data, ps.p[0].len, "hello"));
	/* Unknown headers are skipped; parameters in any order. */
	CHECK(each("--b\r\nX-Other: 1\r\nContent-Disposition: form-data; "
	    "filename=\"f;1\"; name=\"file\"\r\n\r\nD\r\n--b--", "b", &ps) == 0);
	CHECK(ps.n == 1 && eq(ps.p[0].name, ps.p[0].name_len, "file") &&
	    eq(ps.p[0].filename, ps.p[0].filename_len, "f;1"));
	/* The callback's non-zero ends the walk. */
	memset(&ps, 0, sizeof(ps));
	ps.stop_at = 1;
	CHECK(multipart_each((const uint8_t *)"--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n"
	    "--b--", 24, "b", collect, &ps) == 5 && ps.n == 1);
}

static void
test_malformed(void)
{
	struct parts	 ps;
	char		 many[4096];
	size_t		 n = 0;
	int		 i;

	CHECK(each("", "b", &ps) == -1);
	CHECK(each("no delimiter here", "b", &ps) == -1);
	CHECK(each("--b\r\n\r\nnever closed", "b", &ps) == -1);
	CHECK(each("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n"
	    "no blank line\r\n--b--", "b", &ps) == -1);
	CHECK(each("--bjunk\r\n\r\nx\r\n--b--", "b", &ps) == -1);
	CHECK(each("--b\r\nno colon\r\n\r\nx\r\n--b--", "b", &ps) == -1);
	CHECK(each("--b\r\nContent-Disposition: attachment; name=a\r\n\r\n"
	    "x\r\n--b--", "b", &ps) == -1);
	CHECK(each("--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\n"
	    "x\r\n--b--", "b", &ps) == 0 && ps.p[0].name == NULL);
	CHECK(each("--b\r\n\r\nx\r\n--b", "b", &ps) == -1);
	CHECK(multipart_each((const uint8_t *)"--b", 3, "", collect, &ps) ==
	    -1);
	/* At most MP_PARTS_MAX parts. */
	for (i = 0; i < MP_PARTS_MAX + 1; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n,
		    "--b\r\n\r\n%d\r\n", i);
	snprintf(many + n, sizeof(many) - n, "--b--");
	CHECK(each(many, "b", &ps) == -1 && ps.n == MP_PARTS_MAX);
	/* Headers of at most MP_HEADERS_MAX bytes. */
	n = (size_t)snprintf(many, sizeof(many), "--b\r\nX: ");
	memset(many + n, 'h', MP_HEADERS_MAX);
	n += MP_HEADERS_MAX;
	snprintf(many + n, sizeof(many) - n, "\r\n\r\nx\r\n--b--");
	CHECK(each(many, "b", &ps) == -1);
}

int
main(void)
{
	test_boundary();
	test_parts();
	test_malformed();
	return check_done("test_multipart");
}
