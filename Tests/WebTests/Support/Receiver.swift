import Crypto
import Foundation
import Logging
import Synchronization
@testable import Web

/// A merchant's webhook endpoint on a free local port: records what it receives and answers with
/// the statuses it is told to (200 once the script runs out), optionally slowly.
final class Receiver: Sendable {
    struct Delivery: Sendable {
        let receivedAt: Date
        let headers: HTTPHeaders
        let body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var type: String? { json["type"] as? String }
    }

    /// What arrived and what to answer next, shared with the server's threads.
    private final class Inbox: Sendable {
        let state = Mutex<(received: [Delivery], script: [Int])>(([], []))
    }

    private let server: HTTPServer
    private let inbox = Inbox()
    let delay: TimeInterval

    var port: UInt16 { server.port }
    var url: String { "http://127.0.0.1:\(port)/hooks" }

    /// Listens on `port` (0 = any free port), answering `script` in order, then 200.
    init(port: UInt16 = 0, script: [Int] = [], delay: TimeInterval = 0) throws {
        self.delay = delay
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.threads = 4
        let errors = ProtocolErrorResponses(payloadTooLarge: { _ in Response(status: 413) }, badRequest: { _, _ in Response(status: 400) })
        let inbox = self.inbox
        inbox.state.withLock { $0.script = script }
        server = HTTPServer(configuration: configuration, errors: errors, accessLog: { _, _, _, _, _ in }) { request in
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
            let status = inbox.state.withLock { state -> Int in
                state.received.append(Delivery(receivedAt: Date(), headers: request.headers, body: request.body))
                return state.script.isEmpty ? 200 : state.script.removeFirst()
            }
            return .response(Response(status: status, body: Array("ok".utf8)))
        }
        try server.start()
    }

    func stop() { server.stop() }

    var received: [Delivery] { inbox.state.withLock { $0.received } }

    /// Waits until `count` deliveries arrived (or `timeout` passes) and returns them.
    func wait(for count: Int, timeout: TimeInterval = 15) -> [Delivery] {
        let deadline = Date().addingTimeInterval(timeout)
        while received.count < count && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return received
    }

    /// A port nothing listens on (bound, read, released).
    static func freePort() throws -> UInt16 {
        let probe = try Receiver()
        let port = probe.port
        probe.stop()
        return port
    }

    /// Whether `header` is a valid `Checkout-Signature` of `body` for `secret`, computed here
    /// independently of the server's code.
    static func verify(header: String, body: [UInt8], secret: String) -> Bool {
        var timestamp: String?, signature: String?
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = pair[1] }
            if pair[0] == "v1" { signature = pair[1] }
        }
        guard let timestamp, let signature, let seconds = Double(timestamp),
              abs(Date().timeIntervalSince1970 - seconds) < 300 else { return false }
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined() == signature
    }
}
