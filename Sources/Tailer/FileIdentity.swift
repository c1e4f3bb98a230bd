/// Which file an input is reading: device, inode, a fingerprint of its first bytes and, where
/// the file system records it, its birth time.
///
/// Device and inode identify the file while it exists; the fingerprint and the birth time tell
/// it apart from a later file that got the same inode number (checked when resuming from a
/// ``SavedPosition``). The fingerprint cannot do that for a file that was empty; the birth time
/// can, where there is one.
public struct FileIdentity: Hashable, Sendable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64
    public var fingerprint: Fingerprint
    /// Nanoseconds since the epoch, or nil when unknown.
    public var birth: Int64?

    public init(device: UInt64, inode: UInt64, fingerprint: Fingerprint, birth: Int64? = nil) {
        self.device = device
        self.inode = inode
        self.fingerprint = fingerprint
        self.birth = birth
    }

    /// Whether a file with identity `other` (same device and inode) can be this one: the birth
    /// times, when both are known, agree.
    func sameBirth(as other: FileIdentity) -> Bool {
        guard let birth, let theirs = other.birth else { return true }
        return birth == theirs
    }

    var key: FileKey { FileKey(device: device, inode: inode) }

    public var description: String { "dev \(device) ino \(inode) fp \(fingerprint)" }
}
