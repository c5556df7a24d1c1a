/*
 * log.c -- escaped single-line logging to standard error (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	2048	/* longer messages are truncated */

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

void
log_msg(enum log_level l, const char *rid, const char *fmt, ...)
{
	char		 msg[LOG_LINE_MAX], esc[LOG_LINE_MAX], line[LOG_LINE_MAX + 128];
	struct timespec	 ts;
	struct tm	 tm;
	va_list		 ap;
	int		 n;
	ssize_t		 w;
	/* A syscall saved per line: wxauth never forks after it has logged. */
	static volatile long	 pid;

	if (l < min_level || l >= LOG__MAX)
		return;
	if (pid == 0)
		pid = (long)getpid();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_escape(esc, sizeof(esc), msg);

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s wxauth[%ld]%s%s %s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, level_names[l],
	    pid, rid != NULL ? " rid=" : "",
	    rid != NULL ? rid : "", esc);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
