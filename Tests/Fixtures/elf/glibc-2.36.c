/* Uses arc4random, new in glibc 2.36 (GLIBC_2.36): newer than provided.al2023's glibc 2.34. */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    printf("%u\n", arc4random());
    return 0;
}
