/// Recognising and splitting the container runtimes' log envelopes.
public enum ContainerLogFormat {
    /// A CRI record: `<timestamp> <stdout|stderr> <P|F>[:more tags] <content>`.
    public struct CRIRecord: Equatable {
        /// 0 for stdout, 1 for stderr.
        public var stream: Int
        public var isPartial: Bool
        public var content: Range<Int>
    }

    /// Splits a CRI record. The timestamp must look like RFC 3339 (containerd trims trailing
    /// zeros and writes `Z`; CRI-O writes nine digits and a numeric offset); its value is not used.
    public static func parseCRI(_ line: UnsafeBufferPointer<UInt8>) -> CRIRecord? {
        let n = line.count
        // Shortest timestamp: 2006-01-02T15:04:05Z
        guard n >= 29, line[4] == UInt8(ascii: "-"), line[7] == UInt8(ascii: "-"), line[10] == UInt8(ascii: "T"),
            line[13] == UInt8(ascii: ":"), isDigit(line[0])
        else { return nil }
        var i = 19
        while i < n && line[i] != 0x20 { i += 1 }
        guard i + 8 < n || i + 8 == n else { return nil }
        // " stdout " or " stderr "
        let streamStart = i + 1
        guard streamStart + 7 <= n, line[streamStart] == UInt8(ascii: "s"), line[streamStart + 1] == UInt8(ascii: "t"),
            line[streamStart + 2] == UInt8(ascii: "d"), line[streamStart + 6] == 0x20
        else { return nil }
        let stream: Int
        if line[streamStart + 3] == UInt8(ascii: "o") && line[streamStart + 4] == UInt8(ascii: "u")
            && line[streamStart + 5] == UInt8(ascii: "t")
        {
            stream = 0
        } else if line[streamStart + 3] == UInt8(ascii: "e") && line[streamStart + 4] == UInt8(ascii: "r")
            && line[streamStart + 5] == UInt8(ascii: "r")
        {
            stream = 1
        } else {
            return nil
        }
        let tagStart = streamStart + 7
        guard tagStart < n, line[tagStart] == UInt8(ascii: "P") || line[tagStart] == UInt8(ascii: "F") else {
            return nil
        }
        var tagEnd = tagStart + 1
        while tagEnd < n && line[tagEnd] != 0x20 { tagEnd += 1 }
        // Only the first tag is read; further `:`-separated tags are for forward compatibility.
        guard tagEnd == tagStart + 1 || line[tagStart + 1] == UInt8(ascii: ":") else { return nil }
        let contentStart = min(tagEnd + 1, n)
        return CRIRecord(stream: stream, isPartial: line[tagStart] == UInt8(ascii: "P"), content: contentStart..<n)
    }

    /// Whether a line is a docker json-file record: docker always writes the `log` key first.
    public static func looksLikeDocker(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let prefix: [UInt8] = Array(#"{"log":"#.utf8)
        guard line.count > prefix.count else { return false }
        for k in 0..<prefix.count where line[k] != prefix[k] { return false }
        return true
    }

    static func isStderr(_ stream: UnsafeBufferPointer<UInt8>?) -> Bool {
        guard let stream, stream.count == 6 else { return false }
        return stream[3] == UInt8(ascii: "e")
    }

    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }
}
