/*
 * test_migrate.c -- sql_split.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "migrate.h"

#define MAXS	8

struct stmts {
	int	 n;
	char	 s[MAXS][256];	/* trimmed of surrounding whitespace */
	int	 stop_at;
};

static int
collect(const char *stmt, size_t len, void *arg)
{
	struct stmts	*st = arg;

	if (st->n >= MAXS || len >= 256)
		return 99;
	while (len > 0 && isspace((unsigned char)*stmt)) {
		stmt++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)stmt[len - 1]))
		len--;
	memcpy(st->s[st->n], stmt, len);
	st->s[st->n][len] = '\0';
	st->n++;
	return st->stop_at == st->n ? 5 : 0;
}

static int
split(const char *sql, struct stmts *st)
{
	memset(st, 0, sizeof(*st));
	return sql_split(sql, strlen(sql), collect, st);
}

static void
test_split(void)
{
	struct stmts	 st;

	CHECK(split("", &st) == 0 && st.n == 0);
	CHECK(split("  \n\t ", &st) == 0 && st.n == 0);
	CHECK(split(";;;", &st) == 0 && st.n == 0);
	CHECK(split("SELECT 1;", &st) == 0 && st.n == 1);
	CHECK_STR(st.s[0], "SELECT 1");
	CHECK(split("SELECT 1; SELECT 2;", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "SELECT 1");
	CHECK_STR(st.s[1], "SELECT 2");
	/* A last statement without ';'. */
	CHECK(split("SELECT 1;\nSELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[1], "SELECT 2");
	/* The semicolon is not passed (exact bytes, no trim needed). */
	{
		struct stmts	 raw;

		memset(&raw, 0, sizeof(raw));
		CHECK(sql_split("A;B", 3, collect, &raw) == 0 && raw.n == 2 &&
		    strcmp(raw.s[0], "A") == 0 && strcmp(raw.s[1], "B") == 0);
		/* n bounds the text. */
		memset(&raw, 0, sizeof(raw));
		CHECK(sql_split("A;B;C", 3, collect, &raw) == 0 && raw.n == 2);
	}

	/* Quotes. */
	CHECK(split("INSERT INTO t VALUES ('a;b'); SELECT 2;", &st) == 0 &&
	    st.n == 2);
	CHECK_STR(st.s[0], "INSERT INTO t VALUES ('a;b')");
	CHECK(split("SELECT 'it''s; fine'; SELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "SELECT 'it''s; fine'");
	CHECK(split("CREATE TABLE \"we;ird\" (x int); SELECT 2", &st) == 0 &&
	    st.n == 2);
	CHECK_STR(st.s[0], "CREATE TABLE \"we;ird\" (x int)");
	CHECK(split("SELECT \"a\"\"b;\" FROM t; SELECT 2", &st) == 0 &&
	    st.n == 2);
	/* E'' strings with backslash escapes. */
	CHECK(split("SELECT E'\\';'; SELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "SELECT E'\\';'");
	CHECK(split("SELECT e'a\\\\'; SELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "SELECT e'a\\\\'");
	/* In a standard string a backslash is just a character. */
	CHECK(split("SELECT 'a\\'; SELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "SELECT 'a\\'");
	CHECK(split("UPDATE t SET name='a\\' WHERE type='x'; SELECT 2", &st) ==
	    0 && st.n == 2);
	CHECK_STR(st.s[0], "UPDATE t SET name='a\\' WHERE type='x'");
	CHECK(split("SELECT date'2020-01-01'; SELECT 2", &st) == 0 &&
	    st.n == 2);

	/* Dollar quotes. */
	CHECK(split("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ "
	    "LANGUAGE sql; SELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ "
	    "LANGUAGE sql");
	CHECK(split("DO $body$ BEGIN PERFORM 1; $$ not end; END $body$; "
	    "SELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "DO $body$ BEGIN PERFORM 1; $$ not end; END $body$");
	CHECK(split("SELECT $a$x;y$a$;SELECT $_b1$;$_b1$", &st) == 0 &&
	    st.n == 2);
	CHECK_STR(st.s[1], "SELECT $_b1$;$_b1$");
	/* $1 is a parameter, not a dollar quote. */
	CHECK(split("PREPARE p AS SELECT $1; SELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "PREPARE p AS SELECT $1");

	/* Comments. */
	CHECK(split("SELECT 1; -- a comment; with semicolons\nSELECT 2;",
	    &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "SELECT 1");
	CHECK(strstr(st.s[1], "SELECT 2") != NULL);
	CHECK(split("SELECT /* ; */ 1; SELECT 2", &st) == 0 && st.n == 2);
	CHECK_STR(st.s[0], "SELECT /* ; */ 1");
	CHECK(split("SELECT /* a /* nested; */ still; */ 1; SELECT 2", &st) ==
	    0 && st.n == 2);
	CHECK_STR(st.s[0], "SELECT /* a /* nested; */ still; */ 1");
	CHECK(split("SELECT '--;' ; SELECT '/*'; SELECT 3", &st) == 0 &&
	    st.n == 3);
	CHECK_STR(st.s[1], "SELECT '/*'");
	/* Comment-only statements are skipped. */
	CHECK(split("-- header\n;SELECT 1;/* only */;  -- tail", &st) == 0 &&
	    st.n == 1);
	CHECK_STR(st.s[0], "SELECT 1");
	CHECK(split("-- just a comment", &st) == 0 && st.n == 0);
	CHECK(split("/* a */ /* b */ ; -- c\n ;", &st) == 0 && st.n == 0);

	/* Unterminated quote, dollar quote or comment. */
	CHECK(split("SELECT 'abc; SELECT 2", &st) == -1);
	CHECK(split("SELECT \"abc", &st) == -1);
	CHECK(split("SELECT E'abc\\'", &st) == -1);
	CHECK(split("DO $$ BEGIN", &st) == -1);
	CHECK(split("DO $x$ BEGIN $y$", &st) == -1);
	CHECK(split("SELECT 1 /* open", &st) == -1);
	CHECK(split("SELECT 1 /* /* */", &st) == -1);
	CHECK(split("SELECT 1; SELECT '", &st) == -1);

	/* Callback stop value. */
	memset(&st, 0, sizeof(st));
	st.stop_at = 1;
	CHECK(sql_split("A;B;C", 5, collect, &st) == 5 && st.n == 1);
	memset(&st, 0, sizeof(st));
	st.stop_at = 3;
	CHECK(sql_split("A;B;C", 5, collect, &st) == 5 && st.n == 3);
}

int
main(void)
{
	test_split();
	return check_done("test_migrate");
}
