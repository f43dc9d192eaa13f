// libcurl's easy interface as Swift can call it: `curl_easy_setopt` and `curl_easy_getinfo` are
// variadic, which Swift cannot import, so each argument type gets a fixed-signature wrapper.
#ifndef HC_CURL_SHIM_H
#define HC_CURL_SHIM_H

#include <curl/curl.h>

/// A discarding body writer: webhook receivers' answers are not read, only their status.
static inline size_t hc_curl_discard(char *data, size_t size, size_t count, void *context) {
    (void)data; (void)context;
    return size * count;
}

static inline CURLcode hc_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hc_curl_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hc_curl_setopt_size(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// Sends answers' bodies to `hc_curl_discard`.
static inline CURLcode hc_curl_discard_bodies(CURL *handle) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, hc_curl_discard);
}

/// The HTTP status of the last transfer, 0 when none arrived.
static inline long hc_curl_response_code(CURL *handle) {
    long code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

#endif
