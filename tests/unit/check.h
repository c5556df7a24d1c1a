/*
 * check.h -- the smallest test harness: CHECK(expr) records a pass or a
 * failure (with file and line), check_done() prints the tally and gives
 * the exit status.
 */
#ifndef WXAUTH_CHECK_H
#define WXAUTH_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_pass, check_fail;

#define CHECK(e) do {							\
	if (e)								\
		check_pass++;						\
	else {								\
		check_fail++;						\
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #e); \
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *check_a_ = (a), *check_b_ = (b);			\
	if (check_a_ != NULL && check_b_ != NULL &&			\
	    strcmp(check_a_, check_b_) == 0)				\
		check_pass++;						\
	else {								\
		check_fail++;						\
		fprintf(stderr, "FAIL %s:%d: %s == %s (\"%s\" vs \"%s\")\n", \
		    __FILE__, __LINE__, #a, #b,				\
		    check_a_ ? check_a_ : "(null)",			\
		    check_b_ ? check_b_ : "(null)");			\
	}								\
} while (0)

/* Print "name: N passed, M failed" and return the exit status. */
static inline int
check_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, check_pass, check_fail);
	return check_fail == 0 && check_pass > 0 ? 0 : 1;
}

#endif
