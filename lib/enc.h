/*
 * enc.h -- text encodings of binary data: hex and URL-safe base64.
 */
#ifndef WXAUTH_ENC_H
#define WXAUTH_ENC_H

#include <stddef.h>
#include <stdint.h>

/* Characters b64url_encode() writes for n bytes, terminator excluded. */
#define B64URL_LEN(n)	(((n) * 4 + 2) / 3)

/*
 * Encode n bytes as unpadded base64url (RFC 4648 section 5) into out, which
 * must hold B64URL_LEN(n) + 1 bytes.  Returns the length written.
 */
size_t	b64url_encode(const uint8_t *in, size_t n, char *out);

/* Encode n bytes as lowercase hex into out (2n + 1 bytes). */
void	hex_encode(const uint8_t *in, size_t n, char *out);

/* Characters b64_encode() writes for n bytes (padded), terminator excluded. */
#define B64_LEN(n)	(((n) + 2) / 3 * 4)

/*
 * Encode n bytes as standard, padded base64 (RFC 4648 section 4) into out,
 * which must hold B64_LEN(n) + 1 bytes.  Returns the length written.
 */
size_t	b64_encode(const uint8_t *in, size_t n, char *out);

/*
 * Decode the n characters at s as strict standard base64: the alphabet of
 * RFC 4648 section 4 only (a space -- a '+' mangled by URL decoding -- is
 * refused, not repaired), padded to a multiple of 4, no whitespace, and the
 * unused bits of the last character zero (one text per byte string).
 * Writes at most outsz bytes to out and sets *outlen.  Returns 0, or -1 if
 * s is not such text or does not fit.
 */
int	b64_decode(const char *s, size_t n, uint8_t *out, size_t outsz,
	    size_t *outlen);

#endif
