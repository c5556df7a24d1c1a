/*
 * test_limit.c -- rate-limit keys and windows, and the client address
 * behind trusted proxies.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "limit.h"

static const char *
addr(const char *remote, const char *xff, const char *trusted)
{
	static char	 out[CLIENT_ADDR_MAX];

	memset(out, '#', sizeof(out));
	limit_client_addr(remote, xff, trusted, out);
	return out;
}

static void
test_keys(void)
{
	char	 k[LIMIT_KEY_MAX], big[LIMIT_KEY_MAX + 8];

	CHECK(limit_key(LIMIT_LOGIN_IP, "10.0.0.1", k) == 0);
	CHECK_STR(k, "login_ip:10.0.0.1");
	CHECK(limit_key(LIMIT_LOGIN_USER, "oAbc", k) == 0);
	CHECK_STR(k, "login_user:oAbc");
	CHECK(limit_key(LIMIT_PHONE_USER, "42", k) == 0);
	CHECK_STR(k, "phone_user:42");
	CHECK(limit_key(LIMIT_DECRYPT_FAIL, "ab", k) == 0);
	CHECK_STR(k, "decrypt_fail:ab");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(limit_key(LIMIT_LOGIN_USER, big, k) == -1);
	CHECK(limit_window(LIMIT_LOGIN_IP) == 60);
	CHECK(limit_window(LIMIT_LOGIN_USER) == 60);
	CHECK(limit_window(LIMIT_PHONE_USER) == 86400);
	CHECK(limit_window(LIMIT_DECRYPT_FAIL) == 60);
}

static void
test_client_addr(void)
{
	/* No trusted proxy: REMOTE_ADDR, whatever X-Forwarded-For says. */
	CHECK_STR(addr("203.0.113.7", "1.2.3.4", NULL), "203.0.113.7");
	CHECK_STR(addr("203.0.113.7", "1.2.3.4", ""), "203.0.113.7");
	CHECK_STR(addr("::1", NULL, "127.0.0.1"), "::1");
	/* REMOTE_ADDR not trusted: its X-Forwarded-For is not believed. */
	CHECK_STR(addr("198.51.100.1", "1.2.3.4", "127.0.0.1"), "198.51.100.1");
	/* Trusted: the rightmost hop that is not one of ours. */
	CHECK_STR(addr("127.0.0.1", "1.2.3.4", "127.0.0.1"), "1.2.3.4");
	CHECK_STR(addr("127.0.0.1", "9.9.9.9, 1.2.3.4", "127.0.0.1"), "1.2.3.4");
	CHECK_STR(addr("127.0.0.1", "9.9.9.9, 1.2.3.4, 10.0.0.2",
	    "127.0.0.1, 10.0.0.2"), "1.2.3.4");
	CHECK_STR(addr("127.0.0.1", " 2001:db8::1 ", "127.0.0.1"), "2001:db8::1");
	/* All hops ours: the leftmost one. */
	CHECK_STR(addr("127.0.0.1", "10.0.0.2", "127.0.0.1,10.0.0.2"),
	    "10.0.0.2");
	/* Garbage stops the walk at the last good hop. */
	CHECK_STR(addr("127.0.0.1", "1.2.3.4, <script>", "127.0.0.1"),
	    "127.0.0.1");
	CHECK_STR(addr("127.0.0.1", "evil, 1.2.3.4", "127.0.0.1"), "1.2.3.4");
	CHECK_STR(addr("127.0.0.1", "", "127.0.0.1"), "127.0.0.1");
	CHECK_STR(addr("127.0.0.1", ",,,", "127.0.0.1"), "127.0.0.1");
	CHECK_STR(addr("127.0.0.1", "1.2.3.4:5678", "127.0.0.1"), "1.2.3.4:5678");
	/* A spoofed prefix cannot hide the real client. */
	CHECK_STR(addr("127.0.0.1", "6.6.6.6, 5.5.5.5", "127.0.0.1"), "5.5.5.5");
	/* No or bad REMOTE_ADDR. */
	CHECK_STR(addr(NULL, "1.2.3.4", "127.0.0.1"), "-");
	CHECK_STR(addr("not an address", NULL, NULL), "-");
	CHECK_STR(addr("", NULL, NULL), "-");
}

static void
test_many_hops(void)
{
	char	 xff[4096];
	size_t	 i, n = 0;

	/* 100 hops of ours after the client: only the last 32 are walked. */
	n += (size_t)snprintf(xff, sizeof(xff), "1.1.1.1");
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(xff + n, sizeof(xff) - n, ", 10.0.0.2");
	CHECK_STR(addr("127.0.0.1", xff, "127.0.0.1,10.0.0.2"), "10.0.0.2");
	CHECK_STR(addr("127.0.0.1", "1.1.1.1, 10.0.0.2, 10.0.0.2",
	    "127.0.0.1,10.0.0.2"), "1.1.1.1");
}

int
main(void)
{
	test_keys();
	test_client_addr();
	test_many_hops();
	return check_done("test_limit");
}
