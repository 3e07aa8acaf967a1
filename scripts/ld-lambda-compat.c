/* What a function needs from glibc 2.35 and 2.36, written against glibc 2.34's interfaces (the
 * provided.al2023 runtime's). scripts/ld-lambda links this into a function only when the machine
 * building it has a newer glibc: GCC 12's static libstdc++ and unwinder, which a function carries
 * inside it (scripts/ld-lambda says why), call these two where their build found them.
 *
 * Definitions in the function itself take precedence over libc.so.6's, so the binary then needs no
 * GLIBC_2.35 or GLIBC_2.36 symbol; hidden, so no library loaded beside it is given them instead of
 * its own C library's. Never part of a development build. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

/* std::random_device's default source (libstdc++'s random.o). glibc 2.36 reads the kernel's
 * getrandom too; like it, a machine that cannot give randomness ends the process. */
__attribute__((visibility("hidden"))) uint32_t arc4random(void) {
    uint32_t value;
    unsigned char *at = (unsigned char *)&value;
    size_t left = sizeof value;
    while (left > 0) {
        ssize_t got = getrandom(at, left, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            abort();
        }
        at += got;
        left -= (size_t)got;
    }
    return value;
}

struct object_search {
    uintptr_t address;
    struct dl_find_object *result;
};

/* dl_iterate_phdr's callback: fills the result from the object whose loaded segments hold the address. */
static int describe_object(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct object_search *search = data;
    uintptr_t start = UINTPTR_MAX, end = 0;
    void *eh_frame = NULL;
    int holds = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        uintptr_t from = info->dlpi_addr + segment->p_vaddr;
        if (segment->p_type == PT_LOAD) {
            uintptr_t to = from + segment->p_memsz;
            if (from < start) start = from;
            if (to > end) end = to;
            if (search->address >= from && search->address < to) holds = 1;
        } else if (segment->p_type == PT_GNU_EH_FRAME) {
            eh_frame = (void *)from;
        }
    }
    if (!holds) return 0;
    search->result->dlfo_flags = 0;
    search->result->dlfo_map_start = (void *)start;
    search->result->dlfo_map_end = (void *)end;
    search->result->dlfo_link_map = NULL;
    search->result->dlfo_eh_frame = eh_frame;
#if DLFO_STRUCT_HAS_EH_DBASE
    search->result->dlfo_eh_dbase = NULL;
#endif
#if DLFO_STRUCT_HAS_EH_COUNT
    search->result->dlfo_eh_count = 0;
#endif
    return 1;
}

/* The unwinder's way to the .eh_frame_hdr of the object holding a code address (libgcc_eh's
 * _Unwind_Find_FDE; it has no fallback once its build saw this function). glibc 2.35's is lock-free;
 * this one walks the loaded objects under the loader's lock, as unwinders did before 2.35. */
__attribute__((visibility("hidden"))) int _dl_find_object(void *address, struct dl_find_object *result) {
    struct object_search search = { (uintptr_t)address, result };
    if (!dl_iterate_phdr(describe_object, &search)) return -1;
    /* Outside the iteration: dladdr1 takes the loader's lock itself. */
    Dl_info info;
    struct link_map *map = NULL;
    if (dladdr1(address, &info, (void **)&map, RTLD_DL_LINKMAP)) result->dlfo_link_map = map;
    return 0;
}
