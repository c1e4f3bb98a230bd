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
    /// The fingerprint of the file the input finished before this one, if any: when this file
    /// was still empty (no fingerprint of its own) and is found only compressed after a restart,
    /// it is the generation after that one.
    public var previousFingerprintLength: Int?
    public var previousFingerprintHash: UInt64?
    /// When the position was taken, in seconds since the epoch: compressed generations written
    /// after it cannot have been read.
    public var savedAt: Double?
    /// The file's birth time, nanoseconds since the epoch, where the file system records it.
    public var birth: Int64?

    public init(
        path: String, identity: FileIdentity, offset: Int64, previous: Fingerprint? = nil, savedAt: Double? = nil
    ) {
        self.path = path
        self.device = identity.device
        self.inode = identity.inode
        self.fingerprintLength = identity.fingerprint.length
        self.fingerprintHash = identity.fingerprint.hash
        self.offset = offset
        self.previousFingerprintLength = previous?.length
        self.previousFingerprintHash = previous?.hash
        self.savedAt = savedAt
        self.birth = identity.birth
    }

    /// ``previousFingerprintLength`` and ``previousFingerprintHash`` together.
    public var previousFingerprint: Fingerprint? {
        guard let length = previousFingerprintLength, let hash = previousFingerprintHash else { return nil }
        return Fingerprint(length: length, hash: hash)
    }

    public var identity: FileIdentity {
        FileIdentity(
            device: device, inode: inode, fingerprint: Fingerprint(length: fingerprintLength, hash: fingerprintHash),
            birth: birth)
    }

    var key: FileKey { FileKey(device: device, inode: inode) }
}
