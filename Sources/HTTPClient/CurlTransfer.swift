import CCurl
import Synchronization

/// One HTTP request as libcurl should make it: a GET, or a PUT/POST/DELETE with a body.
public struct HTTPRequest: Sendable {
    public var url: String
    public var method = "GET"
    /// Sent with PUT and POST.
    public var body: [UInt8] = []
    /// Complete header lines (`Authorization: Bearer ...`).
    public var headers: [String] = []
    /// A PEM bundle to verify the server with, instead of the system's store.
    public var caFile: String?
    public var connectTimeout: Duration
    /// The whole transfer, connection included; nil for none.
    public var totalTimeout: Duration?
    public var userAgent = "logmetrics"
    /// The media types asked for.
    public var accept = "application/json"
    /// `user:password` for HTTP basic authentication.
    public var basicAuth: String?

    public init(
        url: String, method: String = "GET", body: [UInt8] = [], headers: [String] = [], caFile: String? = nil,
        connectTimeout: Duration, totalTimeout: Duration? = nil
    ) {
        self.url = url
        self.method = method
        self.body = body
        self.headers = headers
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }
}

/// How a transfer ended.
public enum TransferOutcome: Equatable, Sendable {
    /// The response arrived in full (whatever its status).
    case completed(status: Int)
    /// The body callback asked to stop.
    case stoppedByReceiver(status: Int)
    /// ``CurlTransfer/cancel()`` was called.
    case cancelled
    /// Connection, TLS, timeout or protocol failure: libcurl's detailed message, and its
    /// `CURLcode` (the same for every occurrence of one kind of failure).
    case failed(status: Int, message: String, code: Int)
}

/// A libcurl easy handle driven by its own multi handle, so that a blocked transfer (a watch
/// waiting for events) or a pause between retries ends as soon as another thread calls
/// ``cancel()``.
///
/// Thread safety: ``perform(_:body:)`` and ``pause(for:)`` are called by one thread at a time
/// (the owning watcher's); ``cancel()`` and ``isCancelled`` may be called from any thread. The
/// multi handle keeps the connection between requests, so a list and the watch after it reuse
/// one TCP connection when the server allows it.
public final class CurlTransfer: @unchecked Sendable {
    // @unchecked Sendable: `easy` and `multi` are used by the owning thread only, except for
    // curl_multi_wakeup, which libcurl documents as callable from any thread.
    private let easy: UnsafeMutableRawPointer
    private let multi: UnsafeMutableRawPointer
    private let cancelled = Atomic<Bool>(false)

    /// - Precondition: ``CurlLibrary/load()`` succeeded.
    public init() {
        precondition(CurlLibrary.problem == nil, CurlLibrary.problem ?? "")
        guard let easy = ccurl_easy_init(), let multi = ccurl_multi_init() else {
            fatalError("libcurl could not allocate a handle")
        }
        self.easy = easy
        self.multi = multi
    }

    deinit {
        ccurl_multi_cleanup(multi)
        ccurl_easy_cleanup(easy)
    }

    public var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    /// Ends the transfer in progress and any later one, and wakes ``pause(for:)``.
    public func cancel() {
        cancelled.store(true, ordering: .releasing)
        _ = ccurl_multi_wakeup(multi)
    }

    /// Waits for `duration`; false when cancelled first.
    public func pause(for duration: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: duration)
        while !isCancelled {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return true }
            // With no transfer added, curl_multi_poll sleeps for the timeout or until woken.
            _ = ccurl_multi_poll(multi, nil, 0, Int32(clamping: max(1, remaining.milliseconds)), nil)
        }
        return false
    }

    /// Makes the request, handing each piece of the body to `body` with the response status as
    /// soon as it arrives; `body` returns false to stop the transfer.
    public func perform(_ request: HTTPRequest, body: (Int, UnsafeRawBufferPointer) -> Bool) -> TransferOutcome {
        if isCancelled { return .cancelled }
        ccurl_easy_reset(easy)
        var headers: UnsafeMutablePointer<curl_slist>?
        defer { ccurl_slist_free_all(headers) }
        for line in request.headers + ["Accept: \(request.accept)"] {
            headers = ccurl_slist_append(headers, line)
        }
        return withoutActuallyEscaping(body) { body in
            let receiver = Receiver(easy: easy, body: body)
            let unmanaged = Unmanaged.passRetained(receiver)
            defer { unmanaged.release() }
            var setup = CURLE_OK
            func set(_ code: CURLcode) { if setup == CURLE_OK { setup = code } }
            set(ccurl_easy_setopt_string(easy, CURLOPT_URL, request.url))
            if request.method == "GET" {
                set(ccurl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1))
            } else {
                set(ccurl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method))
                if !request.body.isEmpty || request.method == "PUT" || request.method == "POST" {
                    // Copied by libcurl, so the array need not outlive this call's setup.
                    set(ccurl_easy_setopt_long(easy, CURLOPT_POSTFIELDSIZE, request.body.count))
                    request.body.withUnsafeBytes { bytes in
                        set(
                            ccurl_easy_setopt_pointer(
                                easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress)))
                    }
                }
            }
            if let basicAuth = request.basicAuth {
                // 1 is CURLAUTH_BASIC, a macro Swift does not import.
                set(ccurl_easy_setopt_long(easy, CURLOPT_HTTPAUTH, 1))
                set(ccurl_easy_setopt_string(easy, CURLOPT_USERPWD, basicAuth))
            }
            // Threads and signals do not mix; name resolution timeouts are then not enforced
            // on resolvers without threads, and the connect timeout still bounds the wait.
            set(ccurl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
            set(ccurl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
            set(ccurl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeout.milliseconds))
            set(ccurl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, request.totalTimeout?.milliseconds ?? 0))
            // A watch can be quiet for minutes; keepalive probes find a dead peer sooner.
            set(ccurl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
            set(ccurl_easy_setopt_long(easy, CURLOPT_TCP_KEEPIDLE, 30))
            set(ccurl_easy_setopt_long(easy, CURLOPT_TCP_KEEPINTVL, 15))
            // Every encoding this libcurl decodes; the API server compresses large lists.
            set(ccurl_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, ""))
            set(ccurl_easy_setopt_string(easy, CURLOPT_USERAGENT, request.userAgent))
            if let caFile = request.caFile { set(ccurl_easy_setopt_string(easy, CURLOPT_CAINFO, caFile)) }
            set(ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headers))
            set(ccurl_easy_setopt_write_function(easy, curlWriteCallback))
            set(ccurl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, unmanaged.toOpaque()))
            receiver.errorBuffer.withUnsafeMutableBufferPointer { buffer in
                set(ccurl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, buffer.baseAddress))
            }
            guard setup == CURLE_OK else {
                return .failed(
                    status: 0, message: "libcurl refused an option: \(String(cString: ccurl_easy_strerror(setup)))",
                    code: Int(setup.rawValue))
            }
            return run(receiver)
        }
    }

    private func run(_ receiver: Receiver) -> TransferOutcome {
        guard ccurl_multi_add_handle(multi, easy) == CURLM_OK else {
            return .failed(status: 0, message: "libcurl could not start the transfer", code: -1)
        }
        defer { _ = ccurl_multi_remove_handle(multi, easy) }
        var running: Int32 = 1
        while true {
            let code = ccurl_multi_perform(multi, &running)
            guard code == CURLM_OK else {
                return .failed(status: 0, message: String(cString: ccurl_multi_strerror(code)), code: -1)
            }
            if running == 0 || isCancelled { break }
            _ = ccurl_multi_poll(multi, nil, 0, 1000, nil)
        }
        if isCancelled { return .cancelled }
        var result = CURLE_OK
        var queued: Int32 = 0
        while let message = ccurl_multi_info_read(multi, &queued) {
            if message.pointee.msg == CURLMSG_DONE { result = message.pointee.data.result }
        }
        let status = receiver.status()
        if receiver.stopped { return .stoppedByReceiver(status: status) }
        guard result == CURLE_OK else {
            let detail = receiver.errorMessage
            return .failed(
                status: status, message: detail.isEmpty ? String(cString: ccurl_easy_strerror(result)) : detail,
                code: Int(result.rawValue))
        }
        return .completed(status: status)
    }
}

/// What the write callback needs: the handle (for the status) and the body handler.
private final class Receiver {
    let easy: UnsafeMutableRawPointer
    let body: (Int, UnsafeRawBufferPointer) -> Bool
    var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    private(set) var stopped = false
    private var knownStatus: Int?

    init(easy: UnsafeMutableRawPointer, body: @escaping (Int, UnsafeRawBufferPointer) -> Bool) {
        self.easy = easy
        self.body = body
    }

    func status() -> Int {
        if let knownStatus { return knownStatus }
        var code = 0
        _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let status = status()
        knownStatus = status
        if !body(status, bytes) {
            stopped = true
            return false
        }
        return true
    }

    var errorMessage: String {
        errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// Hands body bytes to the transfer's ``Receiver``; a return value other than the length given
/// makes libcurl end the transfer.
private let curlWriteCallback: curl_write_callback = { data, size, count, context in
    guard let context, let data else { return 0 }
    let receiver = Unmanaged<Receiver>.fromOpaque(context).takeUnretainedValue()
    // Cannot overflow: libcurl hands at most CURL_MAX_WRITE_SIZE bytes (or one decompressed
    // block) per call.
    let length = size &* count
    return receiver.receive(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

/// libcurl, loaded and initialised when first needed: most runs make no HTTP request of their own.
public enum CurlLibrary {
    /// Why libcurl cannot be used (not installed, too old, its initialisation failed); nil when it
    /// is ready. Loads it on first use, once for the process, whichever thread asks first.
    public static var problem: String? {
        ccurl_load().map { String(cString: $0) }
    }

    /// Loads libcurl; throws what went wrong when it cannot be used, so that a feature that needs
    /// it (the Kubernetes API, pushes) refuses to start rather than crash later.
    public static func load() throws(CurlUnavailable) {
        if let problem { throw CurlUnavailable(description: problem) }
    }
}

/// libcurl cannot be loaded or initialised.
public struct CurlUnavailable: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension Duration {
    /// Whole milliseconds, rounded down, for libcurl's `long` millisecond options.
    public var milliseconds: Int {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let fraction = Int(attoseconds / 1_000_000_000_000_000)
        let (total, carry) = Int(clamping: whole).addingReportingOverflow(fraction)
        return carry ? (seconds < 0 ? .min : .max) : total
    }
}
