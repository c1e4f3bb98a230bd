#ifndef ZEROEDMEMORY_H
#define ZEROEDMEMORY_H

#include <stddef.h>

// Buffers that start zeroed and grow keeping their contents, for tables and stores that double
// as they fill. From LM_ZEROED_MAPPED_BYTES on, a buffer is a mapping of its own: it grows in
// place or is moved by the kernel (mremap) without a copy, so old and new never both hold the
// contents, and pages not written yet are not resident. Below, it is ordinary heap memory.
// A buffer must be resized and freed with the size it was last given.

#define LM_ZEROED_MAPPED_BYTES (64 * 1024)

/// `bytes` of zeroed memory (at least one byte is allocated), or NULL when there is none.
void *lm_zeroed_allocate(size_t bytes);

/// The buffer `pointer` of `old_bytes`, now `new_bytes` long: the first `old_bytes` as they were
/// (as many as fit), the rest zero. `pointer` is not valid afterwards. NULL when there is no
/// memory, and then `pointer` is still valid and unchanged.
void *lm_zeroed_resize(void *pointer, size_t old_bytes, size_t new_bytes);

/// Frees a buffer of `bytes` made by the functions above; NULL is ignored.
void lm_zeroed_free(void *pointer, size_t bytes);

#endif
