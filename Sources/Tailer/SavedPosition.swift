/// Where reading of one path stopped: enough to resume exactly after a restart.
///
/// `offset` is the position just after the last newline delivered, not of the last byte: a
/// line that was unfinished when the position was taken is read again whole after a restart,
/// instead of arriving without its head.
public struct SavedPosition: Hashable, Sendable, Codable {
    public var path: String
    public var device: UInt64
    public var inode: UInt64
    public var fingerprintLength: Int
    public var fingerprintHash: UInt64
    public var offset: Int64

    public init(path: String, identity: FileIdentity, offset: Int64) {
        self.path = path
        self.device = identity.device
        self.inode = identity.inode
        self.fingerprintLength = identity.fingerprint.length
        self.fingerprintHash = identity.fingerprint.hash
        self.offset = offset
    }

    public var identity: FileIdentity {
        FileIdentity(
            device: device, inode: inode, fingerprint: Fingerprint(length: fingerprintLength, hash: fingerprintHash))
    }

    var key: FileKey { FileKey(device: device, inode: inode) }
}
