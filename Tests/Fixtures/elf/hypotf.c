/* Calls hypotf, whose default version is GLIBC_2.35 (glibc 2.35 replaced it; the old one stays as
   GLIBC_2.2.5 on x86_64, GLIBC_2.17 on arm64). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    float a = argc > 1 ? strtof(argv[1], NULL) : 3, b = argc > 2 ? strtof(argv[2], NULL) : 4;
    printf("%.1f\n", hypotf(a, b));
    return 0;
}
