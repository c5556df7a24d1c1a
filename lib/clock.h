/*
 * clock.h -- the monotonic clock the services time their policies with
 * (backoffs, deadlines, idle limits).
 */
#ifndef WXAUTH_CLOCK_H
#define WXAUTH_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC: only differences mean anything. */
long long	clock_ms(void);

#endif
