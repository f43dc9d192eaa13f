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
/// This is the one file that touches libcurl's pointers. A client is used by one thread at a time:
/// the dispatcher hands each endpoint's client to the single thread sending to that endpoint.
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

    private static let empty: [UInt8] = [0]

    private static let globalSetUp: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

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
