#ifndef TESSERA_CCURL_SHIM_H
#define TESSERA_CCURL_SHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: typed wrappers.
static inline CURLcode tessera_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tessera_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tessera_curl_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tessera_curl_setopt_write(CURL *h, CURLoption o, size_t (*f)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(h, o, f);
}
static inline CURLcode tessera_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
// gate[0] receives each new socket's descriptor, so a signal handler can look at the connection;
// while gate[1] is set, no new connection is opened (the transfer fails instead).
static int tessera_record_socket(void *gate, curl_socket_t fd, curlsocktype purpose) {
    (void)purpose;
    volatile int *slots = (volatile int *)gate;
    if (slots[1]) return CURL_SOCKOPT_ERROR;
    slots[0] = (int)fd;
    return CURL_SOCKOPT_OK;
}
static inline CURLcode tessera_curl_record_socket(CURL *h, volatile int *gate) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, tessera_record_socket);
    return rc != CURLE_OK ? rc : curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, (void *)gate);
}
#endif
