#ifndef CCURL_H
#define CCURL_H

// libcurl's types and constants, and the calls logmetrics makes, through a library loaded when
// first needed (dlopen) rather than linked. Most runs never speak HTTP as a client (only the
// Kubernetes API and the Pushgateway need it), and linking libcurl loaded it and the 30 libraries
// it depends on (TLS, Kerberos, LDAP, SSH...) into every process: 6.6 MB of a process's start-up
// memory, and their relocated data for as long as it ran.
//
// Swift cannot call C variadic functions, and curl_easy_setopt and curl_easy_getinfo are
// variadic: the typed forms below are what Swift calls instead. Each passes its argument through
// unchanged, with the type libcurl documents for the options it is used with.
//
// Every function but ccurl_load needs a successful ccurl_load first.

#include <curl/curl.h>

/// Loads libcurl and runs curl_global_init, once per process; any thread may call it, any number
/// of times. NULL when libcurl is ready, else what went wrong (a static string).
const char *ccurl_load(void);

CURL *ccurl_easy_init(void);
void ccurl_easy_cleanup(CURL *handle);
void ccurl_easy_reset(CURL *handle);
const char *ccurl_easy_strerror(CURLcode code);

/// Options documented as taking a `long` (timeouts, flags, sizes).
CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
/// Options documented as taking a `char *` (libcurl copies the string).
CURLcode ccurl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
/// Options documented as taking a `void *` (callback user data).
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
/// Options documented as taking a `struct curl_slist *` (the list must outlive the transfer).
CURLcode ccurl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
/// `CURLOPT_WRITEFUNCTION`.
CURLcode ccurl_easy_setopt_write_function(CURL *handle, curl_write_callback callback);
/// Information documented as a `long` (`CURLINFO_RESPONSE_CODE`).
CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);

CURLM *ccurl_multi_init(void);
CURLMcode ccurl_multi_cleanup(CURLM *multi);
CURLMcode ccurl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode ccurl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode ccurl_multi_perform(CURLM *multi, int *running);
CURLMcode ccurl_multi_poll(CURLM *multi, struct curl_waitfd *extra, unsigned int count, int timeout_ms, int *ready);
CURLMcode ccurl_multi_wakeup(CURLM *multi);
CURLMsg *ccurl_multi_info_read(CURLM *multi, int *queued);
const char *ccurl_multi_strerror(CURLMcode code);

struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *line);
void ccurl_slist_free_all(struct curl_slist *list);

#endif
