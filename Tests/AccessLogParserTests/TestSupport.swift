@testable import AccessLogParser

/// What a scanned line produced, copied out of the line buffer so tests can look at it afterwards.
struct ParsedLine {
    var status: JSONRecordScanner.Status
    var text: [AccessLogField: String] = [:]
    var numbers: [AccessLogField: Int64] = [:]
    var present: FieldSet
    var invalidNumbers: FieldSet
    var hints: UInt8

    subscript(_ field: AccessLogField) -> String? { text[field] }
}

func copyOut(_ record: AccessRecord, status: JSONRecordScanner.Status, hints: UInt8) -> ParsedLine {
    var parsed = ParsedLine(
        status: status, present: record.present, invalidNumbers: record.invalidNumbers, hints: hints)
    for field in record.present {
        parsed.text[field] = record.string(field)
        if let n = record.int(field) { parsed.numbers[field] = n }
    }
    return parsed
}

let automaticScanner = JSONRecordScanner(keys: FieldMap.automatic.makeKeyTable())

func scan(_ line: String, scanner: JSONRecordScanner = automaticScanner) -> ParsedLine {
    scan(Array(line.utf8), scanner: scanner)
}

func scan(_ bytes: [UInt8], scanner: JSONRecordScanner = automaticScanner) -> ParsedLine {
    let record = AccessRecord()
    var hints: UInt8 = 0
    return bytes.withUnsafeBufferPointer { buffer in
        let status = scanner.scan(buffer, into: record, hints: &hints)
        return copyOut(record, status: status, hints: hints)
    }
}

func parseText(_ line: String) -> (IstioTextParser.Status, ParsedLine) {
    let record = AccessRecord()
    return Array(line.utf8).withUnsafeBufferPointer { buffer in
        let status = IstioTextParser().parse(buffer, into: record)
        return (status, copyOut(record, status: .record, hints: 0))
    }
}

/// Collects everything a decoder hands out.
struct CollectingSink: AccessRecordSink {
    var records: [ParsedLine] = []
    var rejected: [LineOutcome] = []

    mutating func consume(_ record: AccessRecord) {
        records.append(copyOut(record, status: .record, hints: 0))
    }

    mutating func reject(_ outcome: LineOutcome, line: UnsafeBufferPointer<UInt8>) {
        rejected.append(outcome)
    }
}

/// Feeds `input` to a fresh decoder in chunks of `chunkSize` bytes and ends the input.
func decode(
    _ input: [UInt8], chunkSize: Int = 1 << 20, configuration: ParserConfiguration = ParserConfiguration()
) -> (sink: CollectingSink, decoder: AccessLogDecoder) {
    let decoder = AccessLogDecoder(configuration: configuration)
    var sink = CollectingSink()
    var offset = 0
    input.withUnsafeBufferPointer { buffer in
        while offset < buffer.count {
            let end = min(offset + chunkSize, buffer.count)
            decoder.feed(UnsafeBufferPointer(rebasing: buffer[offset..<end]), into: &sink)
            offset = end
        }
    }
    decoder.finish(into: &sink)
    return (sink, decoder)
}

func decode(_ input: String, chunkSize: Int = 1 << 20, configuration: ParserConfiguration = ParserConfiguration())
    -> (sink: CollectingSink, decoder: AccessLogDecoder)
{
    decode(Array(input.utf8), chunkSize: chunkSize, configuration: configuration)
}

/// A typed Istio JSON record with the 24 default keys in Envoy 1.40's alphabetical order.
func istioLine(
    route: String? = "users_item", method: String = "GET", path: String = "/users/42", code: Int = 200,
    flags: String = "-", duration: Int = 12, userAgent: String = "curl/8.5.0"
) -> String {
    let routeValue = route.map { "\"\($0)\"" } ?? "null"
    return """
        {"authority":"shop.example.com","bytes_received":0,"bytes_sent":54,"connection_termination_details":null,\
        "downstream_local_address":"10.0.0.5:8080","downstream_remote_address":"10.0.0.9:41234","duration":\(duration),\
        "method":"\(method)","path":"\(path)","protocol":"HTTP/1.1","request_id":"6f1c2a9e-3b7d-4e15-9a0c-2d8e5f7b1c34",\
        "requested_server_name":null,"response_code":\(code),"response_code_details":"via_upstream",\
        "response_flags":"\(flags)","route_name":\(routeValue),"start_time":"2026-11-20T10:00:00.123Z",\
        "upstream_cluster":"outbound|8080||users.shop.svc.cluster.local","upstream_host":"10.0.1.7:8080",\
        "upstream_local_address":"10.0.0.5:50412","upstream_service_time":"\(max(0, duration - 1))",\
        "upstream_transport_failure_reason":null,"user_agent":"\(userAgent)","x_forwarded_for":null}
        """
}
