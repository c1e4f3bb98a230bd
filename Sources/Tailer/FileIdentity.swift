/// Which file an input is reading: device, inode and a fingerprint of its first bytes.
///
/// Device and inode identify the file while it exists; the fingerprint tells it apart from a
/// later file that got the same inode number (checked when resuming from a ``SavedPosition``).
public struct FileIdentity: Hashable, Sendable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64
    public var fingerprint: Fingerprint

    public init(device: UInt64, inode: UInt64, fingerprint: Fingerprint) {
        self.device = device
        self.inode = inode
        self.fingerprint = fingerprint
    }

    var key: FileKey { FileKey(device: device, inode: inode) }

    public var description: String { "dev \(device) ino \(inode) fp \(fingerprint)" }
}
