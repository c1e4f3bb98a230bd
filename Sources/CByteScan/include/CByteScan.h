#ifndef CBYTESCAN_H
#define CBYTESCAN_H

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Asks for the cache line at p to be loaded for reading; never faults.
static inline void cbytescan_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

// The JSON scanner's first stage, marking quotes and backslashes 64 bytes at a time. Swift's
// SIMD types have no byte-mask extraction (`pmovmskb` on x86-64), and emulating it costs a
// multiply per eight bytes; these functions are `static inline` so that the Swift optimizer
// inlines them into the scanner's loop like its own code.

/// Bit k of `*quotes` is set when p[k] is '"', bit k of `*backslashes` when p[k] is '\\', for
/// k in 0..<64. Reads exactly p[0..<64].
static inline void cbytescan_mark64(const uint8_t *p, uint64_t *quotes, uint64_t *backslashes) {
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    uint64_t q = 0, b = 0;
    for (int k = 0; k < 4; k++) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + 16 * k));
        q |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) << (16 * k);
        b |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) << (16 * k);
    }
    *quotes = q;
    *backslashes = b;
#else
    // Other targets: a plain loop, which compilers vectorize well enough.
    uint64_t q = 0, b = 0;
    for (int k = 0; k < 64; k++) {
        q |= (uint64_t)(p[k] == '"') << k;
        b |= (uint64_t)(p[k] == '\\') << k;
    }
    *quotes = q;
    *backslashes = b;
#endif
}

/// As `cbytescan_mark64` for the last `n` (< 64) bytes of a line: reads only p[0..<n], and the
/// bits at and above n are clear.
static inline void cbytescan_mark_tail(const uint8_t *p, long n, uint64_t *quotes, uint64_t *backslashes) {
    uint8_t block[64] = {0};
    memcpy(block, p, (size_t)n);
    cbytescan_mark64(block, quotes, backslashes);
}

/// Marks the quotes of p[0..<n] in words[0..<(n + 63) / 64] (bit k of word w: p[64w + k] is '"'),
/// sets words[(n + 63) / 64] to 1, and returns whether p[0..<n] holds a backslash. Reads only
/// p[0..<n]. Uses the widest vector unit the CPU has.
int cbytescan_build_quote_map(const uint8_t *p, long n, uint64_t *words);

/// As `cbytescan_build_quote_map` with one kernel, for tests and benchmarks: 0 portable (SSE2 or
/// plain C), 1 AVX2, 2 AVX-512. Returns -1, doing nothing, when the CPU lacks that kernel.
int cbytescan_build_quote_map_using(int kernel, const uint8_t *p, long n, uint64_t *words);

/// How many bytes of p[0..<n] equal `byte` (lines in a read, counting newlines).
long cbytescan_count_byte(const uint8_t *p, long n, uint8_t byte);

/// As `cbytescan_count_byte` with one kernel (numbered as for the quote map); -1 when the CPU
/// lacks it.
long cbytescan_count_byte_using(int kernel, const uint8_t *p, long n, uint8_t byte);

#endif
