/*
 * test_limit.c -- rate-limit keys and windows, and the client address
 * behind trusted proxies.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* ---- counting ahead of the database ---- */

/* The database's counter of one key, and one hit as limit_take() makes it. */
static long	 db_total;

static int
hit(struct limit_ahead *a, const char *key, long limit, time_t now)
{
	long	 add;

	if (limit_ahead_take(a, key, limit, 60, now, &add)) {
		CHECK(add == 1);
		return 1;
	}
	CHECK(add >= 1);
	db_total += add;
	limit_ahead_learn(a, key, 60, now, add, 1, db_total);
	return db_total <= limit;
}

static long
flush(struct limit_ahead *a, time_t now)
{
	char	 key[LIMIT_KEY_MAX];
	long	 win, add, sum = 0;
	size_t	 pos = 0;

	while (limit_ahead_drain(a, &pos, now, key, &win, &add)) {
		CHECK(win == 60 && add >= 1);
		sum += add;
		db_total += add;
		limit_ahead_learn(a, key, win, now, add, 0, db_total);
	}
	return sum;
}

/*
 * A fresh a, whose key k has had its window's first hit (at the database)
 * told the total; a hit may wait wait_ms for an add to come back.
 */
static void
fresh(struct limit_ahead *a, const char *k, long limit, time_t now,
    long wait_ms, long total)
{
	long	 add;

	limit_ahead_init(a);
	a->wait_ms = wait_ms;
	CHECK(limit_ahead_take(a, k, limit, 60, now, &add) == 0 && add == 1);
	limit_ahead_learn(a, k, 60, now, add, 1, total);
}

static void
test_ahead_small(void)
{
	static struct limit_ahead a;
	long	 add;
	int	 i, ok = 0;

	/* Under LIMIT_AHEAD_DIV: every hit goes to the database, exactly. */
	limit_ahead_init(&a);
	db_total = 0;
	for (i = 0; i < 20; i++) {
		CHECK(limit_ahead_take(&a, "k", 15, 60, 6000, &add) == 0);
		CHECK(add == 1);
		db_total += add;
		limit_ahead_learn(&a, "k", 60, 6000, add, 1, db_total);
		ok += db_total <= 15;
	}
	CHECK(ok == 15);
	CHECK(flush(&a, 6000) == 0);
}

static void
test_ahead_batches(void)
{
	static struct limit_ahead a;
	const char *k = "login_ip:1.2.3.4";
	time_t	 t = 6000;		/* a window starts: 6000 / 60 = 100 */
	long	 add, before;
	int	 i, ok = 0, local = 0;

	/* 64 per window: batches of 4.  The first hit learns the total. */
	limit_ahead_init(&a);
	db_total = 0;
	CHECK(limit_ahead_take(&a, k, 64, 60, t, &add) == 0 && add == 1);
	db_total += add;
	limit_ahead_learn(&a, k, 60, t, add, 1, db_total);
	for (i = 0; i < 2; i++)
		CHECK(limit_ahead_take(&a, k, 64, 60, t, &add) == 1);
	CHECK(db_total == 1);
	/* The fourth carries half a batch, the two, with it. */
	CHECK(limit_ahead_take(&a, k, 64, 60, t, &add) == 0);
	CHECK(add == 3);
	db_total += add;
	limit_ahead_learn(&a, k, 60, t, add, 1, db_total);
	/* To the limit and past it: exactly 64 admitted, all counted. */
	for (i = 4; i < 100; i++) {
		before = db_total;
		if (hit(&a, k, 64, t))
			ok++;
		if (db_total == before)
			local++;
	}
	CHECK(ok == 64 - 4);
	CHECK(local > 30);		/* most of them without a round trip */
	CHECK(flush(&a, t) == 0);
	CHECK(db_total == 100);
	/* Another key is counted on its own (db_total: now its counter). */
	db_total = 0;
	CHECK(hit(&a, "login_ip:5.6.7.8", 64, t) == 1 && db_total == 1);
	CHECK(limit_ahead_take(&a, "login_ip:5.6.7.8", 64, 60, t, &add) == 1);
	CHECK(flush(&a, t) == 1 && db_total == 2);
	CHECK(flush(&a, t) == 0);
	/* A new window starts afresh; hits left from the old one are dropped. */
	CHECK(limit_ahead_take(&a, "login_ip:5.6.7.8", 64, 60, t, &add) == 1);
	CHECK(flush(&a, t + 60) == 0);
	CHECK(limit_ahead_take(&a, "login_ip:5.6.7.8", 64, 60, t + 60, &add)
	    == 0 && add == 1);
	/* The batch is capped: a big limit still writes every 33 hits. */
	fresh(&a, "k", 100000, t, LIMIT_AHEAD_WAIT_MS, 1);
	for (i = 0; i < LIMIT_AHEAD_BATCH / 2; i++)
		CHECK(limit_ahead_take(&a, "k", 100000, 60, t, &add) == 1);
	CHECK(limit_ahead_take(&a, "k", 100000, 60, t, &add) == 0);
	CHECK(add == LIMIT_AHEAD_BATCH / 2 + 1);
}

static void
test_ahead_inflight(void)
{
	static struct limit_ahead a;
	const char *k = "login_ip:7.7.7.7";
	long	 add, carried;
	int	 i;

	/*
	 * Hits on their way to the database still count: while one thread's
	 * add is out, the others may admit no more than the limit allows.
	 * (No waiting for adds to come back: this thread is the only one.)
	 */
	fresh(&a, k, 64, 6000, 0, 55);	/* others counted */
	for (i = 0; i < 2; i++)
		CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &carried) == 0);
	CHECK(carried == 3);
	/* 55 known + 3 on their way + 2 here: 60, a batch short of 64. */
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 3);
	limit_ahead_learn(&a, k, 60, 6000, add, 1, 61);
	limit_ahead_learn(&a, k, 60, 6000, carried, 1, 61);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 1);
	/* A failed add drops its hits and leaves nothing on its way. */
	fresh(&a, k, 64, 6000, 0, -1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 1);
	limit_ahead_learn(&a, k, 60, 6000, add, 1, 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
}

static void
test_ahead_racing(void)
{
	static struct limit_ahead a;
	const char *k = "login_ip:8.8.8.8";
	long	 add, out[64], sent = 0, here = 0;
	int	 i, n = 0;

	/*
	 * Many threads of one process, their adds all out at once while other
	 * processes fill the window: what this process admitted that the
	 * database had not counted is never more than a batch (64: 4), however
	 * many carriers are on their way (here, with no waiting for them, the
	 * rest go to the database).
	 */
	fresh(&a, k, 64, 6000, 0, 1);
	for (i = 0; i < 60; i++) {
		if (limit_ahead_take(&a, k, 64, 60, 6000, &add))
			here++;
		else if (n < 64) {
			out[n++] = add;
			sent += add;
		}
	}
	CHECK(here == 4);
	CHECK(here + n == 60 && sent == 60);
	/* The others have filled it: every add comes back over the limit. */
	for (i = 0; i < n; i++)
		limit_ahead_learn(&a, k, 60, 6000, out[i], 1, 64 + i + 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 1);
	/* Carried hits no longer count against the batch once counted. */
	fresh(&a, k, 64, 6000, 0, 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 3);
	limit_ahead_learn(&a, k, 60, 6000, add, 1, 4);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
}

struct waiter {
	struct limit_ahead	*a;
	long			 add;
	int			 took, done;
};

static void *
waiter_main(void *arg)
{
	struct waiter	*w = arg;

	w->took = limit_ahead_take(w->a, "login_ip:6.6.6.6", 64, 60, 6000,
	    &w->add);
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
test_ahead_wait(void)
{
	static struct limit_ahead a;
	const char *k = "login_ip:6.6.6.6";
	struct waiter	 w = { &a, 0, -1, 0 };
	struct timespec	 t0;
	pthread_t	 t;
	long		 add, carried;

	/*
	 * A hit that finds a whole batch admitted here and uncounted waits
	 * for its add to come back (no round trip of its own), then goes on
	 * as the answer allows: here it carries the next half batch.
	 */
	fresh(&a, k, 64, 6000, LIMIT_AHEAD_WAIT_MS, 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &carried) == 0);
	CHECK(carried == 3);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	a.wait_ms = 5000;
	CHECK(pthread_create(&t, NULL, waiter_main, &w) == 0);
	usleep(200 * 1000);
	CHECK(__atomic_load_n(&w.done, __ATOMIC_SEQ_CST) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	limit_ahead_learn(&a, k, 60, 6000, carried, 1, 4);
	pthread_join(t, NULL);
	CHECK(ms_since(&t0) < 2000);	/* woken by the learn, not timed out */
	CHECK(w.took == 0 && w.add == 3);
	/* Past LIMIT_AHEAD_WAIT_MS it goes to the database itself. */
	a.wait_ms = 100;
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 3);
	CHECK(ms_since(&t0) >= 90);
	limit_ahead_free(&a);

	/* A batch of 1 (a limit of 16) with no add out never waits. */
	fresh(&a, k, 16, 6000, 5000, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(limit_ahead_take(&a, k, 16, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 16, 60, 6000, &add) == 0 && add == 2);
	CHECK(ms_since(&t0) < 1000);
	limit_ahead_free(&a);

	/*
	 * A hit of an older window than its slot's (it waited across the
	 * turn of the minute) goes to the database and leaves the newer
	 * window's hits alone; a flush with an older now leaves them too.
	 */
	fresh(&a, k, 64, 6060, 0, 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6060, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 1);
	db_total = 1;
	CHECK(flush(&a, 6000) == 0);
	CHECK(flush(&a, 6060) == 1 && db_total == 2);
	limit_ahead_free(&a);

	/* After a failed add nothing more is admitted on the old total. */
	fresh(&a, k, 64, 6000, 0, 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 3);
	limit_ahead_learn(&a, k, 60, 6000, add, 1, -1);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 0 && add == 1);
	limit_ahead_learn(&a, k, 60, 6000, add, 1, 2);
	CHECK(limit_ahead_take(&a, k, 64, 60, 6000, &add) == 1);
	limit_ahead_free(&a);
}

static void
test_ahead_processes(void)
{
	static struct limit_ahead p[4];
	int	 i, j, ok = 0;

	/*
	 * Four processes share one database counter, taking hits in turn:
	 * together they admit at most one batch per process over the limit,
	 * and every hit is counted once the last batches are written.
	 */
	db_total = 0;
	for (j = 0; j < 4; j++)
		limit_ahead_init(&p[j]);
	for (i = 0; i < 400; i++) {
		ok += hit(&p[i % 4], "login_ip:9.9.9.9", 160, 6000);
		if (i % 37 == 0)
			(void)flush(&p[i % 4], 6000);
	}
	for (j = 0; j < 4; j++)
		(void)flush(&p[j], 6000);
	CHECK(ok >= 160 && ok <= 160 + 4 * (160 / LIMIT_AHEAD_DIV));
	CHECK(db_total == 400);
}

static void
test_ahead_full(void)
{
	static struct limit_ahead a;
	char	 key[LIMIT_KEY_MAX];
	long	 add;
	int	 i, local = 0, round;

	/*
	 * More keys than slots, twice over: a key whose slot went to another
	 * starts again at the database (its total is not forgotten: no batch
	 * is admitted on a slot that knows nothing), none is lost.
	 */
	limit_ahead_init(&a);
	db_total = 0;
	for (round = 0; round < 2; round++)
		for (i = 0; i < 3 * LIMIT_AHEAD_SLOTS; i++) {
			snprintf(key, sizeof(key), "login_ip:10.0.%d.%d",
			    i / 250, i % 250);
			if (limit_ahead_take(&a, key, 600, 60, 6000, &add))
				local++;
			else {
				db_total += add;
				limit_ahead_learn(&a, key, 60, 6000, add, 1, 1);
			}
		}
	CHECK(local > 0 && local <= LIMIT_AHEAD_SLOTS);
	CHECK(flush(&a, 6000) == local);
	CHECK(db_total == 6 * LIMIT_AHEAD_SLOTS);
	/* A key too long for a slot is counted in the database. */
	memset(key, 'x', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	CHECK(limit_ahead_take(&a, key, 600, 60, 6000, &add) == 0 && add == 1);
}

int
main(void)
{
	test_keys();
	test_client_addr();
	test_many_hops();
	test_ahead_small();
	test_ahead_batches();
	test_ahead_inflight();
	test_ahead_racing();
	test_ahead_wait();
	test_ahead_processes();
	test_ahead_full();
	return check_done("test_limit");
}
