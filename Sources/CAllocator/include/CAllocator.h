#ifndef CALLOCATOR_H
#define CALLOCATOR_H

#include <stddef.h>

#include "ZeroedMemory.h"

// glibc serves a request above its mmap threshold with a mapping of its own, given back whole
// at free. But the first free of such a mapping raises the threshold to its size (up to 32 MiB)
// and the trim threshold to twice that, so every later buffer of that size comes from the heap
// and stays resident after it is freed: a server that builds a 24 MB scrape body once a minute
// kept ~50 MiB more than it used. Setting the threshold turns that adjustment off.

/// Fixes the size from which allocations are mapped on their own to `bytes`. Does nothing where
/// the C library is not glibc.
void lm_allocator_fix_mmap_threshold(size_t bytes);

/// Gives the free memory of every allocator arena back to the system, as far as whole pages
/// go. A scrape makes and frees hundreds of thousands of small blocks (labels, exemplars) on
/// whichever thread serves it, and glibc keeps the freed pages of each thread's arena: 10 000
/// routes kept 16 MiB more after four scrapes, which this gives back. Does nothing where the C
/// library is not glibc.
void lm_allocator_release_free_memory(void);

#endif
