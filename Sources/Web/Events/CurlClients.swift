import CCurl
import Foundation

/// Sends one webhook POST at a time over libcurl's easy interface, keeping its connection alive
/// between deliveries to the same endpoint.
///
/// Why not URLSession: on Linux each URLSession request passes through Foundation's URLProtocol
/// machinery, several dispatch queues and curl's multi interface, which cost about half a
/// millisecond of CPU per delivery; under payment load that CPU came straight out of the threads
/// holding the database's write lock, and completions fell by a third with one endpoint. The easy
/// interface on a reused handle does the same HTTP/1.1 (and TLS) work in a fraction of it.
///
/// This file (webhooks here, Stripe below) is the one that touches libcurl's pointers. A webhook
/// client is used by one thread at a time: the dispatcher hands each endpoint's client to the
/// single thread sending to that endpoint.
final class WebhookClient: @unchecked Sendable {
    // @unchecked: `handle` is only used by the one thread that holds the client (see above).
    private let handle: UnsafeMutableRawPointer

    /// The outcome of one POST: the status when an answer arrived, or what went wrong.
    struct Outcome {
        /// HTTP status of the answer, nil when none arrived.
        let status: Int?
        /// Why no answer arrived (connection refused, timeout, …).
        let error: String?
    }

    static let empty: [UInt8] = [0]

    private static let globalSetUp: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    /// Initializes libcurl once for the process.
    static func setUpLibcurl() { _ = globalSetUp }

    /// A client whose requests give up after `timeout` seconds, connecting included.
    init(timeout: TimeInterval) {
        _ = Self.globalSetUp
        guard let handle = curl_easy_init() else { fatalError("libcurl could not create an easy handle") }
        self.handle = handle
        let milliseconds = Int(timeout * 1000)
        // No signals: libcurl would otherwise use SIGALRM for DNS timeouts, unsafe with threads.
        hc_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        hc_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds)
        hc_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds)
        hc_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        hc_curl_setopt_long(handle, CURLOPT_POST, 1)
        "http,https".withCString { _ = hc_curl_setopt_pointer(handle, CURLOPT_PROTOCOLS_STR, $0) }
        hc_curl_discard_bodies(handle)
    }

    deinit {
        curl_easy_cleanup(handle)
    }

    /// POSTs `body` to `url` with `headers` (`Name: value`) and waits for the status line and the
    /// rest of the answer (discarded), at most the timeout.
    func post(url: String, headers: [String], body: [UInt8]) -> Outcome {
        // libcurl asks for `Expect: 100-continue` on larger bodies and then waits for an interim
        // answer many servers never send; the empty header turns that off.
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers + ["Expect:"] {
            list = header.withCString { curl_slist_append(list, $0) }
        }
        defer { curl_slist_free_all(list) }
        hc_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, list)
        // libcurl copies the URL; the body pointer must stay valid for the transfer, which
        // `curl_easy_perform` completes before returning.
        url.withCString { _ = hc_curl_setopt_pointer(handle, CURLOPT_URL, $0) }
        let result: CURLcode = body.withUnsafeBufferPointer { buffer in
            hc_curl_setopt_size(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(buffer.count))
            // An empty body still needs a pointer: with none, libcurl would read one from stdin.
            return Self.empty.withUnsafeBufferPointer { empty in
                hc_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeRawPointer(buffer.baseAddress ?? empty.baseAddress))
                return curl_easy_perform(handle)
            }
        }
        hc_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
        hc_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, nil)
        guard result == CURLE_OK else {
            return Outcome(status: nil, error: String(cString: curl_easy_strerror(result)))
        }
        return Outcome(status: Int(hc_curl_response_code(handle)), error: nil)
    }
}

/// Requests to Stripe's API over libcurl: form-encoded bodies, the secret key as a bearer, an
/// `Idempotency-Key` when given, and the JSON answer. Several charge threads use one client at
/// once, so it keeps a small pool of easy handles, each keeping its connection to Stripe alive
/// between requests (a TLS handshake per charge would add a round trip to every payment).
final class StripeClient: @unchecked Sendable {
    // @unchecked: the idle handles are only touched under `lock`; a handle taken from the pool
    // is used by the one thread that took it until it is given back.
    private let lock = NSLock()
    private var idle: [UnsafeMutableRawPointer] = []
    private let timeout: TimeInterval
    /// Largest answer read; Stripe's objects are a few kilobytes.
    private static let answerLimit = 1 << 20
    /// The API version every request asks for, so a Stripe account's default cannot change
    /// the shapes this client reads.
    static let apiVersion = "2024-06-20"

    /// What came back.
    enum Answer {
        /// A status and its JSON body (`.null` when the body is not JSON).
        case answer(Int, JSON)
        /// No answer (connection refused, reset, timed out): the request may or may not have run.
        case noAnswer(String)
    }

    /// A client whose requests give up after `timeout` seconds, connecting included.
    init(timeout: TimeInterval) {
        self.timeout = timeout
        WebhookClient.setUpLibcurl()
    }

    deinit {
        for handle in idle { curl_easy_cleanup(handle) }
    }

    /// Sends one request and waits for its answer. The secret key and the card fields travel in
    /// the request only; nothing of them is logged or kept.
    func send(method: String, url: String, secretKey: String, form: [(String, String)], idempotencyKey: String?) -> Answer {
        let handle = take()
        defer { giveBack(handle) }
        var headers = ["Authorization: Bearer \(secretKey)", "Stripe-Version: \(Self.apiVersion)", "Expect:"]
        if let idempotencyKey { headers.append("Idempotency-Key: \(idempotencyKey)") }
        let body = Array(form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&").utf8)
        var list: UnsafeMutablePointer<curl_slist>?
        if method == "POST" { headers.append("Content-Type: application/x-www-form-urlencoded") }
        for header in headers { list = header.withCString { curl_slist_append(list, $0) } }
        defer { curl_slist_free_all(list) }
        hc_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, list)
        url.withCString { _ = hc_curl_setopt_pointer(handle, CURLOPT_URL, $0) }
        var buffer = hc_curl_buffer(data: nil, length: 0, capacity: 0, limit: Self.answerLimit)
        defer { hc_curl_buffer_free(&buffer) }
        hc_curl_collect_bodies(handle, &buffer)
        let result: CURLcode = body.withUnsafeBufferPointer { bytes in
            if method == "POST" {
                hc_curl_setopt_long(handle, CURLOPT_HTTPGET, 0)
                hc_curl_setopt_long(handle, CURLOPT_POST, 1)
                hc_curl_setopt_size(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count))
                return WebhookClient.empty.withUnsafeBufferPointer { empty in
                    hc_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeRawPointer(bytes.baseAddress ?? empty.baseAddress))
                    return curl_easy_perform(handle)
                }
            }
            hc_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
            return curl_easy_perform(handle)
        }
        hc_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
        hc_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, nil)
        hc_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, nil)
        guard result == CURLE_OK else { return .noAnswer(String(cString: curl_easy_strerror(result))) }
        let data = buffer.data.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: buffer.length)) } ?? []
        return .answer(Int(hc_curl_response_code(handle)), JSON.parse(data) ?? .null)
    }

    private func take() -> UnsafeMutableRawPointer {
        lock.lock()
        if let handle = idle.popLast() {
            lock.unlock()
            return handle
        }
        lock.unlock()
        guard let handle = curl_easy_init() else { fatalError("libcurl could not create an easy handle") }
        let milliseconds = Int(timeout * 1000)
        hc_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        hc_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds)
        hc_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds)
        hc_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        "http,https".withCString { _ = hc_curl_setopt_pointer(handle, CURLOPT_PROTOCOLS_STR, $0) }
        return handle
    }

    private func giveBack(_ handle: UnsafeMutableRawPointer) {
        lock.lock()
        defer { lock.unlock() }
        if idle.count < 16 { idle.append(handle) } else { curl_easy_cleanup(handle) }
    }

    /// RFC 3986's unreserved characters, ASCII only (Foundation's `alphanumerics` has every
    /// script's letters).
    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// `application/x-www-form-urlencoded`, as Stripe reads it.
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
}
