/*
 * db.h -- PostgreSQL: a small per-process pool of persistent connections and
 * the named statements wxauth runs.  Callers never see SQL or PGresult.
 *
 * Policy:
 * - Connections are opened lazily and kept.  A connection is checked when it
 *   is borrowed for a write, or for a read after a second unused: if the
 *   server closed it (restart, admin shutdown) it is reset before use, so a
 *   write is never sent on a connection known to be dead.  (A read on a
 *   connection in use within the second skips the check, a syscall: if the
 *   connection turns out to be lost, the read is retried, below.)  If the server cannot be reached the call fails with
 *   ERR_UNAVAILABLE at once; for 250 ms after a failed connect, further
 *   calls fail without trying, so a down database costs no time per request.
 *   The next call after that tries again: workers recover by themselves.
 * - A statement that fails because the connection broke returns
 *   ERR_UNAVAILABLE; read-only statements are retried once on a fresh
 *   connection first.  Writes are not retried: they may have committed.
 * - Waiting for a free connection is bounded (WXAUTH_DB_WAIT_MS), then
 *   ERR_UNAVAILABLE.  So is every statement (WXAUTH_DB_TIMEOUT_MS): past
 *   it, it is cancelled (ERR_UNAVAILABLE, and the connection is free
 *   again), so a locked table costs a request seconds, never a worker.
 * - Every statement is sent with its parameters apart from its SQL text
 *   (PQsendQueryParams, or PQsendQueryPrepared); each is one round trip.
 * - Prepared statements (WXAUTH_DB_PREPARE): with "auto", the default, a
 *   new connection prepares its statements, each once, on first use, when
 *   it reaches PostgreSQL itself; through a connection pooler (PgBouncer:
 *   its transaction pooling would run a statement's name on a server
 *   connection that never prepared it) they are sent as text.  "on" and
 *   "off" force either.  A prepared statement that turns out to be gone is
 *   sent as text instead, and the connection stops preparing.  Parsing and
 *   planning are most of the server's work for a read: see
 *   docs/PERFORMANCE.md.
 * - Errors are classified by SQLSTATE: connection and resource classes are
 *   ERR_UNAVAILABLE, anything else ERR_INTERNAL (logged, with SQLSTATE and
 *   the primary message only: details can quote values).
 */
#ifndef WXAUTH_DB_H
#define WXAUTH_DB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "profile.h"
#include "seal.h"
#include "user.h"

struct db;
struct dbconn;

/* WXAUTH_DB_PREPARE: whether statements are prepared (see above). */
enum db_prepare {
	DB_PREPARE_AUTO,	/* "auto": when connected to the server itself */
	DB_PREPARE_ON,		/* "on" */
	DB_PREPARE_OFF,		/* "off" */
};

/* Parse "auto", "on" or "off"; -1 for anything else. */
int		 db_prepare_parse(const char *, enum db_prepare *);

/*
 * A pool of at most size connections to conninfo (a libpq URI or keyword
 * string); waits for a free one at most wait_ms; a statement that runs
 * longer than stmt_ms (0: no limit) is cancelled and is ERR_UNAVAILABLE;
 * statements are prepared as mode says.  Connects nothing yet.  Returns
 * NULL only on bad arguments.
 */
struct db	*db_open(const char *conninfo, size_t size, long wait_ms,
		    long stmt_ms, enum db_prepare mode);
void		 db_close(struct db *);

/* Is the database reachable?  One round trip. */
enum err	 db_ping(struct db *, const char *rid);

/*
 * Is the database worth a statement now?  ERR_OK, without a round trip,
 * unless the last statement found it unavailable (no connection, or none
 * to the server behind PgBouncer); then a SELECT 1 decides.  For a caller
 * about to spend what cannot be taken back (a WeChat login code) before
 * its statement.
 */
enum err	 db_usable(struct db *, const char *rid);

struct db_login {
	const char	*openid;
	const char	*unionid;	/* NULL: keep the stored one */
	const struct sealed *session_key; /* sealed for this openid */
	const uint8_t	*new_hash;	/* SHA-256 of the new token */
	const uint8_t	*old_hash;	/* presented token to revoke, or NULL */
	long		 ttl;		/* seconds until the new session expires */
	/* The per-openid login limit, counted in the same statement. */
	const char	*limit_key;	/* its counter (limit.h), or NULL: off */
	long		 limit;		/* logins allowed per window */
	long		 limit_window;	/* seconds */
};

/*
 * After a successful code2session: count the login against the openid's
 * limit, and unless that is over it, upsert the user by openid (replacing
 * the session_key, keeping unionid unless a new one is given), revoke the
 * presented token, and insert the new session -- one statement, one commit.
 * Fills u (free with user_free()) and *is_new; over the limit, nothing is
 * written but the count, and ERR_RATE_LIMITED comes with *retry_after.
 */
enum err	 db_login(struct db *, const struct db_login *, struct user *u,
		    int *is_new, long *retry_after, const char *rid);

/*
 * The user behind a live session: the token hash exists, has not reached
 * its absolute expiry, and was seen within idle seconds.  Refreshes the
 * last-seen time only when it is older than touch seconds (a second
 * statement, so at most once per touch seconds per session).  Fills u
 * and *expires_in (seconds until it expires if unused: the sooner of the
 * absolute and the idle expiry), or returns ERR_UNAUTHORIZED.  With key not NULL, the user's sealed session_key comes
 * too (empty when none is stored), and the count of the session's decrypt
 * failures in the current window of the counter key->fail_key, all in the
 * same round trip.
 */
struct db_session_key {
	const char	*fail_key;	/* in: the session's failure counter */
	long		 fail_window;	/* in: its window, seconds */
	struct sealed	 sealed;	/* out */
	long		 fails;		/* out */
};
enum err	 db_session_user(struct db *, const uint8_t hash[SHA256_LEN],
		    long idle, long touch, struct user *u, long *expires_in,
		    struct db_session_key *key, const char *rid);

/*
 * The same check and touch without the user row: the session's user id
 * and *expires_in, or ERR_UNAUTHORIZED.  One index lookup.
 */
enum err	 db_session_check(struct db *, const uint8_t hash[SHA256_LEN],
		    long idle, long touch, long long *uid, long *expires_in,
		    const char *rid);

/*
 * Apply p to user uid (fields p leaves NULL keep their value; a unionid is
 * only ever added or replaced) and fill u with the result.  One statement.
 */
enum err	 db_user_update(struct db *, long long uid,
		    const struct profile *p, struct user *u, const char *rid);

/* Store a phone number on user uid; fills u with the result. */
enum err	 db_user_phone(struct db *, long long uid, const struct phone *,
		    struct user *u, const char *rid);

/*
 * The app's shared access_token (wx_access_tokens), as stored: sealed, the
 * seconds it has left (<= 0: expired) and the lifetime it was issued with.
 * *found is 0 when there is none.
 */
struct db_token {
	struct sealed	 tok;
	long		 ttl;
	long		 lifetime;
};
enum err	 db_token_get(struct db *, const char *appid,
		    struct db_token *out, int *found, const char *rid);

/*
 * Expire the stored token only if it is still the one that failed
 * (compare-and-expire): a token another worker has since stored stays.
 */
enum err	 db_token_expire(struct db *, const char *appid,
		    const struct sealed *failed, const char *rid);

/*
 * Called by db_token_refresh() with the app's refresh lock held: fetch a
 * new token, seal it into tok and set its lifetime in seconds.
 */
typedef enum err (*db_token_fetch)(void *arg, struct sealed *tok,
		    long *lifetime);

/*
 * Replace the app's token, one process at a time across all hosts: in one
 * transaction take a transaction-scoped advisory lock (waiting at most
 * lock_ms when wait is set; when it is not and another process holds it,
 * return at once with *got 0), read the stored token again and, unless it
 * now has more than min_ttl seconds left (another process refreshed it),
 * fetch and store a new one.  *got is 1 and out the token to use, or 0.
 */
enum err	 db_token_refresh(struct db *, const char *appid, int wait,
		    long lock_ms, long min_ttl, db_token_fetch fetch,
		    void *arg, struct db_token *out, int *got,
		    const char *rid);

/*
 * Revoke one live session (as db_session_user() defines live).  Sets *uid
 * to its user.  ERR_UNAUTHORIZED if there was none.
 */
enum err	 db_session_revoke(struct db *, const uint8_t hash[SHA256_LEN],
		    long idle, long long *uid, const char *rid);

/*
 * Count n events against key in the current fixed window of window
 * seconds; *count is the count so far (these included), *retry_after the
 * seconds until the window ends.  One statement (UNLOGGED table).
 */
enum err	 db_limit_add(struct db *, const char *key, long window, long n,
		    long *count, long *retry_after, const char *rid);

/* Take one back (a reservation that was not used). */
enum err	 db_limit_undo(struct db *, const char *key, long window,
		    const char *rid);

/*
 * Delete up to batch expired sessions (absolute or idle) and rate counters
 * of windows over two days old, if no other process is purging (*locked 1
 * when this one did).  Call until both counts are below batch.
 */
enum err	 db_purge(struct db *, long idle, long batch, long *sessions,
		    long *counters, int *locked, const char *rid);

/*
 * Low level, for the migration runner only: borrow a connection, run one
 * statement with text parameters, give the connection back.  db_exec sets
 * *nrows (if not NULL) to the rows returned or affected.
 */
enum err	 db_acquire(struct db *, struct dbconn **, const char *rid);
void		 db_release(struct db *, struct dbconn *);
enum err	 db_exec(struct dbconn *, const char *sql, int nparams,
		    const char *const *values, long *nrows, const char *rid);

/*
 * An uploaded avatar (avatar.h): store the image under id unless it is
 * there already, and set the user's avatar_url to url; one statement.  Fills
 * u (free with user_free()).
 */
enum err	 db_avatar_set(struct db *, long long uid, const char *id,
		    const char *ctype, const uint8_t *data, size_t len,
		    const char *url, struct user *u, const char *rid);

/*
 * The image stored under id: its content type into ctype (ctsz bytes) and
 * its bytes appended to data.  ERR_NOT_FOUND when there is none.
 */
enum err	 db_avatar_get(struct db *, const char *id, char *ctype,
		    size_t ctsz, struct buf *data, const char *rid);

#endif
