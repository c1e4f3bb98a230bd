#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A writable page followed by one that may not be read: bytes placed to end at `end` sit right
/// before it, so a read past them faults instead of passing unnoticed.
enum GuardedPage {
    struct MappingFailed: Error {}

    /// Runs `body` with the first byte of the page that may not be read and the page size.
    static func with<R>(_ body: (_ end: UnsafeMutablePointer<UInt8>, _ size: Int) throws -> R) throws -> R {
        let size = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard let region = mmap(nil, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            region != MAP_FAILED
        else { throw MappingFailed() }
        defer { munmap(region, 2 * size) }
        guard mprotect(region + size, size, PROT_NONE) == 0 else { throw MappingFailed() }
        return try body(region.assumingMemoryBound(to: UInt8.self) + size, size)
    }
}
