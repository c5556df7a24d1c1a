/*
 * sess.h -- wxauth's own session tokens: minting, hashing, and finding the
 * one a request presents.
 *
 * A token is 32 bytes from the OS CSPRNG written as 43 base64url characters.
 * Only its SHA-256 is stored (db.h); the token itself exists only in the
 * login response and in the client.
 */
#ifndef WXAUTH_SESS_H
#define WXAUTH_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define SESS_TOKEN_BYTES	32
#define SESS_TOKEN_LEN		43	/* B64URL_LEN(SESS_TOKEN_BYTES) */
#define SESS_COOKIE		"sid"

/* Mint a token into tok and its hash into hash.  Returns 0 or -1 (RNG). */
int	sess_token_new(char tok[SESS_TOKEN_LEN + 1], uint8_t hash[SHA256_LEN]);

/*
 * Hash the token tok (n bytes) if it is well formed (exactly
 * SESS_TOKEN_LEN base64url characters).  Returns 0, or -1 if malformed.
 */
int	sess_token_hash(const char *tok, size_t n, uint8_t hash[SHA256_LEN]);

/*
 * Find the token a request presents, from its Authorization ("Bearer"),
 * X-WX-Session and Cookie ("sid=") headers, in that order; each may be NULL.
 * The first well-formed token wins; malformed ones are ignored (the request
 * is then unauthenticated).  Copies it into tok and returns 1, or returns 0.
 */
int	sess_token_find(const char *authorization, const char *xwx,
	    const char *cookie, char tok[SESS_TOKEN_LEN + 1]);

/*
 * Is the n bytes at s a well-formed token?  1 or 0.
 */
int	sess_token_valid(const char *s, size_t n);

#endif
