import Testing

@testable import AccessLogParser

@Suite struct ContainerLogFormatTests {
    func cri(_ line: String) -> ContainerLogFormat.CRIRecord? {
        Array(line.utf8).withUnsafeBufferPointer { ContainerLogFormat.parseCRI($0) }
    }

    @Test func containerdAndCRIOTimestamps() {
        let containerd = cri("2026-11-20T10:00:00.12345Z stdout F {\"a\":1}")
        #expect(containerd?.stream == 0)
        #expect(containerd?.isPartial == false)
        #expect(containerd?.content == 36..<43)
        let crio = cri("2026-11-20T10:00:00.123456789+01:00 stderr P partial")
        #expect(crio?.stream == 1)
        #expect(crio?.isPartial == true)
        #expect(cri("2026-11-20T10:00:00Z stdout F x")?.content == 30..<31)
    }

    @Test func extraTagsAreIgnoredAndEmptyContentIsAllowed() {
        #expect(cri("2026-11-20T10:00:00.1Z stdout F:x:y hello")?.isPartial == false)
        #expect(cri("2026-11-20T10:00:00.1Z stdout F ")?.content.isEmpty == true)
        #expect(cri("2026-11-20T10:00:00.1Z stdout F")?.content.isEmpty == true)
    }

    @Test(arguments: [
        "2026-11-20T10:00:00.1Z stdin F x", "2026-11-20T10:00:00.1Z stdout X x", "2026-11-20 10:00:00.1Z stdout F x",
        "{\"log\":\"x\"}", "2026-11-20T10:00:00.1Z stdout FF x", "short",
    ])
    func notCRI(_ line: String) {
        #expect(cri(line) == nil)
    }
}

@Suite struct AccessLogDecoderTests {
    let good = istioLine()

    func criLine(
        _ content: String, stream: String = "stdout", tag: String = "F", ts: String = "2026-11-20T10:00:00.906331782Z"
    )
        -> String
    {
        "\(ts) \(stream) \(tag) \(content)\n"
    }

    func dockerLine(_ content: String, stream: String = "stdout") -> String {
        var escaped = ""
        for scalar in content.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "{\"log\":\"\(escaped)\",\"stream\":\"\(stream)\",\"time\":\"2026-11-20T10:00:00.906331782Z\"}\n"
    }

    @Test func rawLines() {
        let (sink, decoder) = decode(good + "\n" + good + "\r\n" + good)
        #expect(sink.records.count == 3)
        #expect(decoder.counts.parsed == 3)
        #expect(decoder.envelope == .raw)
        #expect(decoder.detectedPreset == .istio)
    }

    @Test func criRecordsWithPartialReassemblyPerStream() {
        let a = istioLine(route: "a")
        let b = istioLine(route: "b")
        let a1 = String(a.prefix(100))
        let a2 = String(a.dropFirst(100).prefix(300))
        let a3 = String(a.dropFirst(400))
        let input =
            criLine(a1, tag: "P") + criLine("2026-11-20 warning from envoy", stream: "stderr")
            + criLine(a2, tag: "P", ts: "2026-11-20T10:00:00.9Z") + criLine(b, stream: "stderr")
            + criLine(a3, tag: "F") + criLine(good)
        for chunk in [1, 7, 64, 1 << 20] {
            let (sink, decoder) = decode(input, chunkSize: chunk)
            #expect(decoder.envelope == .cri)
            #expect(sink.records.map { $0[.routeName] } == ["b", "a", "users_item"], "chunk \(chunk)")
            #expect(decoder.counts.parsed == 3)
            #expect(decoder.counts[skipped: .notAccessLog] == 1)
            #expect(decoder.counts.total == 4)
        }
    }

    /// Where a resumed reader must start so that a pending partial record is read whole: the
    /// start of its first `P` line, measured back from the end of the last complete line.
    @Test func pendingPartialsSayHowFarBackTheyBegan() {
        let a = istioLine(route: "a")
        let first = criLine(good)
        let p1 = criLine(String(a.prefix(100)), tag: "P")
        let other = criLine("2026-11-20 warning from envoy", stream: "stderr")
        let p2 = criLine(String(a.dropFirst(100).prefix(300)), tag: "P")
        let rest = criLine(String(a.dropFirst(400)), tag: "F")
        for chunk in [1, 7, 1 << 20] {
            let decoder = AccessLogDecoder(configuration: ParserConfiguration())
            var sink = CollectingSink()
            func feed(_ text: String) {
                let bytes = Array(text.utf8)
                var offset = 0
                bytes.withUnsafeBufferPointer { buffer in
                    while offset < buffer.count {
                        let end = min(offset + chunk, buffer.count)
                        decoder.feed(UnsafeBufferPointer(rebasing: buffer[offset..<end]), into: &sink)
                        offset = end
                    }
                }
            }
            feed(first)
            #expect(decoder.bytesSincePendingPartial == 0)
            feed(p1 + other + p2)
            #expect(decoder.bytesSincePendingPartial == Int64((p1 + other + p2).utf8.count), "chunk \(chunk)")
            feed(rest)
            #expect(decoder.bytesSincePendingPartial == 0)
            #expect(sink.records.count == 2)
        }
    }

    @Test func criPartialNeverFollowedByFinal() {
        let cut = String(good.prefix(200))
        let (sink, decoder) = decode(criLine(good) + criLine(cut, tag: "P"))
        #expect(sink.records.count == 1)
        #expect(decoder.counts[malformed: .incompletePartial] == 1)
        #expect(sink.rejected == [.malformed(.incompletePartial)])
    }

    @Test func criPartialsBeyondTheBoundAreOversized() {
        let configuration = ParserConfiguration(maxLineLength: 1000)
        let piece = String(repeating: "x", count: 600)
        let input = criLine(piece, tag: "P") + criLine(piece, tag: "P") + criLine("end", tag: "F") + criLine(good)
        let (sink, decoder) = decode(input, configuration: configuration)
        #expect(decoder.counts.oversized == 1)
        #expect(sink.records.count == 1)
        #expect(decoder.counts.total == 2)
    }

    @Test func dockerRecordsIncludingSplitOnes() {
        let long = istioLine(route: "long", userAgent: String(repeating: "u", count: 40_000))
        let pieces = [
            String(long.prefix(16384)), String(long.dropFirst(16384).prefix(16384)),
            String(long.dropFirst(32768)) + "\n",
        ]
        var input = dockerLine(good + "\n")
        for piece in pieces { input += dockerLine(piece) }
        input += dockerLine("[2026-11-20 10:00:00.1][1][info] envoy says hi\n", stream: "stderr")
        input += dockerLine(istioLine(route: "last") + "\n")
        for chunk in [13, 4096, 1 << 20] {
            let (sink, decoder) = decode(input, chunkSize: chunk)
            #expect(decoder.envelope == .docker)
            #expect(sink.records.map { $0[.routeName] } == ["users_item", "long", "last"], "chunk \(chunk)")
            #expect(sink.records[1][.userAgent]?.count == 40_000)
            #expect(decoder.counts.parsed == 3)
            #expect(decoder.counts[skipped: .notAccessLog] == 1)
        }
    }

    @Test func dockerEnvelopeErrorsAreCounted() {
        let input = dockerLine(good + "\n") + "{\"log\":\"cut in the middle\n" + "{\"log\":42,\"stream\":\"stdout\"}\n"
        let (sink, decoder) = decode(input)
        #expect(sink.records.count == 1)
        #expect(decoder.counts[malformed: .invalidContainerRecord] == 2)
    }

    /// The bad inputs every deployment meets, mixed with valid lines: each bad line is counted under
    /// its own outcome and the valid lines around it are all counted.
    @Test func badInputIsCountedAndValidLinesAroundItSurvive() {
        var input: [UInt8] = []
        func add(_ s: String) { input += Array(s.utf8) + [0x0A] }
        func addBytes(_ b: [UInt8]) { input += b + [0x0A] }
        add(good)
        add(String(good.prefix(300)))  // truncated JSON
        add(good)
        // Binary junk (no newline, `{` or `[` in it).
        addBytes((0..<200).map { UInt8(($0 * 37 + 11) % 256) }.filter { $0 != 0x0A && $0 != 0x7B && $0 != 0x5B })
        add(good)
        // Invalid UTF-8 inside a value: still a record.
        addBytes(Array("{\"response_code\":200,\"user_agent\":\"".utf8) + [0xC3, 0x28, 0xFF] + Array("\"}".utf8))
        addBytes(Array(good.utf8).map { $0 == UInt8(ascii: ",") ? 0 : $0 })  // NUL bytes in place of commas
        add(good)
        add("{\"response_code\":200,\"path\":\"/" + String(repeating: "a", count: 1 << 20) + "\"}")  // 1 MiB line
        add("")
        add("   ")
        add("{")
        add(
            "{\"response_code\":200,\"x\":" + String(repeating: "[", count: 100_000)
                + String(repeating: "]", count: 100_000) + "}")
        add("[2026-11-20 10:00:00.123][15][warning][config] StreamAggregatedResources gRPC config stream closed")
        add("2026-11-20T10:00:00.123456Z\twarning\tenvoy config\tgRPC config stream closed: 13")
        add("{\"level\":\"info\",\"msg\":\"not an access log\"}")
        add(good)
        // A bound above the deeply nested line (200 KB) and below the 1 MiB one.
        let configuration = ParserConfiguration(maxLineLength: 512 * 1024)
        for chunk in [4096, 1 << 16, 1 << 20] {
            let (sink, decoder) = decode(input, chunkSize: chunk, configuration: configuration)
            let counts = decoder.counts
            #expect(sink.records.count == 6, "chunk \(chunk)")
            #expect(counts.parsed == 6)
            #expect(counts[malformed: .truncatedJSON] == 2, "the cut line and the lone {")
            #expect(counts[malformed: .invalidJSON] == 1, "NUL bytes in place of commas")
            #expect(counts[malformed: .nestingTooDeep] == 1)
            #expect(counts.oversized == 1)
            #expect(counts[skipped: .empty] == 2)
            #expect(counts[skipped: .notAccessLog] == 3, "junk, Envoy's and pilot-agent's own lines")
            #expect(counts[skipped: .notAccessRecord] == 1)
            #expect(counts.total == 17)
        }
    }

    @Test func textAndJSONRecordsMayShareAStream() {
        let text =
            #"[2026-11-20T10:00:00.123Z] "GET /healthz HTTP/1.1" 200 - via_upstream - "-" 0 3 1 1 "-" "kube-probe/1.30" "id" "api" "10.0.0.1:8080" outbound|8080||api.ns.svc.cluster.local 10.0.0.2:5000 10.0.0.3:8080 10.0.0.4:6000 - healthz"#
        let (sink, decoder) = decode(text + "\n" + good + "\n")
        #expect(sink.records.map { $0[.routeName] } == ["healthz", "users_item"])
        #expect(decoder.detectedPreset == .istioText)
    }

    @Test func syntaxesCanBeRestricted() {
        let text = #"[2026-11-20T10:00:00.123Z] "GET / HTTP/1.1" 200 - "-" 0 3 1 1 "-" "ua" "id" "api" "10.0.0.1:8080""#
        let (_, decoder) = decode(text + "\n" + good + "\n", configuration: ParserConfiguration(syntaxes: .json))
        #expect(decoder.counts.parsed == 1)
        #expect(decoder.counts[skipped: .notAccessLog] == 1)
    }

    @Test func lastLineWithoutNewlineIsParsedAtTheEnd() {
        let (sink, _) = decode(good + "\n" + good)
        #expect(sink.records.count == 2)
    }
}
