/*
 * limit.h -- rate limits (the API's WXAUTH_LIMIT_* table), and the client
 * address they are counted by.
 *
 * Policy:
 * - Counters live in PostgreSQL (an UNLOGGED table: their loss in a crash
 *   is harmless and they cost no WAL flush), so a limit holds across all
 *   workers and hosts.  Windows are fixed and aligned (the minute, the UTC
 *   day); a request over the limit is 429 rate_limited with Retry-After =
 *   the seconds left in the window.  A limit of 0 disables it.
 * - login per client address: counted before WeChat is called (it protects
 *   our quota), ahead of the database where it can (below); login per
 *   openid: counted after jscode2session told us who it is, before any
 *   session is made.
 * - phone binds per user per day: a bind reserves one before WeChat is
 *   asked (each successful getuserphonenumber is billed) and gives it back
 *   if the bind fails, so only successful binds count, exactly, even when
 *   binds race.
 * - decrypt/signature failures per session per minute: checked (in the
 *   session lookup, no extra round trip) before anything is decrypted and
 *   counted on each failure; past the limit even correct data is refused
 *   until the window ends, which also bounds any timing measurement.
 * - The client address is the web server's REMOTE_ADDR, unless that is a
 *   trusted proxy (WXAUTH_TRUSTED_PROXIES, exact addresses): then the
 *   rightmost X-Forwarded-For entry that is not a trusted proxy.
 */
#ifndef WXAUTH_LIMIT_H
#define WXAUTH_LIMIT_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#define LIMIT_KEY_MAX	192
#define CLIENT_ADDR_MAX	64

enum limit_kind {
	LIMIT_LOGIN_IP,
	LIMIT_LOGIN_USER,
	LIMIT_PHONE_USER,
	LIMIT_DECRYPT_FAIL,
	LIMIT__MAX
};

/* The window of a kind, in seconds (60 or 86400). */
long	limit_window(enum limit_kind);

/*
 * The counter key for kind and subject (an address, an openid, a user id,
 * a session's hex token hash) into key.  Returns 0, or -1 if too long.
 */
int	limit_key(enum limit_kind, const char *subject, char key[LIMIT_KEY_MAX]);

/*
 * The client address of a request into out: remote_addr, or the rightmost
 * untrusted X-Forwarded-For entry when remote_addr is in trusted (a
 * comma-separated list; NULL or "": none).  An entry that is not a plain
 * address (1..CLIENT_ADDR_MAX-1 characters of hex digits, '.', ':') ends
 * the walk: the last good one is used.  "-" when there is no address.
 */
void	limit_client_addr(const char *remote_addr, const char *forwarded_for,
	    const char *trusted, char out[CLIENT_ADDR_MAX]);

/*
 * Counting ahead of the database (login per address).  A worker process
 * counts the hits of a key in memory while they are few and far below the
 * limit, and adds them to the database later -- a batch at a time on the
 * request path, the rest from the maintenance thread every second -- so
 * that most logins spend no round trip on the limit.
 *
 * Policy: the batch of a limit is limit / LIMIT_AHEAD_DIV, at most
 * LIMIT_AHEAD_BATCH.  Limits under LIMIT_AHEAD_DIV (batch 0) are counted
 * in the database on every hit, exactly.  So is a key's first hit in a
 * window in each process (it learns the database's total), and every hit
 * of a key whose known total, plus its hits on their way to the database
 * and those waiting here, is within one batch of the limit.  Otherwise a
 * hit is admitted here while fewer than half a batch are waiting and the
 * hits admitted here that the database has not yet counted (waiting, or on
 * their way) are fewer than a batch; the hit after half a batch carries
 * them to the database (the caller adds their number, with its own, and
 * tells the total), and the next half may be admitted while they are on
 * their way.  A hit that finds a whole batch so uncounted, or the key's
 * first hit in the window still learning the total, waits for those adds
 * to come back (at most LIMIT_AHEAD_WAIT_MS; then it goes to the database
 * itself) rather than adding a round trip of its own to a database that is
 * already slow to answer.  Only hits admitted here before the process
 * learns that the limit is reached can be over it, and those are never
 * more than a batch: a key's count can so run over its limit by at most
 * one batch per process that counts it, however many threads race.  Hits
 * are dropped, never counted twice: those waiting when their window ends,
 * and those of an add that fails (the database is down: the login fails
 * too) -- an undercount of at most a batch per failed add, never a
 * refusal; after a failed add the key's next hit goes to the database and
 * learns the total again.  LIMIT_AHEAD_SLOTS keys per process; a key that
 * finds no slot in its probe run is counted in the database.
 */
#define LIMIT_AHEAD_DIV		16
#define LIMIT_AHEAD_BATCH	64
#define LIMIT_AHEAD_SLOTS	128
#define LIMIT_AHEAD_PROBE	8	/* slots a key may live in */
#define LIMIT_AHEAD_KEY_MAX	80	/* "login_ip:" and an address */
#define LIMIT_AHEAD_WAIT_MS	1000

struct limit_ahead_slot {
	char		 key[LIMIT_AHEAD_KEY_MAX];	/* "" when free */
	long		 window;	/* seconds */
	long		 wid;		/* the window's number: time / window */
	long		 known;		/* the database's total, last told */
	long		 inflight;	/* being added to the database now */
	long		 pending;	/* admitted here, not yet sent */
	long		 ahead;		/* admitted here, on their way */
	int		 learned;	/* known was told in this window */
};

struct limit_ahead {
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;		/* an add came back */
	long			 wait_ms;	/* LIMIT_AHEAD_WAIT_MS */
	struct limit_ahead_slot	 slot[LIMIT_AHEAD_SLOTS];
};

void	limit_ahead_init(struct limit_ahead *);
void	limit_ahead_free(struct limit_ahead *);

/*
 * One hit of key (a limit of limit per window seconds) at time now: 1 if it
 * is admitted and counted here; 0 if the caller must add *add to the
 * database's count now (this hit and those that were waiting), decide by
 * the total, and tell limit_ahead_learn() how it went.
 */
int	limit_ahead_take(struct limit_ahead *, const char *key, long limit,
	    long window, time_t now, long *add);

/*
 * The outcome of adding added hits of key (from limit_ahead_take(), own 1:
 * they include the caller's own hit, or limit_ahead_drain(), own 0): the
 * database's total, or -1 if the add failed.
 */
void	limit_ahead_learn(struct limit_ahead *, const char *key, long window,
	    time_t now, long added, int own, long total);

/*
 * The next key, from slot *pos on, with hits waiting in its current window:
 * copies it into key and its window into *window, moves its hits out into
 * *add and returns 1; 0 when there is none left.  Hits left from an ended
 * window are dropped on the way.  The maintenance thread adds the hits to
 * the database and tells limit_ahead_learn() how it went.
 */
int	limit_ahead_drain(struct limit_ahead *, size_t *pos, time_t now,
	    char key[LIMIT_KEY_MAX], long *window, long *add);

#endif
