#if defined(__linux__)
#define _GNU_SOURCE
#endif
#include "ZeroedMemory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_rounded(size_t bytes) {
    static size_t page = 0;
    if (page == 0) page = (size_t)sysconf(_SC_PAGESIZE);
    return (bytes + page - 1) / page * page;
}

void *lm_zeroed_allocate(size_t bytes) {
    if (bytes < LM_ZEROED_MAPPED_BYTES) return calloc(1, bytes == 0 ? 1 : bytes);
    void *mapped = mmap(NULL, page_rounded(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return mapped == MAP_FAILED ? NULL : mapped;
}

void *lm_zeroed_resize(void *pointer, size_t old_bytes, size_t new_bytes) {
#if defined(__linux__)
    if (old_bytes >= LM_ZEROED_MAPPED_BYTES && new_bytes >= LM_ZEROED_MAPPED_BYTES) {
        size_t old_mapped = page_rounded(old_bytes);
        size_t new_mapped = page_rounded(new_bytes);
        // What the kernel adds is zero; the end of the old last page past old_bytes may have been
        // written if the buffer was once longer, so it is cleared.
        if (new_bytes > old_bytes) memset((char *)pointer + old_bytes, 0, old_mapped - old_bytes);
        if (new_mapped == old_mapped) return pointer;
        void *moved = mremap(pointer, old_mapped, new_mapped, MREMAP_MAYMOVE);
        return moved == MAP_FAILED ? NULL : moved;
    }
#endif
    void *resized = lm_zeroed_allocate(new_bytes);
    if (resized == NULL) return NULL;
    memcpy(resized, pointer, old_bytes < new_bytes ? old_bytes : new_bytes);
    lm_zeroed_free(pointer, old_bytes);
    return resized;
}

void lm_zeroed_free(void *pointer, size_t bytes) {
    if (pointer == NULL) return;
    if (bytes >= LM_ZEROED_MAPPED_BYTES) {
        munmap(pointer, page_rounded(bytes));
    } else {
        free(pointer);
    }
}
