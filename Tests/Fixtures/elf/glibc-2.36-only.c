/* Calls pidfd_open, new in glibc 2.36 with no older version and nothing scripts/ld-lambda supplies. */
#include <stdio.h>
#include <sys/pidfd.h>
#include <unistd.h>

int main(void) {
    printf("%d\n", pidfd_open(getpid(), 0) >= 0);
    return 0;
}
