/*
 * test_parse.c -- parse_long, parse_long_n, utf8_count, utf8_has_control.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "parse.h"

/* parse_long over the whole long range; returns rc, value in *out. */
static int
pl(const char *s, long *out)
{
	return parse_long(s, LONG_MIN, LONG_MAX, out);
}

static void
test_parse_long(void)
{
	long	 v;

	v = 7; CHECK(pl("0", &v) == 0 && v == 0);
	v = 7; CHECK(pl("1", &v) == 0 && v == 1);
	v = 7; CHECK(pl("-1", &v) == 0 && v == -1);
	v = 7; CHECK(pl("-0", &v) == 0 && v == 0);
	v = 7; CHECK(pl("123456", &v) == 0 && v == 123456);
	v = 7; CHECK(pl("007", &v) == 0 && v == 7);

	/* Refused, and *out untouched. */
	v = 42; CHECK(pl("", &v) == -1 && v == 42);
	v = 42; CHECK(pl("-", &v) == -1 && v == 42);
	v = 42; CHECK(pl("+1", &v) == -1 && v == 42);
	v = 42; CHECK(pl(" 1", &v) == -1 && v == 42);
	v = 42; CHECK(pl("1 ", &v) == -1 && v == 42);
	v = 42; CHECK(pl("1x", &v) == -1 && v == 42);
	v = 42; CHECK(pl("x1", &v) == -1 && v == 42);
	v = 42; CHECK(pl("--1", &v) == -1 && v == 42);
	v = 42; CHECK(pl("1-", &v) == -1 && v == 42);
	v = 42; CHECK(pl("0x10", &v) == -1 && v == 42);
	v = 42; CHECK(pl("1.0", &v) == -1 && v == 42);
	v = 42; CHECK(pl("1e3", &v) == -1 && v == 42);
	v = 42; CHECK(pl("\t1", &v) == -1 && v == 42);
	v = 42; CHECK(pl("1\n", &v) == -1 && v == 42);

	/* The extremes of long. */
	v = 7; CHECK(pl("9223372036854775807", &v) == 0 && v == LONG_MAX);
	v = 7; CHECK(pl("-9223372036854775808", &v) == 0 && v == LONG_MIN);
	v = 7; CHECK(pl("9223372036854775806", &v) == 0 &&
	    v == LONG_MAX - 1);
	v = 7; CHECK(pl("-9223372036854775807", &v) == 0 &&
	    v == LONG_MIN + 1);
	/* One past them, and far past (overflow must not wrap). */
	v = 42; CHECK(pl("9223372036854775808", &v) == -1 && v == 42);
	v = 42; CHECK(pl("-9223372036854775809", &v) == -1 && v == 42);
	v = 42; CHECK(pl("9999999999999999999", &v) == -1 && v == 42);
	v = 42; CHECK(pl("18446744073709551615", &v) == -1 && v == 42);
	v = 42; CHECK(pl("18446744073709551617", &v) == -1 && v == 42);
	v = 42; CHECK(pl("-18446744073709551616", &v) == -1 && v == 42);
	v = 42; CHECK(pl("99999999999999999999999999", &v) == -1 && v == 42);
	/* 19 digits with leading zeros is fine, 20 digits is not. */
	v = 7; CHECK(pl("0000000000000000001", &v) == 0 && v == 1);
	v = 42; CHECK(pl("00000000000000000001", &v) == -1 && v == 42);

	/* Bounds are inclusive. */
	v = 7; CHECK(parse_long("1", 1, 10, &v) == 0 && v == 1);
	v = 7; CHECK(parse_long("10", 1, 10, &v) == 0 && v == 10);
	v = 42; CHECK(parse_long("0", 1, 10, &v) == -1 && v == 42);
	v = 42; CHECK(parse_long("11", 1, 10, &v) == -1 && v == 42);
	v = 42; CHECK(parse_long("-1", 0, 10, &v) == -1 && v == 42);
	v = 7; CHECK(parse_long("-5", -5, -1, &v) == 0 && v == -5);
	v = 42; CHECK(parse_long("-6", -5, -1, &v) == -1 && v == 42);
	v = 42; CHECK(parse_long("0", -5, -1, &v) == -1 && v == 42);
	v = 42; CHECK(parse_long("9223372036854775807", 0, 100, &v) == -1 &&
	    v == 42);
	v = 42; CHECK(parse_long("-9223372036854775808", 0, 100, &v) == -1 &&
	    v == 42);
}

static void
test_parse_long_n(void)
{
	long	 v;

	/* Only n bytes are read: no terminator needed, no prefix accepted. */
	v = 7; CHECK(parse_long_n("123abc", 3, 0, 1000, &v) == 0 && v == 123);
	v = 42; CHECK(parse_long_n("123abc", 4, 0, 1000, &v) == -1 && v == 42);
	v = 7; CHECK(parse_long_n("12", 1, 0, 1000, &v) == 0 && v == 1);
	v = 42; CHECK(parse_long_n("12", 0, 0, 1000, &v) == -1 && v == 42);
	v = 42; CHECK(parse_long_n("-5", 1, -10, 10, &v) == -1 && v == 42);
	v = 7; CHECK(parse_long_n("-5", 2, -10, 10, &v) == 0 && v == -5);
	/* An embedded NUL is not a digit. */
	v = 42; CHECK(parse_long_n("1\0002", 3, 0, 1000, &v) == -1 && v == 42);
	/* Unterminated buffer: exactly the bytes given. */
	{
		char	 b[4] = { '9', '8', '7', '6' };

		v = 7; CHECK(parse_long_n(b, sizeof(b), 0, 10000, &v) == 0 &&
		    v == 9876);
	}
	v = 7; CHECK(parse_long_n("9223372036854775807", 19, LONG_MIN,
	    LONG_MAX, &v) == 0 && v == LONG_MAX);
	v = 7; CHECK(parse_long_n("-9223372036854775808", 20, LONG_MIN,
	    LONG_MAX, &v) == 0 && v == LONG_MIN);
	v = 42; CHECK(parse_long_n("9223372036854775808", 19, LONG_MIN,
	    LONG_MAX, &v) == -1 && v == 42);
}

static void
test_utf8_count(void)
{
	/* ASCII */
	CHECK(utf8_count("", 0) == 0);
	CHECK(utf8_count("hello", 5) == 5);
	CHECK(utf8_count("a\0b", 3) == 3);	/* NUL is a valid code point */
	/* 2-byte: é U+00E9 */
	CHECK(utf8_count("\xc3\xa9", 2) == 1);
	/* Chinese: 微信 (3 bytes each) */
	CHECK(utf8_count("\xe5\xbe\xae\xe4\xbf\xa1", 6) == 2);
	CHECK(utf8_count("a\xe5\xbe\xae" "b", 5) == 3);
	/* Emoji U+1F600, 4 bytes */
	CHECK(utf8_count("\xf0\x9f\x98\x80", 4) == 1);
	CHECK(utf8_count("x\xf0\x9f\x98\x80y", 6) == 3);
	/* Boundaries that are valid */
	CHECK(utf8_count("\x7f", 1) == 1);
	CHECK(utf8_count("\xc2\x80", 2) == 1);		/* U+0080 */
	CHECK(utf8_count("\xdf\xbf", 2) == 1);		/* U+07FF */
	CHECK(utf8_count("\xe0\xa0\x80", 3) == 1);	/* U+0800 */
	CHECK(utf8_count("\xed\x9f\xbf", 3) == 1);	/* U+D7FF */
	CHECK(utf8_count("\xee\x80\x80", 3) == 1);	/* U+E000 */
	CHECK(utf8_count("\xef\xbf\xbf", 3) == 1);	/* U+FFFF */
	CHECK(utf8_count("\xf0\x90\x80\x80", 4) == 1);	/* U+10000 */
	CHECK(utf8_count("\xf4\x8f\xbf\xbf", 4) == 1);	/* U+10FFFF */

	/* Overlong forms */
	CHECK(utf8_count("\xc0\x80", 2) == -1);
	CHECK(utf8_count("\xc1\xbf", 2) == -1);
	CHECK(utf8_count("\xe0\x80\x80", 3) == -1);
	CHECK(utf8_count("\xe0\x9f\xbf", 3) == -1);
	CHECK(utf8_count("\xf0\x80\x80\x80", 4) == -1);
	CHECK(utf8_count("\xf0\x8f\xbf\xbf", 4) == -1);
	/* Surrogates */
	CHECK(utf8_count("\xed\xa0\x80", 3) == -1);	/* U+D800 */
	CHECK(utf8_count("\xed\xbf\xbf", 3) == -1);	/* U+DFFF */
	CHECK(utf8_count("\xed\xa0\xbd\xed\xb8\x80", 6) == -1); /* CESU */
	/* Beyond U+10FFFF */
	CHECK(utf8_count("\xf4\x90\x80\x80", 4) == -1);
	CHECK(utf8_count("\xf5\x80\x80\x80", 4) == -1);
	CHECK(utf8_count("\xf7\xbf\xbf\xbf", 4) == -1);
	CHECK(utf8_count("\xf8\x88\x80\x80\x80", 5) == -1);
	/* Stray bytes */
	CHECK(utf8_count("\x80", 1) == -1);
	CHECK(utf8_count("\xbf", 1) == -1);
	CHECK(utf8_count("\xfe", 1) == -1);
	CHECK(utf8_count("\xff", 1) == -1);
	CHECK(utf8_count("a\x80" "b", 3) == -1);
	/* Truncated sequences (n cuts them short) */
	CHECK(utf8_count("\xe5\xbe\xae", 2) == -1);
	CHECK(utf8_count("\xe5\xbe\xae", 1) == -1);
	CHECK(utf8_count("\xf0\x9f\x98\x80", 3) == -1);
	CHECK(utf8_count("\xc3\xa9", 1) == -1);
	CHECK(utf8_count("ab\xe5", 3) == -1);
	/* Continuation replaced by a non-continuation */
	CHECK(utf8_count("\xe5" "a" "\xae", 3) == -1);
	CHECK(utf8_count("\xc3\xc3", 2) == -1);
	CHECK(utf8_count("\xf0\x9f\x98" "a", 4) == -1);
}

static void
test_utf8_has_control(void)
{
	CHECK(utf8_has_control("", 0) == 0);
	CHECK(utf8_has_control("hello world", 11) == 0);
	CHECK(utf8_has_control("O'Brien; DROP TABLE users;--", 28) == 0);
	CHECK(utf8_has_control("\xe5\xbe\xae\xe4\xbf\xa1", 6) == 0);
	CHECK(utf8_has_control("\xf0\x9f\x98\x80", 4) == 0);
	CHECK(utf8_has_control("~", 1) == 0);		/* 0x7e */
	CHECK(utf8_has_control(" ", 1) == 0);		/* 0x20 */
	CHECK(utf8_has_control("\xc2\xa0", 2) == 0);	/* U+00A0 NBSP */
	/* C0 */
	CHECK(utf8_has_control("a\0b", 3) == 1);
	CHECK(utf8_has_control("a\nb", 3) == 1);
	CHECK(utf8_has_control("\t", 1) == 1);
	CHECK(utf8_has_control("\r", 1) == 1);
	CHECK(utf8_has_control("\x1b[0m", 4) == 1);
	CHECK(utf8_has_control("\x1f", 1) == 1);
	/* DEL */
	CHECK(utf8_has_control("ab\x7f", 3) == 1);
	/* C1, as code points */
	CHECK(utf8_has_control("\xc2\x80", 2) == 1);	/* U+0080 */
	CHECK(utf8_has_control("\xc2\x85", 2) == 1);	/* U+0085 NEL */
	CHECK(utf8_has_control("\xc2\x9f", 2) == 1);	/* U+009F */
	CHECK(utf8_has_control("\xe5\xbe\xae\xc2\x9b", 5) == 1);
	/* Only n bytes are looked at */
	CHECK(utf8_has_control("ab\n", 2) == 0);
}

int
main(void)
{
	test_parse_long();
	test_parse_long_n();
	test_utf8_count();
	test_utf8_has_control();
	return check_done("test_parse");
}
