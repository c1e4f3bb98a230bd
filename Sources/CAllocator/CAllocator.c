#include "CAllocator.h"

#if defined(__linux__)
#include <features.h>  // defines __GLIBC__ on glibc, not on musl
#endif
#if defined(__GLIBC__)
#include <limits.h>
#include <malloc.h>
#endif

void lm_allocator_fix_mmap_threshold(size_t bytes) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, bytes > INT_MAX ? INT_MAX : (int)bytes);
#else
    (void)bytes;
#endif
}

void lm_allocator_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
