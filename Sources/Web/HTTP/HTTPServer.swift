import CMicroHTTPD
import Foundation
import Synchronization

/// Settings of the listening socket, the worker pool and the per-connection limits.
public struct ServerConfiguration: Sendable {
    /// Numeric address to bind.
    public var host = "127.0.0.1"
    /// Port to bind; 0 picks a free one (read it back from `HTTPServer.port`).
    public var port: UInt16 = 8080
    /// Worker threads, each running its own epoll loop. Defaults to the number of cores.
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Seconds a connection may stay idle before it is closed.
    public var connectionTimeout: UInt32 = 30
    /// Connections one client address may hold open at once (0 = no limit).
    public var perIPConnectionLimit: UInt32 = 256
    /// Connections open at once, in total.
    public var connectionLimit: UInt32 = 4096
    /// Largest request body accepted; larger ones get 413.
    public var maximumBodySize = 64 * 1024
    /// Seconds a graceful shutdown waits for in-flight requests.
    public var shutdownGracePeriod: Double = 10

    /// The defaults.
    public init() {}
}

/// What the server calls for every complete request. It runs on a server thread and must not
/// block for long; it is called concurrently from several threads.
public typealias RequestHandler = @Sendable (Request) -> Reply

/// What the application answers to a request.
public enum Reply: Sendable {
    /// The answer, now.
    case response(Response)
    /// The answer is made elsewhere (a payment being charged): the connection is suspended, so
    /// the worker thread goes on serving others, until `work` calls its argument with the
    /// answer, from any thread, once. `work` itself runs on the worker thread and must only hand
    /// the job over.
    case later(_ work: @Sendable (_ answer: @escaping @Sendable (Response) -> Void) -> Void)
}

/// What the server calls after queueing each answer: method, path, status sent, microseconds from
/// the headers' arrival to the queued response, and the request id.
public typealias AccessLogger = @Sendable (_ method: String, _ path: String, _ status: Int,
                                           _ micros: UInt64, _ requestID: String) -> Void

/// The answers the server gives by itself, before the application sees the request.
public struct ProtocolErrorResponses: Sendable {
    /// For a body larger than `maximumBodySize`.
    public var payloadTooLarge: @Sendable (Request) -> Response
    /// For a request that could be read two ways (duplicate `Content-Length`).
    public var badRequest: @Sendable (Request, String) -> Response
    /// For a request still waiting for its answer (`Reply.later`) when a stop's grace period ends.
    public var stillWorking: @Sendable (Request) -> Response

    /// The answers.
    public init(payloadTooLarge: @escaping @Sendable (Request) -> Response,
                badRequest: @escaping @Sendable (Request, String) -> Response,
                stillWorking: @escaping @Sendable (Request) -> Response = { _ in Response(status: 503) }) {
        self.payloadTooLarge = payloadTooLarge
        self.badRequest = badRequest
        self.stillWorking = stillWorking
    }
}

/// Errors of starting the server.
public struct ServerError: Error, CustomStringConvertible {
    /// What failed.
    public let description: String
}

/// An HTTP/1.1 server over libmicrohttpd: a pool of threads with epoll, keep-alive, bodies
/// accumulated per request and capped, and a graceful stop.
///
/// This is the one file that touches libmicrohttpd's pointers. The C callbacks below are free
/// functions without captures; the server travels to them through the `cls` pointer, and each
/// request's state through `*con_cls`, released when libmicrohttpd reports the request completed.
public final class HTTPServer: @unchecked Sendable {
    // @unchecked: `daemon` is set once in `start` and cleared once in `stop`, both from the
    // controlling thread, while no callback can observe the change (MHD joins its threads first);
    // everything else is immutable or a Mutex.
    let configuration: ServerConfiguration
    let handler: RequestHandler
    let errors: ProtocolErrorResponses
    let accessLog: AccessLogger
    private var daemon: OpaquePointer?
    private let inFlight = Mutex(0)
    /// Requests whose connection is suspended while their answer is made elsewhere.
    fileprivate let suspended = Mutex<[ObjectIdentifier: SuspendedRequest]>([:])
    /// Set when a stop begins: new connections are refused and every answer closes its connection.
    fileprivate let draining = Atomic(false)

    /// The port actually bound (differs from the configured one when that was 0).
    public private(set) var port: UInt16 = 0

    /// A server that answers with `handler`; call `start` to listen.
    public init(configuration: ServerConfiguration, errors: ProtocolErrorResponses,
                accessLog: @escaping AccessLogger, handler: @escaping RequestHandler) {
        self.configuration = configuration
        self.errors = errors
        self.accessLog = accessLog
        self.handler = handler
    }

    /// Binds and starts the worker threads. Returns once the socket accepts connections.
    public func start() throws {
        let cls = Unmanaged.passUnretained(self).toOpaque()
        daemon = configuration.host.withCString { host in
            var config = hc_daemon_config(
                host: host, port: configuration.port,
                thread_pool_size: UInt32(max(1, configuration.threads)),
                connection_timeout: configuration.connectionTimeout,
                per_ip_connection_limit: configuration.perIPConnectionLimit,
                connection_limit: configuration.connectionLimit,
                connection_memory_limit: 64 * 1024,
                listen_backlog: 1024)
            return hc_start_daemon(&config, acceptPolicy, cls, accessHandler, cls, requestCompleted, cls)
        }
        guard let daemon else {
            throw ServerError(description: "cannot listen on \(configuration.host):\(configuration.port) (address in use, or not a numeric address?)")
        }
        port = hc_daemon_bound_port(daemon)
    }

    /// Stops accepting connections, waits up to the grace period for requests in flight to be
    /// answered, then closes every connection and joins the threads.
    ///
    /// New connections are refused by the accept policy, not by `MHD_quiesce_daemon`: in epoll
    /// thread-pool mode quiescing takes the listening socket out of each worker's epoll set from
    /// this thread while a worker that has seen the quiesce flag may be removing it too, and
    /// libmicrohttpd (0.9.75 here, still so in 1.0.1) panics on the loser's ENOENT
    /// (`daemon.c:5531`, "Failed to remove listen FD from epoll set"), aborting the process.
    /// The listening socket stays libmicrohttpd's: `MHD_stop_daemon` closes it once its threads
    /// are joined, so no descriptor is closed while a worker may still use it.
    ///
    /// A request still waiting for its answer elsewhere when the grace period ends gets
    /// `errors.stillWorking` instead: libmicrohttpd must not be stopped with a suspended
    /// connection, and the work itself (a charge) goes on and is recorded without it.
    public func stop() {
        guard let daemon else { return }
        draining.store(true, ordering: .sequentiallyConsistent)
        let deadline = Date().addingTimeInterval(configuration.shutdownGracePeriod)
        while inFlight.withLock({ $0 }) > 0, Date() < deadline {
            usleep(10_000)
        }
        let waiting = suspended.withLock { Array($0.values) }
        for request in waiting { request.deliver(errors.stillWorking(request.request)) }
        if !waiting.isEmpty {
            let answered = Date().addingTimeInterval(1)
            while inFlight.withLock({ $0 }) > 0, Date() < answered { usleep(10_000) }
        }
        MHD_stop_daemon(daemon)
        self.daemon = nil
    }

    /// Requests received and not yet fully answered.
    public var requestsInFlight: Int { inFlight.withLock { $0 } }

    fileprivate func begin() { inFlight.withLock { $0 += 1 } }
    fileprivate func end() { inFlight.withLock { $0 -= 1 } }
}

/// A request whose connection is suspended until its answer arrives from another thread.
/// `deliver` may be called from any thread, any number of times: the first answer wins, later
/// ones (the real answer after a stop's stand-in) are dropped without touching the connection,
/// which libmicrohttpd may have freed by then.
private final class SuspendedRequest: @unchecked Sendable {
    // @unchecked: `connection` is only used while `answer` is nil, under `state`'s lock, and
    // libmicrohttpd keeps a suspended connection alive until it is resumed.
    let request: Request
    private let connection: OpaquePointer
    private unowned let server: HTTPServer
    private let state = Mutex<(answer: Response?, delivered: Bool)>((nil, false))

    init(request: Request, connection: OpaquePointer, server: HTTPServer) {
        self.request = request
        self.connection = connection
        self.server = server
    }

    /// Hands `response` to the connection and wakes it.
    func deliver(_ response: Response) {
        let first = state.withLock { state -> Bool in
            guard !state.delivered else { return false }
            state = (response, true)
            return true
        }
        guard first else { return }
        _ = server.suspended.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
        MHD_resume_connection(connection)
    }

    /// The answer delivered, once (nil before, and after it was taken).
    func takeAnswer() -> Response? {
        state.withLock { state in
            defer { state.answer = nil }
            return state.answer
        }
    }
}

/// Per-request state kept in libmicrohttpd's `*con_cls` between the calls of one request.
private final class PendingRequest {
    let id = Request.makeID()
    let receivedAt = DispatchTime.now().uptimeNanoseconds
    let method: String
    let path: String
    var headers = HTTPHeaders()
    var query: [String: String] = [:]
    var body: [UInt8] = []
    /// Set when the request is to be refused before its body is read.
    var refusal: Response?
    /// Set while the answer is made elsewhere and the connection is suspended.
    var suspension: SuspendedRequest?
    var contentLengthCount = 0

    init(method: String, path: String) {
        self.method = method
        self.path = path
    }

    var request: Request {
        Request(method: method, path: path, query: query, headers: headers, body: body, id: id)
    }
}

/// Asked by libmicrohttpd for every accepted connection: once a stop has begun, refused, which
/// closes it at once, so a client (or a load balancer) learns straight away to go elsewhere
/// instead of waiting for an answer that will not come.
private func acceptPolicy(_ cls: UnsafeMutableRawPointer?, _ address: UnsafePointer<sockaddr>?,
                          _ length: socklen_t) -> MHD_Result {
    guard let cls else { return .YES }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    return server.draining.load(ordering: .sequentiallyConsistent) ? .NO : .YES
}

private func collectHeader(_ cls: UnsafeMutableRawPointer?, _ kind: MHD_ValueKind,
                           _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> MHD_Result {
    guard let cls, let key else { return .YES }
    let pending = Unmanaged<PendingRequest>.fromOpaque(cls).takeUnretainedValue()
    let name = String(cString: key)
    let text = value.map { String(cString: $0) } ?? ""
    if kind == .HEADER_KIND {
        pending.headers.add(name, text)
        if name.caseInsensitiveCompare("Content-Length") == .orderedSame { pending.contentLengthCount += 1 }
    } else if pending.query[name] == nil {
        pending.query[name] = text
    }
    return .YES
}

private func accessHandler(
    _ cls: UnsafeMutableRawPointer?,
    _ connection: OpaquePointer?,
    _ url: UnsafePointer<CChar>?,
    _ method: UnsafePointer<CChar>?,
    _ version: UnsafePointer<CChar>?,
    _ uploadData: UnsafePointer<CChar>?,
    _ uploadDataSize: UnsafeMutablePointer<Int>?,
    _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?
) -> MHD_Result {
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()

    // First call: only the headers are in. Set up the state and return without answering, so that
    // libmicrohttpd keeps the connection alive (answering now would close it).
    guard let state = conCls.pointee else {
        let pending = PendingRequest(method: method.map { String(cString: $0) } ?? "GET",
                                     path: url.map { String(cString: $0) } ?? "/")
        let opaque = Unmanaged.passRetained(pending).toOpaque()
        MHD_get_connection_values(connection, .HEADER_KIND, collectHeader, opaque)
        MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, collectHeader, opaque)
        if pending.contentLengthCount > 1 {
            pending.refusal = server.errors.badRequest(pending.request,
                                                       "The request has more than one Content-Length header.")
        } else if let declared = pending.headers["Content-Length"].flatMap(Int.init), declared > server.configuration.maximumBodySize {
            pending.refusal = server.errors.payloadTooLarge(pending.request)
        }
        conCls.pointee = opaque
        server.begin()
        if let refusal = pending.refusal {
            // Refused on its headers alone: answer now, without reading the body. libmicrohttpd
            // accepts a response only before the body is read or after all of it was, and closes
            // the connection after this one, which is what a refused request deserves.
            return answer(pending, with: refusal, server: server, on: connection)
        }
        return .YES
    }
    let pending = Unmanaged<PendingRequest>.fromOpaque(state).takeUnretainedValue()

    let size = uploadDataSize.pointee
    if size > 0 {
        if pending.refusal != nil {
            // Already over the limit (a chunked body without a declared length): the rest is
            // read and dropped, and the refusal is sent once the request ends.
        } else if pending.body.count + size > server.configuration.maximumBodySize {
            pending.refusal = server.errors.payloadTooLarge(pending.request)
            pending.body = []
        } else if let uploadData {
            uploadData.withMemoryRebound(to: UInt8.self, capacity: size) { bytes in
                pending.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: size))
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }

    // Called again after a resume: the answer has arrived.
    if let suspension = pending.suspension {
        guard let response = suspension.takeAnswer() else { return .YES }
        return answer(pending, with: response, server: server, on: connection)
    }
    if let refusal = pending.refusal {
        return answer(pending, with: refusal, server: server, on: connection)
    }
    switch server.handler(pending.request) {
    case .response(let response):
        return answer(pending, with: response, server: server, on: connection)
    case .later(let work):
        let suspension = SuspendedRequest(request: pending.request, connection: connection, server: server)
        pending.suspension = suspension
        server.suspended.withLock { $0[ObjectIdentifier(suspension)] = suspension }
        // Suspended before the work is handed over, so an answer that comes back at once still
        // finds the connection suspended (resuming one that is not is undefined).
        MHD_suspend_connection(connection)
        work { response in suspension.deliver(response) }
        return .YES
    }
}

/// Queues `response` and writes the access-log line.
private func answer(_ pending: PendingRequest, with response: Response, server: HTTPServer,
                    on connection: OpaquePointer) -> MHD_Result {
    // While stopping, every answer ends its connection, so keep-alive clients open a new one
    // (elsewhere) instead of sending their next request into a connection about to close.
    let closing = server.draining.load(ordering: .relaxed)
    let result = queue(response, requestID: pending.id, closing: closing, on: connection)
    let micros = (DispatchTime.now().uptimeNanoseconds - pending.receivedAt) / 1000
    server.accessLog(pending.method, pending.path, response.status, micros, pending.id)
    return result
}

/// One byte to point at for empty bodies: libmicrohttpd wants a buffer even of size zero.
nonisolated(unsafe) private let emptyBody = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

private func queue(_ response: Response, requestID: String, closing: Bool, on connection: OpaquePointer) -> MHD_Result {
    let mhdResponse: OpaquePointer? = response.body.withUnsafeBytes { buffer in
        // MUST_COPY: the Swift array may move or be freed once this closure returns.
        MHD_create_response_from_buffer(buffer.count,
                                        UnsafeMutableRawPointer(mutating: buffer.baseAddress) ?? emptyBody,
                                        .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else { return .NO }
    for field in response.headers {
        MHD_add_response_header(mhdResponse, field.name, field.value)
    }
    MHD_add_response_header(mhdResponse, "Request-Id", requestID)
    if closing { MHD_add_response_header(mhdResponse, "Connection", "close") }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

private func requestCompleted(
    _ cls: UnsafeMutableRawPointer?,
    _ connection: OpaquePointer?,
    _ conCls: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    _ reason: MHD_RequestTerminationCode
) {
    guard let cls, let conCls, let state = conCls.pointee else { return }
    Unmanaged<PendingRequest>.fromOpaque(state).release()
    conCls.pointee = nil
    Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().end()
}
