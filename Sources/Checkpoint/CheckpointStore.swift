import Exposition
import Foundation
import Tailer

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Reads and writes the checkpoint file in a state directory.
///
/// A write goes to `logmetrics.state.tmp`, is flushed to disk, renamed over `logmetrics.state`,
/// and the directory is flushed too: after a crash at any point the directory holds the old
/// checkpoint or the new one, whole. A temporary file that survived a crash after its flush but
/// before its rename is newer than the main file; ``load()`` takes whichever of the two is valid
/// and newest.
public struct CheckpointStore: Sendable {
    public let directory: String
    public var path: String { directory + "/logmetrics.state" }
    var temporaryPath: String { path + ".tmp" }

    public init(directory: String) {
        self.directory = directory
    }

    /// What ``load()`` found.
    public enum Loaded: Sendable {
        /// No checkpoint: a first start.
        case none
        case checkpoint(Checkpoint, path: String)
    }

    /// The newest valid checkpoint. A file that does not decode, or is of another version, is
    /// renamed to `<name>.corrupt-<seconds>` so that it is kept for a post-mortem but not read
    /// again, and reported in `problems`; it is never fatal. A temporary file that does not
    /// decode is a write cut short (a kill while it was written, before its rename) and is
    /// removed.
    public func load() -> (loaded: Loaded, problems: [String]) {
        var problems: [String] = []
        var best: (Checkpoint, String)?
        for candidate in [path, temporaryPath] {
            guard FileManager.default.fileExists(atPath: candidate) else { continue }
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: candidate))
                let checkpoint: Checkpoint
                do {
                    checkpoint = try JSONDecoder().decode(Checkpoint.self, from: data)
                } catch  where candidate == temporaryPath {
                    // A write that a kill cut short: the main file is the last whole checkpoint.
                    unlink(candidate)
                    problems.append("\(candidate): an unfinished checkpoint write, removed")
                    continue
                }
                guard checkpoint.version == Checkpoint.currentVersion else {
                    throw SystemError(
                        "read", path: candidate, errno: 0,
                        reason: "version \(checkpoint.version), this logmetrics reads \(Checkpoint.currentVersion)")
                }
                if best == nil || checkpoint.writtenAt > best!.0.writtenAt { best = (checkpoint, candidate) }
            } catch {
                let aside = candidate + ".corrupt-\(Int(Date().timeIntervalSince1970))"
                let moved = rename(candidate, aside) == 0
                problems.append(
                    "\(candidate): not a usable checkpoint (\(error)); "
                        + (moved
                            ? "set aside as \(aside)" : "could not set it aside: \(String(cString: strerror(errno)))"))
            }
        }
        guard let best else { return (.none, problems) }
        return (.checkpoint(best.0, path: best.1), problems)
    }

    /// Writes `checkpoint` atomically and durably (see the type's documentation).
    public func save(_ checkpoint: Checkpoint) throws(SystemError) {
        let data: Data
        do {
            data = try JSONEncoder().encode(checkpoint)
        } catch {
            throw SystemError("encode", path: path, errno: 0, reason: "\(error)")
        }
        try replace { write throws(SystemError) in
            var failure: SystemError?
            data.withUnsafeBytes { bytes in
                do throws(SystemError) { try write(bytes) } catch { failure = error }
            }
            if let failure { throw failure }
        }
    }

    /// Writes the checkpoint of `families` (a snapshot's) and `positions` atomically and
    /// durably, as ``save(_:)`` would write `Checkpoint(writtenAt:positions:families:)` of their
    /// saved forms, but from the snapshot's columns a piece at a time (see
    /// ``CheckpointWriter``).
    public func save(
        writtenAt: Double, positions: [SavedPosition], families: [MetricFamilySnapshot]
    ) throws(SystemError) {
        try replace { write throws(SystemError) in
            var writer = CheckpointWriter(sink: write)
            try writer.write(writtenAt: writtenAt, positions: positions, families: families)
        }
    }

    /// Runs `body` with a function that appends to the temporary file, then flushes it and
    /// renames it over the checkpoint; on any failure the temporary file is removed.
    private func replace(
        _ body: (_ write: @escaping (UnsafeRawBufferPointer) throws(SystemError) -> Void) throws(SystemError) -> Void
    ) throws(SystemError) {
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("open", path: temporaryPath, errno: errno) }
        let temporaryPath = self.temporaryPath
        var failure: SystemError?
        do throws(SystemError) {
            try body { buffer throws(SystemError) in
                var offset = 0
                while offset < buffer.count {
                    let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SystemError("write", path: temporaryPath, errno: errno)
                    }
                    offset += n
                }
            }
        } catch {
            failure = error
        }
        if failure == nil && fsync(fd) != 0 { failure = SystemError("fsync", path: temporaryPath, errno: errno) }
        close(fd)
        if let failure {
            unlink(temporaryPath)
            throw failure
        }
        guard rename(temporaryPath, path) == 0 else {
            let error = SystemError("rename", path: path, errno: errno)
            unlink(temporaryPath)
            throw error
        }
        // The rename is durable only once the directory entry is.
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}
