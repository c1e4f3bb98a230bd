#include <crypt.h>
#include <stdlib.h>
#include <string.h>

/* 1 when `password` hashes to `hash` under the hash's own method and salt (bcrypt's $2b$...),
 * compared in constant time; 0 otherwise, and when the hash is not one libcrypt knows.
 * crypt_data is some 32 KiB: it is allocated, not put on a thread pool thread's stack. */
static inline int ccrypt_matches(const char *password, const char *hash) {
    struct crypt_data *data = calloc(1, sizeof(struct crypt_data));
    if (data == NULL) return 0;
    const char *out = crypt_r(password, hash, data);
    int matches = 0;
    if (out != NULL && out[0] != '*') {
        size_t n = strlen(hash);
        if (strlen(out) == n) {
            unsigned char diff = 0;
            for (size_t i = 0; i < n; i++) diff |= (unsigned char)(out[i] ^ hash[i]);
            matches = diff == 0;
        }
    }
    free(data);
    return matches;
}
