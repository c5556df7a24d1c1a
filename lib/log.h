/*
 * log.h -- one line per event on standard error.
 *
 * A line is: timestamp (UTC, ms), level, "wxauth[pid]", the request id when
 * there is one, and the message.  Control characters and non-ASCII bytes
 * in the message are escaped, so a line is always one line.  Each line is
 * written with a single write(2), so lines from threads and processes do
 * not interleave.  Callers never pass secrets (session_key, tokens, the app
 * secret, encrypted data, phone numbers): see the call sites.
 */
#ifndef WXAUTH_LOG_H
#define WXAUTH_LOG_H

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
	LOG__MAX
};

/* Lines below this level are dropped (default LOG_INFO). */
void	log_set_level(enum log_level);

/* Parse "debug", "info", "warn" or "error".  Returns 0 or -1. */
int	log_level_parse(const char *, enum log_level *);

/* Log one line; rid may be NULL. */
void	log_msg(enum log_level, const char *rid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Escape src into dst (size dstsz, always NUL-terminated): bytes below 0x20,
 * 0x7f and above, backslash and double quote become \xHH or \\ / \".
 * Returns dst.
 */
char	*log_escape(char *dst, size_t dstsz, const char *src);

#endif
