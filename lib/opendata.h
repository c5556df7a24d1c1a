/*
 * opendata.h -- WeChat "open data": what the mini program receives
 * encrypted (encryptedData + iv) or signed (rawData + signature) with the
 * user's session_key, and only our server can read or check.
 *
 * Decryption is strict and uniform: any failure up to and including "the
 * plaintext is not a JSON object" is ERR_DECRYPT_FAILED with nothing else
 * to tell the cases apart, so the padding check is no oracle.
 */
#ifndef WXAUTH_OPENDATA_H
#define WXAUTH_OPENDATA_H

#include <stddef.h>

#include <json-c/json.h>

#include "err.h"

#define OPENDATA_B64_MAX	8192	/* longest encrypted_data, characters */

/*
 * Decrypt: session_key (base64 text as stored, 16 bytes), enc (standard
 * base64, 1..OPENDATA_B64_MAX characters, a non-zero multiple of 16 bytes),
 * iv (standard base64 of 16 bytes) -> AES-128-CBC -> whole PKCS#7 check ->
 * a UTF-8 JSON object whose watermark.appid equals appid.
 * Returns ERR_OK with *out (caller puts it), ERR_DECRYPT_FAILED, or
 * ERR_INVALID_WATERMARK (no watermark, or another app's).
 */
enum err	opendata_decrypt(const char *session_key, const char *enc,
		    size_t enclen, const char *iv, size_t ivlen,
		    const char *appid, json_object **out);

/*
 * Check signature == hex(sha1(raw || session_key)) (40 hex digits, either
 * case), in constant time.  ERR_OK or ERR_INVALID_SIGNATURE.
 */
enum err	opendata_check_signature(const char *raw, size_t rawlen,
		    const char *session_key, const char *signature,
		    size_t siglen);

#endif
