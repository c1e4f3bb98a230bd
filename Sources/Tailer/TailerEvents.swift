/// What a ``Tailer`` reports, one method per event, all called on the tailer's thread.
///
/// For each input the calls come in this order:
///
///     opened (read | truncated)* [endOfFile (rotated (read | truncated)* endOfFile)*] closed?
///
/// - ``read(_:from:)`` hands over bytes in file order. A chunk can end in the middle of a line;
///   the next chunk of the same input continues it.
/// - ``endOfFile(_:)``: the file being read is finished (rotated away, deleted, or replaced) and
///   has been read to its end: an unfinished last line will not be continued, so the caller
///   should settle it now.
/// - ``rotated(_:path:identity:)``: the input goes on with a newer file, from its first byte.
/// - ``truncated(_:possiblyMissed:)``: the file was cut short (copytruncate); reading restarts
///   at its first byte. Any unfinished line held by the caller is cut and should be dropped.
/// - ``closed(_:)``: the input is released (its file deleted, or gone with its directory); no
///   more events come for it. ``Tailer/close()`` releases inputs without this event.
///
/// A literal path whose file was deleted gets ``rotated(_:path:identity:)`` when a file is back.
/// ``failed(_:error:)`` can come at any point. Every method but ``read(_:from:)`` has an empty
/// default.
public protocol TailerEvents: AnyObject {
    /// Bytes read from the input's current file. The buffer is the tailer's own and is reused
    /// as soon as the call returns: copy what must outlive the call.
    func read(_ bytes: UnsafeBufferPointer<UInt8>, from input: InputID)

    /// The input opened its first file. `labels` come from the path (see ``KubernetesLogPath``);
    /// empty when the path says nothing.
    func opened(_ input: InputID, path: String, identity: FileIdentity, labels: [String: String])

    /// The input moved on to a newer file at `path` (after ``endOfFile(_:)`` for the older one).
    func rotated(_ input: InputID, path: String, identity: FileIdentity)

    /// The file was truncated; reading restarts at 0. What copytruncate's copy held past the
    /// read position has been delivered just before. `possiblyMissed` is how many bytes are known
    /// to have been lost besides (seen in the file, in no copy); see ``Tailer`` for why it is a
    /// lower bound.
    func truncated(_ input: InputID, possiblyMissed: UInt64)

    /// The input's current file has been read to its end and released.
    func endOfFile(_ input: InputID)

    /// The input is released.
    func closed(_ input: InputID)

    /// The input for `path` is released, opened or not (``closed(_:)`` comes only for inputs
    /// that were opened): the path may be discovered again later as a new input.
    func released(_ input: InputID, path: String)

    /// Something failed. Reported once per distinct error and input until the input succeeds
    /// again; `input` is nil for failures not tied to one input (a glob, the inotify set-up).
    func failed(_ input: InputID?, error: SystemError)
}

extension TailerEvents {
    public func opened(_ input: InputID, path: String, identity: FileIdentity, labels: [String: String]) {}
    public func rotated(_ input: InputID, path: String, identity: FileIdentity) {}
    public func truncated(_ input: InputID, possiblyMissed: UInt64) {}
    public func endOfFile(_ input: InputID) {}
    public func closed(_ input: InputID) {}
    public func released(_ input: InputID, path: String) {}
    public func failed(_ input: InputID?, error: SystemError) {}
}
