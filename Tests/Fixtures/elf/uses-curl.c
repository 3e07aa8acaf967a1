/* Calls libcurl, whose Debian build versions its symbols (CURL_OPENSSL_4); Amazon Linux 2023's does not. */
#include <curl/curl.h>
#include <stdio.h>

int main(void) {
    printf("%s\n", curl_version());
    return 0;
}
