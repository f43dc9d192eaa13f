import Foundation
import Testing

/// localstripe (PyPI, pinned in Tests/stripe/requirements.txt, in the project's .venv: `make
/// test-deps`) on a free port of 127.0.0.1, and the recording proxy of Tests/stripe in front of it
/// that adds the Stripe behaviours localstripe lacks (Tests/stripe/README.md). Started by a test,
/// stopped by it.
final class LocalStripe: @unchecked Sendable {
    // @unchecked: used by one test at a time (the Stripe suite is serialized).
    static let python = TestServer.packageRoot.appendingPathComponent(".venv/bin/python").path
    static let folder = TestServer.packageRoot.appendingPathComponent("Tests/stripe")
    /// A test-mode secret key; localstripe takes any.
    static let secretKey = "sk_test_localstripe0000000000000000"

    private var localstripe: Process?
    private var localstripePort: UInt16 = 0
    private let proxy = Process()
    /// The base URL the server is pointed at (the proxy).
    private(set) var url = ""

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw TestFailure("\(Self.python) is missing: run `make test-deps` (it installs localstripe into .venv)")
        }
        try startLocalstripe(fromScratch: true)
        proxy.executableURL = URL(fileURLWithPath: Self.python)
        proxy.arguments = [Self.folder.appendingPathComponent("stripe_proxy.py").path,
                           "--upstream", "http://127.0.0.1:\(localstripePort)", "--port", "0"]
        let output = Pipe()
        proxy.standardOutput = output
        proxy.standardError = FileHandle.nullDevice
        try proxy.run()
        var buffer = Data()
        let line = try CommandLineTests.ServeProcess.readLine(from: output.fileHandleForReading, buffer: &buffer)
        guard line.hasPrefix("listening on ") else { throw TestFailure("stripe proxy said: \(line)") }
        url = String(line.dropFirst("listening on ".count))
    }

    /// Where localstripe keeps its whole state (a fixed path: one localstripe at a time).
    static let stateFile = "/tmp/localstripe.pickle"

    /// Starts localstripe (again); `fromScratch` forgets what it held. (`--from-scratch` alone
    /// leaves the old state file until the first write, so a restart before any write would
    /// bring back an earlier test's objects: the file goes too.)
    func startLocalstripe(fromScratch: Bool) throws {
        if fromScratch { try? FileManager.default.removeItem(atPath: Self.stateFile) }
        let port = try HTTPConnection.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.folder.appendingPathComponent("localstripe_loopback.py").path, "--port", String(port)]
            + (fromScratch ? ["--from-scratch"] : [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        localstripe = process
        localstripePort = port
        let deadline = Date().addingTimeInterval(30)
        while (try? get("http://127.0.0.1:\(port)/v1/customers")) == nil {
            guard Date() < deadline, process.isRunning else { throw TestFailure("localstripe did not start on port \(port)") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        if proxy.isRunning { _ = try post("\(url)/_proxy/upstream", json: #"{"url":"http://127.0.0.1:\#(port)"}"#) }
    }

    /// Stops localstripe (the proxy stays, answering 502 meanwhile).
    /// aiohttp's graceful stop waits up to a minute for kept-alive connections (the proxy holds
    /// some), so SIGTERM is followed by SIGKILL after 2 s; localstripe writes its state file at
    /// every change, so nothing it acknowledged is lost either way.
    func stopLocalstripe() {
        guard let process = localstripe else { return }
        Self.end(process)
        localstripe = nil
    }

    func stop() {
        stopLocalstripe()
        Self.end(proxy)
    }

    private static func end(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// A PaymentIntent as localstripe itself holds it.
    func paymentIntent(_ id: String) throws -> [String: Any] {
        try get("http://127.0.0.1:\(localstripePort)/v1/payment_intents/\(id)")
    }

    /// Every PaymentIntent localstripe holds.
    func paymentIntents() throws -> [[String: Any]] {
        try get("http://127.0.0.1:\(localstripePort)/v1/payment_intents?limit=100")["data"] as? [[String: Any]] ?? []
    }

    /// The requests the proxy received, oldest first.
    func requests() throws -> [[String: Any]] {
        let parts = try #require(URLComponents(string: url))
        let connection = try HTTPConnection(port: UInt16(try #require(parts.port)))
        try connection.send("GET", "/_proxy/requests")
        let body = try #require(try connection.receive()).body
        return try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]] ?? []
    }

    /// The next `count` requests `method path` are carried out (and stored under their
    /// Idempotency-Key) but their answers never reach the server. libcurl sends a request again,
    /// once, when a kept-alive connection closes before any answer, so losing an answer for good
    /// takes two.
    func loseNextAnswers(_ method: String, _ path: String, count: Int = 2) throws {
        _ = try post("\(url)/_proxy/drop_next", json: #"{"method":"\#(method)","path":"\#(path)","count":\#(count)}"#)
    }

    private func get(_ url: String) throws -> [String: Any] {
        try send("GET", url, headers: [("Authorization", "Bearer \(Self.secretKey)")])
    }

    private func post(_ url: String, json: String) throws -> [String: Any] {
        try send("POST", url, headers: [("Content-Type", "application/json")], body: Array(json.utf8))
    }

    /// One request on its own connection, with the test client that shows exactly what came back.
    private func send(_ method: String, _ url: String, headers: [(String, String)], body: [UInt8] = []) throws -> [String: Any] {
        let parts = try #require(URLComponents(string: url))
        let connection = try HTTPConnection(port: UInt16(try #require(parts.port)))
        try connection.send(method, parts.percentEncodedPath + (parts.percentEncodedQuery.map { "?" + $0 } ?? ""),
                            headers: headers, body: body)
        guard let response = try connection.receive() else { throw TestFailure("\(url) did not answer") }
        guard response.status < 400 else { throw TestFailure("\(url) answered \(response.status): \(response.text)") }
        return (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }
}
