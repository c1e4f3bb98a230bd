/// A fast non-cryptographic hash of a byte string, eight bytes per step.
///
/// Label values are hashed on every line; they are short (a route name, a method), so the cost
/// is dominated by the setup, which this keeps to a few multiplies.
@inline(__always)
func hashBytes(_ p: UnsafePointer<UInt8>?, _ n: Int) -> UInt64 {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(truncatingIfNeeded: n) &* 0xC2B2_AE3D_27D4_EB4F)
    guard let p, n > 0 else { return mix(h) }
    let raw = UnsafeRawPointer(p)
    var i = 0
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
func mix(_ x: UInt64) -> UInt64 {
    var h = x
    h ^= h &>> 33
    h = h &* 0xFF51_AFD7_ED55_8CCD
    h ^= h &>> 33
    return h
}

@inline(__always)
func bytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
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
