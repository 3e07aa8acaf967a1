/* Links libturbojpeg (cc ... -lturbojpeg), which neither Lambda runtime has: the artifact must carry
   libturbojpeg.so.0 in its lib/. TurboJPEG 2.x calls. */
#include <stdio.h>
#include <turbojpeg.h>

int main(void) {
    tjhandle handle = tjInitCompress();
    if (handle == NULL) {
        fprintf(stderr, "%s\n", tjGetErrorStr());
        return 1;
    }
    tjDestroy(handle);
    return 0;
}
