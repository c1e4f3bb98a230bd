/// Pieces of a sample line shared by the text formats.
enum SampleLine {
    /// Appends `name{labels} ` (or `name ` without labels).
    @inline(__always)
    static func appendStart(_ name: [UInt8], _ labels: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: name)
        if !labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            out.append(contentsOf: labels)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
    }

    /// Appends `# <keyword> <name> `, what `text` appends, and a newline: a metadata line.
    static func appendComment(
        _ keyword: String, _ name: [UInt8], into out: inout [UInt8], text: (inout [UInt8]) -> Void
    ) {
        out.append(contentsOf: "# ".utf8)
        out.append(contentsOf: keyword.utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: name)
        out.append(UInt8(ascii: " "))
        text(&out)
        out.append(0x0A)
    }

    /// Grows `out` once for a family rather than doubling repeatedly while writing it; the first
    /// series' labels stand for the rest.
    static func reserve(
        series count: Int, bytesPerSeries: Int, labels: SeriesLabels, linesPerSeries: Int = 1, into out: inout [UInt8]
    ) {
        let typicalLabels = labels.isEmpty ? 0 : labels.escapedCount(0)
        out.reserveCapacity(out.count + count * (bytesPerSeries + typicalLabels * linesPerSeries))
    }

    /// Series `index`'s escaped labels, rendered into `scratch` (emptied first, capacity kept):
    /// one rendering per series, copied into each of its lines.
    @inline(__always)
    static func escapedLabels(_ labels: SeriesLabels, _ index: Int, into scratch: inout [UInt8]) {
        scratch.removeAll(keepingCapacity: true)
        labels.appendEscaped(index, to: &scratch)
    }

    /// `le="<bound>"} ` for each bucket, then `le="+Inf"} `.
    static func leSuffixes(_ labels: [[UInt8]]) -> [[UInt8]] {
        var suffixes: [[UInt8]] = []
        suffixes.reserveCapacity(labels.count + 1)
        for label in labels {
            suffixes.append(Array(#"le=""#.utf8) + label + Array(#""} "#.utf8))
        }
        suffixes.append(Array(#"le="+Inf"} "#.utf8))
        return suffixes
    }
}
