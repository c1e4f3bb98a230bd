#if defined(__linux__)
#define _GNU_SOURCE
#endif
#include "ZeroedMemory.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page = 4096;
static pthread_once_t page_once = PTHREAD_ONCE_INIT;

static void read_page_size(void) { page = (size_t)sysconf(_SC_PAGESIZE); }

static size_t page_rounded(size_t bytes) {
    pthread_once(&page_once, read_page_size);
    return (bytes + page - 1) / page * page;
}

void *lm_zeroed_allocate(size_t bytes) {
    if (bytes < LM_ZEROED_MAPPED_BYTES) return calloc(1, bytes == 0 ? 1 : bytes);
    size_t length = page_rounded(bytes);
    void *mapped = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return NULL;
#if defined(MADV_NOHUGEPAGE)
    // With transparent huge pages set to "always", the first write into a 2 MiB-aligned stretch
    // would make all of it resident; these buffers are for paying only for what is written.
    (void)madvise(mapped, length, MADV_NOHUGEPAGE);
#endif
    return mapped;
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
        if (moved == MAP_FAILED) return NULL;
#if defined(MADV_NOHUGEPAGE)
        // The flag holds for what was mapped; the part mremap added is a new stretch.
        if (new_mapped > old_mapped) (void)madvise(moved, new_mapped, MADV_NOHUGEPAGE);
#endif
        return moved;
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
