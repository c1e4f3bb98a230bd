#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The names in a directory (without `.` and `..`), unsorted.
func directoryEntries(_ directory: String) throws(SystemError) -> [String] {
    guard let handle = opendir(directory) else { throw SystemError("opendir", path: directory, errno: errno) }
    defer { closedir(handle) }
    var names: [String] = []
    // readdir returns nil both at the end and on failure; only errno tells them apart.
    errno = 0
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    if errno != 0 { throw SystemError("readdir", path: directory, errno: errno) }
    return names
}

/// Files next to `path` whose names extend its name (`access.log.1`, `0.log.20240101-120000`,
/// `access.log-20240101`), uncompressed: where rotation by rename and copytruncate leave the old
/// content. Returned with their status, unopened.
func rotatedSiblings(of path: String) throws(SystemError) -> [(path: String, status: FileStatus)] {
    let directory = directoryName(path)
    let base = baseName(path)
    var found: [(path: String, status: FileStatus)] = []
    for name in try directoryEntries(directory) where name.utf8.count > base.utf8.count && name.hasPrefix(base) {
        let separator = name.utf8[name.utf8.index(name.utf8.startIndex, offsetBy: base.utf8.count)]
        guard separator == UInt8(ascii: ".") || separator == UInt8(ascii: "-") || separator == UInt8(ascii: "_")
        else { continue }
        guard !isCompressedName(name) else { continue }
        let candidate = joinPath(directory, name)
        // A sibling that vanished or cannot be looked at is simply not a candidate.
        guard let status = try? FileStatus.of(path: candidate), status.kind == .regular else { continue }
        found.append((candidate, status))
    }
    return found
}

/// Compressed or temporary names that are never read as log text.
func isCompressedName(_ name: String) -> Bool {
    for suffix in [".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".tmp"] where name.hasSuffix(suffix) { return true }
    return false
}
