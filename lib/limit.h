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
 *   our quota); login per openid: counted after jscode2session told us who
 *   it is, before any session is made.
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

#include <stddef.h>

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

#endif
