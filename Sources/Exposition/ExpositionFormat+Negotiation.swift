// MARK: - Content negotiation

extension ExpositionFormat {
    /// The format to answer a scrape with, given its `Accept` header.
    ///
    /// Each format takes the weight of the most specific entry that matches it; the heaviest
    /// format wins, ties going to the entry listed first and then to `text`, `openMetrics`,
    /// `protobuf` in that order (so `*/*` alone gets the most widely read format). When nothing
    /// acceptable matches, or the header is missing, the answer is text 0.0.4, as the exposition
    /// rules require.
    ///
    /// What matches:
    /// - `text/plain` with `version=0.0.4` or no version. (Text 1.0.0 differs from 0.0.4 only in
    ///   quoting UTF-8 names, which logmetrics never produces, but it is not offered: a client
    ///   asking for it also accepts 0.0.4.)
    /// - `application/openmetrics-text` with `version=1.0.0`, `version=0.0.1` or no version. The
    ///   answer is always 1.0.0: 0.0.1 was the draft of the same format, Prometheus chooses its
    ///   parser by media type alone, and the response names the version it really is.
    /// - `application/vnd.google.protobuf` with `proto=io.prometheus.client.MetricFamily` and
    ///   `encoding=delimited`.
    /// - `text/*` and `*/*` (text), `application/*` (OpenMetrics, then protobuf).
    ///
    /// `escaping` and `charset` are accepted and ignored: metric and label names are always
    /// valid legacy names, which every escaping scheme leaves unchanged.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept, !accept.isEmpty else { return .text }
        let ranges = MediaRange.parseList(accept)
        var best: (format: ExpositionFormat, quality: Double, position: Int)?
        for format in ExpositionFormat.allCases {
            var match: (specificity: Int, quality: Double, position: Int)?
            for (position, range) in ranges.enumerated() {
                guard let specificity = format.specificity(of: range) else { continue }
                if match == nil || specificity > match!.specificity {
                    match = (specificity, range.quality, position)
                }
            }
            guard let match, match.quality > 0 else { continue }
            if best == nil || match.quality > best!.quality
                || (match.quality == best!.quality && match.position < best!.position)
            {
                best = (format, match.quality, match.position)
            }
        }
        return best?.format ?? .text
    }

    /// How specifically `range` names this format (higher is more specific), or nil if it does
    /// not match it at all.
    func specificity(of range: MediaRange) -> Int? {
        switch range.value {
        case "*/*":
            return 0
        case "text/*":
            return self == .text ? 1 : nil
        case "application/*":
            return self == .text ? nil : 1
        case "text/plain":
            guard self == .text else { return nil }
            guard let version = range.parameters["version"] else { return 2 }
            return version == "0.0.4" ? 3 : nil
        case "application/openmetrics-text":
            guard self == .openMetrics else { return nil }
            guard let version = range.parameters["version"] else { return 2 }
            return version == "1.0.0" || version == "0.0.1" ? 3 : nil
        case "application/vnd.google.protobuf":
            guard self == .protobuf,
                range.parameters["proto"] == "io.prometheus.client.MetricFamily",
                range.parameters["encoding"]?.lowercased() == "delimited"
            else { return nil }
            return 3
        default:
            return nil
        }
    }
}
