/*
 * test_buf.c -- the bounded buffer.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "check.h"

static void
test_empty(void)
{
	struct buf	 b;

	buf_init(&b, 10);
	CHECK(b.len == 0 && b.max == 10 && b.p == NULL);
	CHECK(buf_str(&b) != NULL);
	CHECK_STR(buf_str(&b), "");
	buf_reset(&b);				/* on a never-used buffer */
	CHECK_STR(buf_str(&b), "");
	CHECK(b.len == 0);
	/* Adding nothing is fine and still gives "". */
	CHECK(buf_add(&b, "", 0) == 0 && b.len == 0);
	CHECK_STR(buf_str(&b), "");
	buf_free(&b);
	CHECK_STR(buf_str(&b), "");
	buf_free(&b);				/* twice is harmless */
}

static void
test_max(void)
{
	struct buf	 b;

	buf_init(&b, 8);
	CHECK(buf_adds(&b, "abcd") == 0);
	CHECK(buf_adds(&b, "efgh") == 0);	/* exactly max */
	CHECK(b.len == 8);
	CHECK_STR(buf_str(&b), "abcdefgh");
	CHECK(buf_adds(&b, "i") == -1);		/* one more */
	CHECK(b.len == 8);
	CHECK_STR(buf_str(&b), "abcdefgh");
	CHECK(buf_add(&b, "", 0) == 0 && b.len == 8);
	CHECK(buf_addf(&b, "%d", 1) == -1);
	CHECK_STR(buf_str(&b), "abcdefgh");
	CHECK(buf_addf(&b, "%s", "") == 0);
	CHECK_STR(buf_str(&b), "abcdefgh");
	buf_free(&b);

	/* One append of max + 1 bytes into an empty buffer. */
	buf_init(&b, 8);
	CHECK(buf_adds(&b, "123456789") == -1);
	CHECK(b.len == 0);
	CHECK_STR(buf_str(&b), "");
	CHECK(buf_adds(&b, "12345678") == 0 && b.len == 8);
	buf_free(&b);

	/* A failing append in the middle leaves what was there. */
	buf_init(&b, 5);
	CHECK(buf_adds(&b, "abc") == 0);
	CHECK(buf_adds(&b, "def") == -1);
	CHECK(b.len == 3);
	CHECK_STR(buf_str(&b), "abc");
	CHECK(buf_adds(&b, "de") == 0);
	CHECK_STR(buf_str(&b), "abcde");
	buf_free(&b);

	/* A huge n must not wrap around the check. */
	buf_init(&b, 16);
	CHECK(buf_adds(&b, "x") == 0);
	CHECK(buf_add(&b, "y", (size_t)-1) == -1);
	CHECK(buf_add(&b, "y", (size_t)-1 - 1) == -1);
	CHECK_STR(buf_str(&b), "x");
	buf_free(&b);

	/* max 0: nothing but "" fits. */
	buf_init(&b, 0);
	CHECK(buf_adds(&b, "a") == -1);
	CHECK(buf_adds(&b, "") == 0);
	CHECK_STR(buf_str(&b), "");
	buf_free(&b);
}

static void
test_binary_and_growth(void)
{
	struct buf	 b;
	char		 big[5000];
	size_t		 i;
	int		 ok = 1;

	buf_init(&b, 100);
	CHECK(buf_add(&b, "a\0b", 3) == 0);
	CHECK(b.len == 3 && memcmp(b.p, "a\0b", 4) == 0);
	buf_free(&b);

	/* Grows past the first allocation, terminator always there. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	buf_init(&b, sizeof(big));
	for (i = 0; i < sizeof(big); i += 100) {
		if (buf_add(&b, big + i, 100) != 0 || b.len != i + 100 ||
		    b.p[b.len] != '\0')
			ok = 0;
	}
	CHECK(ok);
	CHECK(b.len == sizeof(big) && memcmp(b.p, big, sizeof(big)) == 0);
	CHECK(b.cap >= b.len + 1);
	CHECK(buf_add(&b, "z", 1) == -1);
	buf_free(&b);
	CHECK(b.p == NULL && b.len == 0);
	/* Reusable after free, with the same max. */
	CHECK(buf_adds(&b, "again") == 0);
	CHECK_STR(buf_str(&b), "again");
	buf_free(&b);
}

static void
test_addf(void)
{
	struct buf	 b;
	char		 s[300];
	size_t		 n;

	buf_init(&b, 64);
	CHECK(buf_addf(&b, "%d-%s-%05.1f", 42, "x", 3.14159) == 0);
	CHECK_STR(buf_str(&b), "42-x-003.1");
	CHECK(b.len == 10);
	CHECK(buf_addf(&b, "|%ld|%zu", -7L, (size_t)9) == 0);
	CHECK_STR(buf_str(&b), "42-x-003.1|-7|9");
	CHECK(b.len == strlen("42-x-003.1|-7|9"));
	buf_free(&b);

	/* Exactly to max with addf, then one more. */
	buf_init(&b, 6);
	CHECK(buf_addf(&b, "%s", "abc") == 0);
	CHECK(buf_addf(&b, "%d", 123) == 0);
	CHECK_STR(buf_str(&b), "abc123");
	CHECK(buf_addf(&b, "%c", 'x') == -1);
	CHECK_STR(buf_str(&b), "abc123");
	CHECK(b.len == 6);
	buf_free(&b);

	/* addf text longer than the first allocation (1 KiB), from empty. */
	memset(s, 'q', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	buf_init(&b, 8000);
	CHECK(buf_addf(&b, "<%s|%s|%s|%s>", s, s, s, s) == 0);
	CHECK(b.len == 4 * (sizeof(s) - 1) + 5 && b.cap > 1024 &&
	    b.p[0] == '<' && b.p[b.len - 1] == '>' && b.p[b.len] == '\0' &&
	    b.p[sizeof(s)] == '|');
	buf_free(&b);

	/*
	 * Formatted where it is, in the room allocated, until it does not
	 * fit: then once more after growing (the first, cut, attempt leaves
	 * no trace).  Over max, the text so far stays as it was.
	 */
	buf_init(&b, 4000);
	CHECK(buf_adds(&b, "ab") == 0);
	CHECK(buf_addf(&b, "%d", 7) == 0);
	CHECK(b.len == 3 && b.cap > 3);
	memset(s, 'z', sizeof(s) - 1);
	n = 0;
	while (b.len + sizeof(s) < b.cap) {
		CHECK(buf_addf(&b, "%s", s) == 0);
		n++;
	}
	CHECK(buf_addf(&b, "%s|", s) == 0);
	CHECK(b.len == 3 + (n + 1) * (sizeof(s) - 1) + 1);
	CHECK(b.p[b.len - 1] == '|' && b.p[b.len - 2] == 'z' &&
	    b.p[b.len] == '\0' && memcmp(b.p, "ab7zz", 5) == 0);
	buf_free(&b);
	buf_init(&b, 10);
	CHECK(buf_adds(&b, "12345") == 0);
	CHECK(buf_addf(&b, "%s", "abcdefg") == -1);
	CHECK_STR(buf_str(&b), "12345");
	CHECK(b.len == 5);
	CHECK(buf_addf(&b, "%s", "abcde") == 0);
	CHECK_STR(buf_str(&b), "12345abcde");
	buf_free(&b);
}

static void
test_reset(void)
{
	struct buf	 b;

	buf_init(&b, 8);
	CHECK(buf_adds(&b, "abcdefgh") == 0);
	buf_reset(&b);
	CHECK(b.len == 0);
	CHECK_STR(buf_str(&b), "");
	/* The full max is available again. */
	CHECK(buf_adds(&b, "12345678") == 0);
	CHECK_STR(buf_str(&b), "12345678");
	CHECK(buf_adds(&b, "9") == -1);
	buf_reset(&b);
	CHECK(buf_addf(&b, "%s", "xy") == 0);
	CHECK_STR(buf_str(&b), "xy");
	buf_free(&b);
}

int
main(void)
{
	test_empty();
	test_max();
	test_binary_and_growth();
	test_addf();
	test_reset();
	return check_done("test_buf");
}
