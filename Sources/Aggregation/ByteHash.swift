#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fast non-cryptographic hash of a byte string, eight bytes per step. Never stored, so it may
/// change between versions.
///
/// Label values are hashed on every line; they are short (a route name, a method), so the cost
/// is dominated by the setup, which this keeps to a few multiplies.
///
/// `seed` is drawn at random by each owner of tables (a shard, a route matcher, a registry
/// dimension) and used for every key of its tables: the bytes are the clients' (paths,
/// authorities, headers), and with a seed they cannot choose keys that collide to make every
/// probe walk the whole table.
@inline(__always)
func hashBytes(_ p: UnsafePointer<UInt8>?, _ n: Int, seed: UInt64) -> UInt64 {
    var h: UInt64 = seed ^ 0x9E37_79B9_7F4A_7C15 ^ (UInt64(truncatingIfNeeded: n) &* 0xC2B2_AE3D_27D4_EB4F)
    guard let p, n > 0 else { return mix(h) }
    let raw = UnsafeRawPointer(p)
    var i = 0
    if n >= 32 {
        // Record keys run to a hundred bytes and more: four independent lanes keep the multiplies
        // from waiting on each other.
        var a = h
        var b = h ^ 0x2545_F491_4F6C_DD1D
        var c = h ^ 0x6A09_E667_F3BC_C909
        var d = h ^ 0xBB67_AE85_84CA_A73B
        while i &+ 32 <= n {
            a = lane(a, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            b = lane(b, raw.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self))
            c = lane(c, raw.loadUnaligned(fromByteOffset: i &+ 16, as: UInt64.self))
            d = lane(d, raw.loadUnaligned(fromByteOffset: i &+ 24, as: UInt64.self))
            i &+= 32
        }
        // Folded through the lane step, not XORed: a linear fold would let differences in two
        // lanes cancel.
        h = lane(lane(lane(a, b), c), d)
    }
    while i &+ 8 <= n {
        // Safe because i + 8 <= n.
        h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
        h = (h &<< 31) | (h &>> 33)
        i &+= 8
    }
    if i < n {
        // The last 1-7 bytes, read as the tail of the final eight (overlapping) when possible.
        var tail: UInt64 = 0
        if n >= 8 {
            tail = raw.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        } else {
            for k in 0..<(n &- i) { tail |= UInt64(p[i &+ k]) &<< UInt64(k &* 8) }
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
    }
    return mix(h)
}

@inline(__always)
func lane(_ h: UInt64, _ word: UInt64) -> UInt64 {
    let x = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
    return (x &<< 31) | (x &>> 33)
}

@inline(__always)
func mix(_ x: UInt64) -> UInt64 {
    var h = x
    h ^= h &>> 33
    h = h &* 0xFF51_AFD7_ED55_8CCD
    h ^= h &>> 33
    return h
}

@inline(__always)
func bytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    // The C library's comparison, vectorised, wins for long keys; short ones stay inline.
    if n >= 64 { return memcmp(a, b, n) == 0 }
    let ra = UnsafeRawPointer(a)
    let rb = UnsafeRawPointer(b)
    var i = 0
    while i &+ 8 <= n {
        if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        {
            return false
        }
        i &+= 8
    }
    while i < n {
        if a[i] != b[i] { return false }
        i &+= 1
    }
    return true
}

/// The index of the first `byte` in `bytes`, by the C library's vectorised search.
@inline(__always)
func firstIndex(of byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
    guard let base = bytes.baseAddress, !bytes.isEmpty, let found = memchr(base, Int32(byte), bytes.count) else {
        return nil
    }
    return UnsafeRawPointer(found) - UnsafeRawPointer(base)
}
