import Testing

@testable import AccessLogParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct JSONRecordScannerTests {
    @Test func readsEveryIstioKey() {
        let line = scan(istioLine())
        #expect(line.status == .record)
        #expect(line[.authority] == "shop.example.com")
        #expect(line.numbers[.responseCode] == 200)
        #expect(line.numbers[.duration] == 12)
        #expect(line.numbers[.upstreamServiceTime] == 11)
        #expect(line.numbers[.bytesSent] == 54)
        #expect(line[.routeName] == "users_item")
        #expect(line[.upstreamCluster] == "outbound|8080||users.shop.svc.cluster.local")
        #expect(line[.responseFlags] == nil, "'-' means no flags")
        #expect(line[.requestedServerName] == nil)
        #expect(line[.startTime] == "2026-11-20T10:00:00.123Z")
        #expect(line.hints & FieldMap.Hints.envoyGateway == 0)
    }

    @Test func keyOrderIsNotAContract() {
        let ordered = scan(istioLine(code: 503, flags: "URX,UF"))
        let shuffled = scan(
            #"{"response_flags":"URX,UF","route_name":"users_item","response_code":503,"path":"/users/42","method":"GET","duration":12}"#
        )
        #expect(shuffled.status == .record)
        for field in [AccessLogField.responseFlags, .routeName, .path, .method] {
            #expect(shuffled[field] == ordered[field])
        }
        #expect(shuffled.numbers[.responseCode] == 503)
    }

    @Test func numericFieldsAcceptNumbersAndNumericStrings() {
        let line = scan(#"{"response_code":"503","duration":"1047","upstream_service_time":"14","bytes_sent":95}"#)
        #expect(line.numbers[.responseCode] == 503)
        #expect(line.numbers[.duration] == 1047)
        #expect(line.numbers[.upstreamServiceTime] == 14)
        #expect(line.numbers[.bytesSent] == 95)
    }

    @Test func nullDashAndEmptyMeanAbsent() {
        let line = scan(
            #"{"response_code":0,"route_name":null,"authority":"-","path":"","upstream_service_time":"-","duration":null}"#
        )
        #expect(line.status == .record)
        #expect(line.numbers[.responseCode] == 0)
        for field in [AccessLogField.routeName, .authority, .path, .upstreamServiceTime, .duration] {
            #expect(!line.present.contains(field), "\(field)")
        }
        #expect(line.invalidNumbers.isEmpty)
    }

    @Test(arguments: [
        ("0", Int64(0)), ("-0", 0), ("14", 14), ("14.9", 14), ("1.5e3", 1500), ("2E2", 200), ("1e-2", 0),
        ("9223372036854775807", Int64.max), ("0.000", 0),
    ])
    func integerForms(text: String, value: Int64) {
        #expect(scan("{\"duration\":\(text)}").numbers[.duration] == value)
        #expect(scan("{\"duration\":\"\(text)\"}").numbers[.duration] == value)
    }

    @Test(arguments: [
        "1e999", "-3", "18446744073709551616", "9223372036854775808", "-", "1.", "--1", "1e", "abc", "0x10",
    ])
    func unusableNumbersMakeTheFieldAbsentButKeepTheRecord(text: String) {
        let asString = scan("{\"response_code\":200,\"duration\":\"\(text)\"}")
        #expect(asString.status == .record)
        #expect(asString.numbers[.duration] == nil)
        #expect(asString.numbers[.responseCode] == 200)
        if text != "-" { #expect(asString.invalidNumbers.contains(.duration)) }
    }

    @Test func invalidBareNumbersAreSyntaxErrorsOnlyWhenNotJSON() {
        // `1e999` is valid JSON (just out of range); `0x10` is not JSON at all.
        #expect(scan(#"{"response_code":200,"duration":1e999}"#).status == .record)
        #expect(scan(#"{"response_code":200,"duration":0x10}"#).status == .malformed(.invalidJSON))
    }

    @Test func escapesAreDecodedOnlyForValuesThatHaveThem() {
        let line = scan(#"{"response_code":200,"user_agent":"a \"quoted\" \\ agent\n\t\/x","path":"/plain"}"#)
        #expect(line[.userAgent] == "a \"quoted\" \\ agent\n\t/x")
        #expect(line[.path] == "/plain")
    }

    @Test func unicodeEscapesAndSurrogatePairs() {
        let line = scan(#"{"response_code":200,"path":"/caf\u00e9/\ud83d\ude00/\u4e2d","user_agent":"\ud800x"}"#)
        #expect(line[.path] == "/café/😀/中")
        #expect(line[.userAgent] == "\u{FFFD}x", "a lone surrogate becomes U+FFFD")
    }

    @Test func rawUTF8PassesThrough() {
        let line = scan(#"{"response_code":200,"user_agent":"Grüße ✓ 日本"}"#)
        #expect(line[.userAgent] == "Grüße ✓ 日本")
    }

    @Test func envoyOctalEscapesDoNotMakeARecordMalformed() {
        // Envoy's sanitizer writes every byte of a non-UTF-8 value as \NNN, quotes and backslashes too.
        let line = scan(#"{"response_code":200,"user_agent":"bad\377\376 \042q\042 \134","route_name":"r"}"#)
        #expect(line.status == .record)
        #expect(line[.routeName] == "r")
        let record = AccessRecord()
        var hints: UInt8 = 0
        let bytes = Array(#"{"response_code":200,"user_agent":"bad\377\376 \042q\042 \134"}"#.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            #expect(automaticScanner.scan(buffer, into: record, hints: &hints) == .record)
            let decoded = record.withValue(.userAgent) { Array($0!) }
            #expect(decoded == Array("bad".utf8) + [0xFF, 0xFE] + Array(" \"q\" \\".utf8))
        }
    }

    @Test func escapedQuotesBeforeTheClosingQuote() {
        let line = scan(#"{"response_code":200,"path":"a\\","user_agent":"b\\\"c\\\\","route_name":"\\\\\\"}"#)
        #expect(line.status == .record)
        #expect(line[.path] == "a\\")
        #expect(line[.userAgent] == "b\\\"c\\\\")
        #expect(line[.routeName] == "\\\\\\")
    }

    @Test func escapedKeysStillMatch() {
        let line = scan(#"{"respo\u006Ese_code":404,"rout\u0065_name":"x"}"#)
        #expect(line.numbers[.responseCode] == 404)
        #expect(line[.routeName] == "x")
    }

    @Test func duplicateKeysLastOneWins() {
        #expect(scan(#"{"response_code":200,"route_name":"a","route_name":"b"}"#)[.routeName] == "b")
        #expect(scan(#"{"response_code":200,"route_name":"a","route_name":null}"#)[.routeName] == nil)
        #expect(scan(#"{"response_code":200,"response_code":"503"}"#).numbers[.responseCode] == 503)
    }

    @Test func nestedValuesAreSkipped() {
        let line = scan(
            #"{"meta":{"a":[1,{"b":"}]\""},[[]],null],"c":{}},"response_code":200,"route_name":{"x":1},"path":"/p","list":[true,false,null,-1.5e3]}"#
        )
        #expect(line.status == .record)
        #expect(line.numbers[.responseCode] == 200)
        #expect(line[.routeName] == nil)
        #expect(line[.path] == "/p")
    }

    @Test func deepNestingIsBoundedNotRecursive() {
        let depth = 100_000
        let deep =
            "{\"response_code\":200,\"x\":" + String(repeating: "[", count: depth)
            + String(repeating: "]", count: depth) + "}"
        #expect(scan(deep).status == .malformed(.nestingTooDeep))
        let allowed = JSONRecordScanner.maxDepth
        let ok =
            "{\"response_code\":200,\"x\":" + String(repeating: "{\"a\":", count: allowed - 1) + "1"
            + String(repeating: "}", count: allowed - 1) + "}"
        #expect(scan(ok).status == .record)
    }

    @Test func mismatchedBracketsAreMalformed() {
        #expect(scan(#"{"response_code":200,"x":[1,2}}"#).status == .malformed(.invalidJSON))
        #expect(scan(#"{"response_code":200,"x":{"a":1]}"#).status == .malformed(.invalidJSON))
    }

    @Test func whitespaceWhereverJSONAllowsIt() {
        let line = scan("  {\t\"response_code\" :\r\n 200 , \"route_name\"\t:\t\"r\"  ,\"path\": \"/p\" }  \r")
        #expect(line.status == .record)
        #expect(line.numbers[.responseCode] == 200)
        #expect(line[.routeName] == "r")
    }

    @Test(arguments: [
        #"{"response_code":200,"path":"/p"#, #"{"response_code":200,"#, #"{"response_code":2"#, "{", #"{"resp"#,
        #"{"response_code":200,"path":"/p","x":[1,2"#, #"{"response_code":nu"#, #"{"response_code":200"#,
    ])
    func truncatedRecords(text: String) {
        #expect(scan(text).status == .malformed(.truncatedJSON))
    }

    @Test(arguments: [
        #"{"response_code":200,}"#, #"{"response_code" 200}"#, #"{response_code:200}"#, #"{"response_code":200}x"#,
        #"{"response_code":200}{"a":1}"#, #"{"response_code":nul}"#, #"{"response_code":True}"#, #"{"a":'x'}"#,
        "[1,2]", "{\"response_code\":200,\"path\":\"/p\"\u{0}}",
    ])
    func syntaxErrors(text: String) {
        #expect(scan(text).status == .malformed(.invalidJSON))
    }

    @Test func objectsWithoutAccessLogKeysAreNotRecords() {
        #expect(scan(#"{"level":"info","msg":"config loaded","ts":1732}"#).status == .notAccessRecord)
        #expect(scan("{}").status == .notAccessRecord)
        #expect(scan(" { } ").status == .notAccessRecord)
    }

    @Test func envoyGatewayKeysAreRecognisedAndHinted() {
        let line = scan(
            #"{":authority":"www.example.com","method":"GET","response_code":500,"response_flags":"-","route_name":"httproute/default/backend/rule/0/match/0/www_example_com","user-agent":"curl/8.7.1","x-envoy-origin-path":"/get","x-envoy-upstream-service-time":null,"x-request-id":"54c4c2f9-d209-4aa0-8870-342bc6622d1a","duration":0}"#
        )
        #expect(line.status == .record)
        #expect(line[.authority] == "www.example.com")
        #expect(line[.path] == "/get")
        #expect(line[.userAgent] == "curl/8.7.1")
        #expect(line[.requestID] == "54c4c2f9-d209-4aa0-8870-342bc6622d1a")
        #expect(!line.present.contains(.upstreamServiceTime))
        #expect(line.hints & FieldMap.Hints.envoyGateway != 0)
    }

    @Test func legacyAllStringRecords() {
        let line = scan(
            #"{"bytes_sent":"0","upstream_cluster":"outbound|7600||keycloak.auth.svc.cluster.local","protocol":"-","duration":"10002","route_name":"-","response_code":"0","response_flags":"UF,URX","method":"-","istio_policy_status":"-","bytes_received":"0"}"#
        )
        #expect(line.status == .record)
        #expect(line.numbers[.responseCode] == 0)
        #expect(line.numbers[.duration] == 10002)
        #expect(line[.responseFlags] == "UF,URX")
        #expect(!line.present.contains(.method))
        #expect(!line.present.contains(.protocol))
        #expect(line.hints & FieldMap.Hints.istioLegacy != 0)
    }

    @Test func unwantedKeysAreNotRead() {
        let scanner = JSONRecordScanner(
            keys: FieldMap.preset(.istio).makeKeyTable(wanted: [.responseCode, .routeName]))
        let line = scan(istioLine(), scanner: scanner)
        #expect(line.status == .record)
        #expect(line.present == [.responseCode, .routeName])
    }

    @Test func customKeysMapToCustomFields() throws {
        var map = FieldMap.preset(.istio)
        let tier = try map.addCustomField(name: "tier", key: "x-user-tier")
        #expect(try map.addCustomField(name: "tier", key: "user_tier") == tier)
        let scanner = JSONRecordScanner(keys: map.makeKeyTable())
        #expect(scan(#"{"response_code":200,"x-user-tier":"gold"}"#, scanner: scanner)[tier] == "gold")
        #expect(scan(#"{"response_code":200,"user_tier":"free"}"#, scanner: scanner)[tier] == "free")
    }

    @Test func customFieldsAreBounded() throws {
        var map = FieldMap()
        for k in 0..<(AccessLogField.capacity - Int(AccessLogField.firstCustom)) {
            _ = try map.addCustomField(name: "f\(k)", key: "k\(k)")
        }
        #expect(throws: FieldMapError.self) { try map.addCustomField(name: "one-more", key: "x") }
    }

    @Test func longAndSimilarKeysAreDistinguished() {
        var map = FieldMap()
        let long1 = AccessLogField(rawValue: 40)
        let long2 = AccessLogField(rawValue: 41)
        map.map(key: "a_very_long_key_name_that_differs_in_the_middle_X_and_ends_the_same", to: long1)
        map.map(key: "a_very_long_key_name_that_differs_in_the_middle_Y_and_ends_the_same", to: long2)
        map.map(key: "response_code", to: .responseCode)
        let scanner = JSONRecordScanner(keys: map.makeKeyTable())
        let line = scan(
            #"{"response_code":1,"a_very_long_key_name_that_differs_in_the_middle_Y_and_ends_the_same":"y","a_very_long_key_name_that_differs_in_the_middle_X_and_ends_the_same":"x"}"#,
            scanner: scanner)
        #expect(line[long1] == "x")
        #expect(line[long2] == "y")
    }

    @Test func invalidUTF8InsideAStringDoesNotBreakScanning() {
        var bytes = Array(#"{"response_code":200,"user_agent":"x"#.utf8)
        bytes += [0xFF, 0xC3, 0x28, 0x00, 0x01]
        bytes += Array(#"","route_name":"r"}"#.utf8)
        let line = scan(bytes)
        #expect(line.status == .record)
        #expect(line[.routeName] == "r")
    }
}

@Suite struct KeyPredictionTests {
    /// One record reused across lines whose keys change order, spelling and escaping: the
    /// prediction of the previous line's keys must never change what a line means.
    @Test func predictionsNeverChangeResults() {
        var generator = SplitMix(seed: 7)
        let record = AccessRecord()
        for round in 0..<400 {
            var members: [(key: String, value: String)] = [
                ("response_code", "\(200 + round % 5)"), ("route_name", "\"r\(round)\""), ("path", "\"/p/\(round)\""),
                ("method", "\"GET\""), ("duration", "\"\(round)\""), ("user_agent", "\"ua \\\"\(round)\\\"\""),
                ("x-request-id", "\"id-\(round)\""), ("path_extra", "\"not the path\""), ("pat", "1"),
            ]
            members.shuffle(using: &generator)
            if round % 7 == 0 { members.removeLast(2) }
            if round % 11 == 0 {
                // The same key written with an escape.
                members = members.map { $0.key == "method" ? (key: "meth\\u006fd", value: $0.value) : $0 }
            }
            let line = "{" + members.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
            let bytes = Array(line.utf8)
            var hints: UInt8 = 0
            bytes.withUnsafeBufferPointer { buffer in
                #expect(automaticScanner.scan(buffer, into: record, hints: &hints) == .record)
            }
            let parsed = bytes.withUnsafeBufferPointer { buffer in
                _ = automaticScanner.scan(buffer, into: record, hints: &hints)
                return copyOut(record, status: .record, hints: hints)
            }
            let present = Set(members.map(\.key))
            if present.contains("route_name") { #expect(parsed[.routeName] == "r\(round)") }
            if present.contains("path") { #expect(parsed[.path] == "/p/\(round)") }
            if present.contains("duration") { #expect(parsed.numbers[.duration] == Int64(round)) }
            if present.contains("user_agent") { #expect(parsed[.userAgent] == "ua \"\(round)\"") }
            if present.contains("x-request-id") { #expect(parsed[.requestID] == "id-\(round)") }
            #expect(parsed[.method] == (members.contains { $0.key.hasPrefix("meth") } ? "GET" : nil))
        }
    }
}

extension KeyPredictionTests {
    /// Near misses of known keys (same length, differing at the start, in the middle or in the
    /// last bytes), lines of more members than there are predictions, whitespace around colons
    /// and keys close to the line's end: a record reused across such lines reads each exactly
    /// as a fresh record does.
    @Test func reusedRecordReadsLikeAFreshOne() {
        var generator = SplitMix(seed: 11)
        let known = AccessLogField.builtinNames
        let nearMisses = [
            "response_code_detailz", "connection_terminXtion_details", "Upstream_transport_failure_reason",
            "upstream_transport_failure_reasons", "route_nam", "route_namex", "duration_", "upstream_cluster_",
        ]
        let record = AccessRecord()
        var records = 0
        for round in 0..<600 {
            var keys =
                known.shuffled(using: &generator).prefix(Int.random(in: 1...known.count, using: &generator))
                + nearMisses.shuffled(using: &generator).prefix(Int.random(in: 0...4, using: &generator))
            if round % 5 == 0 { keys += (0..<70).map { "pad\($0)" } }
            keys.shuffle(using: &generator)
            // Most lines keep the previous order, as real logs do, so predictions get exercised.
            if round % 3 != 0 { keys.sort() }
            let members = keys.enumerated().map { index, key in
                let colon = round % 13 == 0 && index % 4 == 0 ? " : " : ":"
                let value = index % 3 == 0 ? "\(round &* 7 &+ index)" : "\"v\(round)-\(index)\""
                return "\"\(key)\"" + colon + value
            }
            let bytes = Array(("{" + members.joined(separator: ",") + "}").utf8)
            var hints: UInt8 = 0
            let reused = bytes.withUnsafeBufferPointer { buffer in
                let status = automaticScanner.scan(buffer, into: record, hints: &hints)
                return copyOut(record, status: status, hints: hints)
            }
            let fresh = scan(bytes)
            #expect(reused.status == fresh.status, "round \(round)")
            #expect(reused.text == fresh.text, "round \(round)")
            #expect(reused.numbers == fresh.numbers, "round \(round)")
            #expect(reused.present == fresh.present && reused.invalidNumbers == fresh.invalidNumbers)
            if fresh.status == .record { records += 1 }
        }
        // Lines that lack what makes an access record are not records, fine, but most are.
        #expect(records > 300)
    }

    /// A line that ends right before a page that may not be read, after lines that taught the
    /// record their keys: the predicted keys' wide loads stay inside every prefix of it.
    @Test func predictionsReadNothingPastTheLine() throws {
        try GuardedPage.with { end, _ in
            let line = Array(
                #"{"authority":"shop.example.com","method":"GET","path":"/p","response_code":200,"upstream_transport_failure_reason":"x"}"#
                    .utf8)
            let record = AccessRecord()
            var hints: UInt8 = 0
            func scanAtTheEnd(_ bytes: ArraySlice<UInt8>) -> JSONRecordScanner.Status {
                let start = end - bytes.count
                for (k, byte) in bytes.enumerated() { start[k] = byte }
                return automaticScanner.scan(
                    UnsafeBufferPointer(start: start, count: bytes.count), into: record, hints: &hints)
            }
            for _ in 0..<3 { #expect(scanAtTheEnd(line[...]) == .record) }
            for length in 1..<line.count {
                #expect(scanAtTheEnd(line[..<length]) != .record, "prefix of \(length) bytes")
                // Taught again, so that the next prefix meets the predictions.
                #expect(scanAtTheEnd(line[...]) == .record)
            }
        }
    }

    @Test func keysAtTheLineEndAreReadWithoutAPrediction() {
        let record = AccessRecord()
        var hints: UInt8 = 0
        for line in [#"{"path":"/a","pat":1}"#, #"{"path":"/a","pat":1}"#, #"{"pat":1,"path":"/b"}"#] {
            let bytes = Array(line.utf8)
            let parsed = bytes.withUnsafeBufferPointer { buffer in
                let status = automaticScanner.scan(buffer, into: record, hints: &hints)
                return copyOut(record, status: status, hints: hints)
            }
            #expect(parsed.status == .record)
            #expect(parsed[.path] == (line.contains("/a") ? "/a" : "/b"))
        }
    }
}

/// A small seeded generator, so that shuffled tests are repeatable.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
