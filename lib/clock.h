/*
 * clock.h -- the monotonic clock the services time their policies with
 * (backoffs, deadlines, idle limits).
 */
#ifndef WXAUTH_CLOCK_H
#define WXAUTH_CLOCK_H

#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
long long	clock_ms(void);

/* The time ms from now on clock clk, as the timed waits take it. */
void		clock_deadline(clockid_t clk, long ms, struct timespec *out);

#endif
