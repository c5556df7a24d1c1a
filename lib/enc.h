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

#endif
