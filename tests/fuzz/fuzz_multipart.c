/*
 * fuzz_multipart.c -- multipart_boundary() and multipart_each()
 * (lib/multipart.h), and avatar_find_file() and avatar_sniff()
 * (lib/avatar.h), on any bytes.
 *
 * Input: a Content-Type, a NUL, the body.  Invariants: a boundary found is
 * 1..70 bchars not ending in a space; every part the walk reports lies
 * inside the body, its data is followed in the body by CRLF "--" boundary,
 * parts come in order without overlapping, there are at most MP_PARTS_MAX,
 * and name, filename and type lie inside the part's header block (between
 * the delimiter before the part and its data); a callback's non-zero return
 * stops the walk and is returned; the walk gives the same parts twice;
 * avatar_find_file()'s file is the first part named "file" of that walk,
 * and its count the number of such parts; avatar_sniff() names one of the
 * four types or none, and the same for the same bytes.
 */
#include "avatar.h"
#include "fuzz.h"
#include "multipart.h"

struct walk {
	const uint8_t	*body;
	size_t		 len;
	const uint8_t	*prev_end;	/* where the last part's data ended */
	struct mp_part	 p[MP_PARTS_MAX + 1];
	int		 n;
	int		 stop_at, files;
	const uint8_t	*first_file;
	size_t		 first_len;
};

static int
inside(const struct walk *w, const void *p, size_t n)
{
	const uint8_t	*q = p;

	return q >= w->body && n <= w->len && q - w->body <= (ptrdiff_t)(w->len - n);
}

static int
on_part(const struct mp_part *p, void *arg)
{
	struct walk	*w = arg;
	const uint8_t	*hdr = w->prev_end;

	FUZZ_CHECK(w->n < MP_PARTS_MAX);
	FUZZ_CHECK(inside(w, p->data, p->len));
	FUZZ_CHECK(p->data >= w->prev_end);
	if (p->name != NULL)
		FUZZ_CHECK((const uint8_t *)p->name >= hdr &&
		    (const uint8_t *)p->name + p->name_len <= p->data);
	if (p->filename != NULL)
		FUZZ_CHECK((const uint8_t *)p->filename >= hdr &&
		    (const uint8_t *)p->filename + p->filename_len <= p->data);
	if (p->type != NULL)
		FUZZ_CHECK((const uint8_t *)p->type >= hdr &&
		    (const uint8_t *)p->type + p->type_len <= p->data);
	if (p->name != NULL && p->name_len == 4 &&
	    memcmp(p->name, "file", 4) == 0 && w->files++ == 0) {
		w->first_file = p->data;
		w->first_len = p->len;
	}
	w->p[w->n++] = *p;
	w->prev_end = p->data + p->len;
	return w->stop_at != 0 && w->n == w->stop_at ? 9 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*p = data;
	size_t			 n = size, bl, i;
	char			*ct, b[MP_BOUNDARY_MAX + 1], delim[MP_BOUNDARY_MAX + 5];
	uint8_t			*body;
	struct walk		 w, w2;
	struct avatar_upload	 up;
	const char		*t1, *t2;
	int			 rc, rc2;

	ct = fuzz_part(&p, &n, NULL);
	body = (uint8_t *)fuzz_dup(p, n);

	t1 = avatar_sniff(body, n);
	t2 = avatar_sniff(body, n);
	FUZZ_CHECK(t1 == t2);
	FUZZ_CHECK(t1 == NULL || strcmp(t1, "image/jpeg") == 0 ||
	    strcmp(t1, "image/png") == 0 || strcmp(t1, "image/gif") == 0 ||
	    strcmp(t1, "image/webp") == 0);

	if (multipart_boundary(ct, b) == 0) {
		bl = strlen(b);
		FUZZ_CHECK(bl >= 1 && bl <= MP_BOUNDARY_MAX && b[bl - 1] != ' ');
		for (i = 0; i < bl; i++)
			FUZZ_CHECK(b[i] >= ' ' && b[i] < 0x7f && b[i] != '"' &&
			    b[i] != ';' && b[i] != '\\');
		memset(&w, 0, sizeof(w));
		w.body = body;
		w.len = n;
		w.prev_end = body;
		rc = multipart_each(body, n, b, on_part, &w);
		FUZZ_CHECK(rc == 0 || rc == -1);
		/* Each part's data ends at a delimiter. */
		snprintf(delim, sizeof(delim), "\r\n--%s", b);
		for (i = 0; i < (size_t)w.n; i++) {
			const uint8_t	*e = w.p[i].data + w.p[i].len;

			FUZZ_CHECK((size_t)(body + n - e) >= bl + 4 &&
			    memcmp(e, delim, bl + 4) == 0);
		}
		/* The same walk again, stopped at the last part. */
		memset(&w2, 0, sizeof(w2));
		w2.body = body;
		w2.len = n;
		w2.prev_end = body;
		w2.stop_at = w.n;
		rc2 = multipart_each(body, n, b, on_part, &w2);
		FUZZ_CHECK(w2.n == w.n);
		FUZZ_CHECK(w.n == 0 ? rc2 == rc : rc2 == 9);
		for (i = 0; i < (size_t)w.n; i++)
			FUZZ_CHECK(w2.p[i].data == w.p[i].data &&
			    w2.p[i].len == w.p[i].len);
		/* The avatar's file part is the walk's first "file". */
		rc2 = avatar_find_file(ct, body, n, &up);
		FUZZ_CHECK(rc2 == rc);
		if (rc == 0) {
			FUZZ_CHECK(up.files == w.files);
			FUZZ_CHECK(up.data == w.first_file &&
			    up.len == w.first_len);
		}
	} else
		FUZZ_CHECK(avatar_find_file(ct, body, n, &up) == -1);
	free(ct);
	free(body);
	return 0;
}
