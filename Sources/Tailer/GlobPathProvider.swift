#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Paths from command-line arguments: literal paths, and `glob(3)` patterns (`*`, `?`, `[...]`)
/// expanded again on every call.
///
/// For a pattern such as `/var/log/pods/*_istio-*/istio-proxy/*.log` the directories to watch
/// are `/var/log/pods`, every `/var/log/pods/*_istio-*` and every
/// `/var/log/pods/*_istio-*/istio-proxy`: a new pod directory, a new container directory and a
/// new log file (a container restart's `1.log`) are each an entry in one of them.
///
/// Matches that are compressed (`.gz`) or named like rotated kubelet files
/// (`N.log.YYYYMMDD-HHMMSS`) are left out: a rotated file is reached through the file it was
/// rotated from, and compressed files are read by `report`, never followed.
public struct GlobPathProvider: PathProvider, Sendable {
    public let patterns: [String]

    public init(patterns: [String]) {
        self.patterns = patterns
    }

    /// Whether `text` contains `glob(3)` wildcards.
    public static func isPattern(_ text: String) -> Bool {
        text.utf8.contains { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "[") }
    }

    public func discover() -> PathDiscovery {
        var discovery = PathDiscovery()
        var seen = Set<String>()
        var directories = Set<String>()
        for pattern in patterns {
            if !Self.isPattern(pattern) {
                if seen.insert(pattern).inserted {
                    discovery.paths.append(DiscoveredPath(path: pattern, isLiteral: true))
                }
                directories.insert(directoryName(pattern))
                continue
            }
            do throws(SystemError) {
                for path in try Self.expand(pattern, directoriesOnly: false)
                where !Self.isRotatedOrCompressed(path) && seen.insert(path).inserted {
                    discovery.paths.append(DiscoveredPath(path: path, isLiteral: false))
                }
                for directory in try Self.walkedDirectories(pattern) { directories.insert(directory) }
            } catch {
                discovery.errors.append(error)
            }
        }
        discovery.directories = directories.sorted()
        return discovery
    }

    /// Names a follower should not pick up on its own: compressed files and kubelet's rotated
    /// `N.log.YYYYMMDD-HHMMSS` (and their `.tmp` while kubelet compresses them).
    static func isRotatedOrCompressed(_ path: String) -> Bool {
        let name = baseName(path)
        if name.hasSuffix(".gz") || name.hasSuffix(".tmp") { return true }
        return KubernetesLogPath.rotationSuffix(of: name) != nil
    }

    /// The directories a pattern's wildcards walk through: the literal directory before the
    /// first wildcard component, then every match of each longer prefix up to the last
    /// component's parent.
    static func walkedDirectories(_ pattern: String) throws(SystemError) -> [String] {
        let components = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let firstWild = components.firstIndex(where: isPattern) else { return [directoryName(pattern)] }
        let literalPrefix = components[..<firstWild].joined(separator: "/")
        var directories = [literalPrefix.isEmpty ? (pattern.hasPrefix("/") ? "/" : ".") : literalPrefix]
        // Prefixes ending at a wildcard component, short of the last component (the files).
        for end in firstWild..<(components.count - 1) {
            let prefix = components[...end].joined(separator: "/")
            directories += try expand(prefix, directoriesOnly: true)
        }
        return directories
    }

    /// `glob(3)`, sorted. `GLOB_NOMATCH` is an empty answer, not an error.
    /// Every path `pattern` matches now, sorted, rotated and compressed files included (for
    /// reading files once, as `report` does); a path without wildcards is returned as it is.
    public static func matches(of pattern: String) throws(SystemError) -> [String] {
        guard isPattern(pattern) else { return [pattern] }
        return try expand(pattern, directoriesOnly: false)
    }

    static func expand(_ pattern: String, directoriesOnly: Bool) throws(SystemError) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        #if canImport(Darwin)
            let flags = directoriesOnly ? GLOB_MARK : 0
        #else
            let flags = directoriesOnly ? GLOB_ONLYDIR | GLOB_MARK : 0
        #endif
        // No error callback: unreadable directories are skipped; a file under one shows up as
        // missing, and the file itself reports its error when opened.
        let status = glob(pattern, flags, nil, &result)
        switch status {
        case 0: break
        case GLOB_NOMATCH: return []
        case GLOB_NOSPACE: throw SystemError("glob", path: pattern, errno: ENOMEM)
        default: throw SystemError("glob", path: pattern, errno: EIO, reason: "glob failed with status \(status)")
        }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            guard let cString = result.gl_pathv[index] else { continue }
            var path = String(cString: cString)
            if directoriesOnly {
                // GLOB_MARK appends "/" to directories; GLOB_ONLYDIR is only a hint, so the mark
                // is what tells directories from files.
                guard path.hasSuffix("/") else { continue }
                if path.count > 1 { path.removeLast() }
            }
            paths.append(path)
        }
        return paths.sorted()
    }
}
