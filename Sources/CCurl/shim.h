#include <curl/curl.h>

// Swift cannot call C variadic functions, and curl_easy_setopt and curl_easy_getinfo are
// variadic: these typed forms are what Swift calls instead. Each passes its argument through
// unchanged, with the type libcurl documents for the options it is used with.

static inline CURLcode ccurl_global_init_default(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

/// Options documented as taking a `long` (timeouts, flags, sizes).
static inline CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/// Options documented as taking a `char *` (libcurl copies the string).
static inline CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Options documented as taking a `void *` (callback user data).
static inline CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Options documented as taking a `struct curl_slist *` (the list must outlive the transfer).
static inline CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/// `CURLOPT_WRITEFUNCTION`.
static inline CURLcode ccurl_easy_setopt_write_function(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

/// Information documented as a `long` (`CURLINFO_RESPONSE_CODE`).
static inline CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
