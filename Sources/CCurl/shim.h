// libcurl's easy interface as Swift can call it: `curl_easy_setopt` and `curl_easy_getinfo` are
// variadic, which Swift cannot import, so each argument type gets a fixed-signature wrapper.
#ifndef HC_CURL_SHIM_H
#define HC_CURL_SHIM_H

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

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

/// A growing buffer that `hc_curl_collect` fills with an answer's body, up to `limit` bytes.
typedef struct {
    char *data;
    size_t length;
    size_t capacity;
    size_t limit;
} hc_curl_buffer;

/// A body writer that appends to an `hc_curl_buffer`; past its limit it stops the transfer.
static inline size_t hc_curl_collect(char *data, size_t size, size_t count, void *context) {
    hc_curl_buffer *buffer = (hc_curl_buffer *)context;
    size_t bytes = size * count;
    if (buffer->length + bytes > buffer->limit) return 0;
    if (buffer->length + bytes > buffer->capacity) {
        size_t capacity = buffer->capacity * 2 > buffer->length + bytes ? buffer->capacity * 2 : buffer->length + bytes;
        char *grown = (char *)realloc(buffer->data, capacity);
        if (grown == NULL) return 0;
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, data, bytes);
    buffer->length += bytes;
    return bytes;
}

/// Sends answers' bodies into `buffer`.
static inline CURLcode hc_curl_collect_bodies(CURL *handle, hc_curl_buffer *buffer) {
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, hc_curl_collect);
    return curl_easy_setopt(handle, CURLOPT_WRITEDATA, (void *)buffer);
}

/// Frees what `buffer` holds.
static inline void hc_curl_buffer_free(hc_curl_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = 0;
    buffer->capacity = 0;
}

#endif