// runtime_loop: the floor scripts/bench measures Tessera's runtime against. A Lambda Runtime API loop
// in plain C over libcurl, doing what aws-lambda-cpp does minus its C++: one reused curl easy handle,
// GET /next, the request id taken from the Lambda-Runtime-Aws-Request-Id header, POST `{}` to
// /response, again. No handler, no logging, no JSON: what is left is libcurl and the process itself.
//
//   cc -O2 -o runtime_loop runtime_loop.c -lcurl      (scripts/bench builds it so)
//   AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001 ./runtime_loop
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REQUEST_ID_HEADER "lambda-runtime-aws-request-id"
#define MAX_REQUEST_ID 256
#define MAX_URL 512

struct buffer {
    char *data;
    size_t size, capacity;
};

struct invocation {
    char request_id[MAX_REQUEST_ID];
    struct buffer event;
};

static size_t on_header(char *line, size_t size, size_t count, void *context) {
    struct invocation *invocation = context;
    size_t length = size * count, name = sizeof(REQUEST_ID_HEADER) - 1;
    if (length > name && line[name] == ':' && strncasecmp(line, REQUEST_ID_HEADER, name) == 0) {
        const char *value = line + name + 1, *end = line + length;
        while (value < end && (*value == ' ' || *value == '\t')) value++;
        while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) end--;
        size_t copied = (size_t)(end - value) < MAX_REQUEST_ID - 1 ? (size_t)(end - value) : MAX_REQUEST_ID - 1;
        memcpy(invocation->request_id, value, copied);
        invocation->request_id[copied] = 0;
    }
    return length;
}

static size_t on_body(char *data, size_t size, size_t count, void *context) {
    struct buffer *buffer = context;
    size_t length = size * count;
    if (buffer->size + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity < buffer->size + length) capacity *= 2;
        char *grown = realloc(buffer->data, capacity);
        if (!grown) return 0;
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->size, data, length);
    buffer->size += length;
    return length;
}

static size_t discard(char *data, size_t size, size_t count, void *context) {
    (void)data;
    (void)context;
    return size * count;
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) {
        fputs("AWS_LAMBDA_RUNTIME_API is not set\n", stderr);
        return 1;
    }
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) return 1;
    CURL *curl = curl_easy_init();
    if (!curl) return 1;
    char next_url[MAX_URL], response_url[MAX_URL];
    snprintf(next_url, sizeof next_url, "http://%s/2018-06-01/runtime/invocation/next", api);
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    struct invocation invocation = {0};

    for (;;) {
        invocation.request_id[0] = 0;
        invocation.event.size = 0;
        curl_easy_reset(curl);  // keeps the connection; options start over, as aws-lambda-cpp does
        curl_easy_setopt(curl, CURLOPT_URL, next_url);
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &invocation);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &invocation.event);
        long status = 0;
        if (curl_easy_perform(curl) != CURLE_OK) return 1;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 || !invocation.request_id[0]) return 1;

        snprintf(response_url, sizeof response_url, "http://%s/2018-06-01/runtime/invocation/%s/response", api,
                 invocation.request_id);
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, response_url);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "{}");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 2L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        if (curl_easy_perform(curl) != CURLE_OK) return 1;
    }
}
