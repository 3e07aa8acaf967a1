/* A plain program. Linked against Debian 12's glibc it needs GLIBC_2.34 (__libc_start_main's new
   version), so provided.al2023 (glibc 2.34) can run it and provided.al2 (glibc 2.26) cannot. */
#include <stdio.h>

int main(int argc, char **argv) {
    printf("%s: %d argument(s)\n", argv[0], argc - 1);
    return 0;
}
