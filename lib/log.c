/*
 * log.c -- escaped single-line logging to standard error (see log.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048	/* longer messages are truncated */
#define RID_LOG_MAX	128	/* a longer request id is cut (req.h takes 64) */
#define LOG_PREFIX_MAX	256	/* time, level, pid and a rid of RID_LOG_MAX fit */

static enum log_level	 min_level = LOG_INFO;
static const char	*level_names[LOG__MAX] = {
	"debug", "info", "warn", "error"
};

void
log_set_level(enum log_level l)
{
	min_level = l;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	int	 i;

	for (i = 0; i < LOG__MAX; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

char *
log_escape(char *dst, size_t dstsz, const char *src)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;
	unsigned char		 c;

	if (dstsz == 0)
		return dst;
	for (; *src != '\0'; src++) {
		c = (unsigned char)*src;
		if (c < 0x20 || c >= 0x7f) {
			if (o + 4 >= dstsz)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		} else if (c == '\\' || c == '"') {
			if (o + 2 >= dstsz)
				break;
			dst[o++] = '\\';
			dst[o++] = (char)c;
		} else {
			if (o + 1 >= dstsz)
				break;
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
	return dst;
}

/* Read once, a syscall saved per line: wxauth never forks after it logs. */
static long		 pid;
static pthread_once_t	 pid_once = PTHREAD_ONCE_INIT;

static void
read_pid(void)
{
	pid = (long)getpid();
}

/*
 * "YYYY-MM-DDTHH:MM:SS" of the second a thread last logged in: formatted
 * again only when the second changes (gmtime_r takes glibc's time zone
 * lock, which every thread of the process would queue on).
 */
#define STAMP_MAX	64	/* 19 used; room for any int the compiler fears */
static _Thread_local time_t stamp_sec = -1;
static _Thread_local char stamp[STAMP_MAX];

static const char *
stamp_of(time_t sec)
{
	struct tm	 tm;

	if (sec != stamp_sec) {
		gmtime_r(&sec, &tm);
		snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		stamp_sec = sec;
	}
	return stamp;
}

void
log_msg(enum log_level l, const char *rid, const char *fmt, ...)
{
	char		 msg[LOG_LINE_MAX], line[LOG_PREFIX_MAX + LOG_LINE_MAX + 1];
	struct timespec	 ts;
	va_list		 ap;
	int		 n;
	size_t		 len;
	ssize_t		 w;

	if (l < min_level || l >= LOG__MAX)
		return;
	pthread_once(&pid_once, read_pid);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, LOG_PREFIX_MAX, "%s.%03ldZ %s wxauth[%ld]%s%.*s ",
	    stamp_of(ts.tv_sec), ts.tv_nsec / 1000000L, level_names[l], pid,
	    rid != NULL ? " rid=" : "", RID_LOG_MAX, rid != NULL ? rid : "");
	if (n < 0 || n >= LOG_PREFIX_MAX)
		return;
	/* Escaped straight into the line: no third buffer on the stack. */
	log_escape(line + n, LOG_LINE_MAX, msg);
	len = (size_t)n + strlen(line + n);
	line[len++] = '\n';
	w = write(STDERR_FILENO, line, len);
	(void)w;
}
