/* The peer a plain libturbojpeg user would write: decode with DCT scaling straight to the target
 * (tjDecompress2 picks the largest M/8 factor whose size fits in the asked width and height), encode
 * with tjCompress2 at quality 85, 4:2:0. The TurboJPEG 2.x API. Timed in-process.
 *
 *   tj_resize IN.jpg OUT-PREFIX REPEATS   -> OUT-PREFIX-half.jpg, OUT-PREFIX-thumb.jpg; prints
 *   "half <best ms> <w>x<h>" and "thumb <best ms> <w>x<h>" (the best of REPEATS runs). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <turbojpeg.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: tj_resize IN OUT-PREFIX REPEATS\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    unsigned char *jpeg = malloc(size);
    if (fread(jpeg, 1, size, f) != (size_t)size) { perror("read"); return 1; }
    fclose(f);
    int repeats = atoi(argv[3]);
    const char *names[2] = {"half", "thumb"};
    for (int r = 0; r < 2; r++) {
        double best = 1e18;
        int w = 0, h = 0;
        for (int i = 0; i < repeats; i++) {
            double start = now_ms();
            tjhandle d = tjInitDecompress(), c = tjInitCompress();
            int width, height, subsamp;
            if (tjDecompressHeader2(d, jpeg, size, &width, &height, &subsamp)) { fprintf(stderr, "%s\n", tjGetErrorStr()); return 1; }
            int tw = r == 0 ? (width + 1) / 2 : 256, th = r == 0 ? (height + 1) / 2 : 256;
            if (r == 1) { /* fit 256x256 keeping the aspect ratio */
                if (width >= height) th = (int)((double)height * 256 / width + 0.5); else tw = (int)((double)width * 256 / height + 0.5);
            }
            int n; tjscalingfactor *sf = tjGetScalingFactors(&n);
            /* The largest factor whose output fits the target; when none does, the smallest there is
             * (1/8), since tjDecompress2 cannot scale below it. */
            int found = 0;
            w = width; h = height;
            for (int k = 0; k < n; k++) {
                int sw = TJSCALED(width, sf[k]), sh = TJSCALED(height, sf[k]);
                if (sw <= tw && sh <= th && (!found || sw > w)) { w = sw; h = sh; found = 1; }
                if (!found && sw * sh < w * h) { w = sw; h = sh; }
            }
            unsigned char *pixels = malloc((size_t)w * h * 3);
            if (tjDecompress2(d, jpeg, size, pixels, w, 0, h, TJPF_RGB, 0)) { fprintf(stderr, "%s\n", tjGetErrorStr()); return 1; }
            unsigned char *out = NULL;
            unsigned long outSize = 0;
            if (tjCompress2(c, pixels, w, 0, h, TJPF_RGB, &out, &outSize, TJSAMP_420, 85, 0)) { fprintf(stderr, "%s\n", tjGetErrorStr()); return 1; }
            double elapsed = now_ms() - start;
            if (elapsed < best) best = elapsed;
            if (i == repeats - 1) {
                char path[4096];
                snprintf(path, sizeof path, "%s-%s.jpg", argv[2], names[r]);
                FILE *o = fopen(path, "wb");
                fwrite(out, 1, outSize, o);
                fclose(o);
            }
            tjFree(out);
            free(pixels);
            tjDestroy(d);
            tjDestroy(c);
        }
        printf("%s %.3f %dx%d\n", names[r], best, w, h);
    }
    return 0;
}
