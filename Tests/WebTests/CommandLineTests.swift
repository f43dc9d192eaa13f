import Foundation
import GRDB
import Testing

/// The `checkout` executable as an operator runs it.
@Suite(.serialized) struct CommandLineTests {
    static let binary = TestServer.packageRoot.appendingPathComponent(".build/debug/checkout").path

    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ arguments: [String], input: String? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe(), err = Pipe(), stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func temporaryDatabase() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkout-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("db.sqlite").path
    }

    /// A `checkout serve` process and the lines it printed.
    final class ServeProcess: @unchecked Sendable {
        let process = Process()
        let output = Pipe()
        private(set) var lines: [String] = []
        private var pending = Data()
        let port: UInt16

        /// Starts `checkout serve` on a free port; `resources` nil leaves the option out, so the
        /// server looks for its files itself, from `directory` as working directory.
        init(arguments: [String], resources: String? = TestServer.packageRoot.path, directory: URL? = nil) throws {
            process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
            process.arguments = ["serve", "--port", "0"] + (resources.map { ["--resources", $0] } ?? []) + arguments
            if let directory { process.currentDirectoryURL = directory }
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let first = try Self.readLine(from: output.fileHandleForReading, buffer: &pending)
            lines.append(first)
            guard first.hasPrefix("listening on http://127.0.0.1:"), let port = UInt16(first.split(separator: ":").last ?? "") else {
                process.terminate()
                throw TestFailure("unexpected first line: \(first)")
            }
            self.port = port
        }

        func readLine() throws -> String {
            let line = try Self.readLine(from: output.fileHandleForReading, buffer: &pending)
            lines.append(line)
            return line
        }

        /// Sends SIGTERM and returns the exit status and whatever else was printed.
        func terminate() -> (Int32, String) {
            process.terminate()
            process.waitUntilExit()
            let rest = output.fileHandleForReading.readDataToEndOfFile()
            return (process.terminationStatus, String(decoding: pending + rest, as: UTF8.self))
        }

        static func readLine(from handle: FileHandle, buffer: inout Data) throws -> String {
            while true {
                if let newline = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer = Data(buffer[(newline + 1)...])
                    return line
                }
                let chunk = handle.availableData
                if chunk.isEmpty { throw TestFailure("process closed its output") }
                buffer.append(chunk)
            }
        }
    }

    @Test func orgCreatePrintsIDHandleAndBothKeys() throws {
        let db = try Self.temporaryDatabase()
        let output = try Self.run(["org", "create", "acme-shop", "--name", "Acme Shop", "--db", db])
        #expect(output.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: String])
        #expect(Set(json.keys) == ["id", "handle", "test_key", "live_key"])
        #expect(json["handle"] == "acme-shop")
        #expect(json["id"]?.hasPrefix("org_") == true)
        #expect(json["test_key"]?.hasPrefix("sk_test_") == true)
        #expect(json["live_key"]?.hasPrefix("sk_live_") == true)
        #expect((json["test_key"]?.count ?? 0) >= 8 + 22)

        let again = try Self.run(["org", "create", "acme-shop", "--db", db])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already taken"))
        let invalid = try Self.run(["org", "create", "Acme_Shop", "--db", db])
        #expect(invalid.status != 0)
    }

    /// Without `--resources`, from another working directory, the server finds its templates, static
    /// files and OpenAPI document beside the `.build` folder its binary is in.
    @Test func serveFindsItsResourcesByDefault() throws {
        let db = try Self.temporaryDatabase()
        let elsewhere = URL(fileURLWithPath: db).deletingLastPathComponent()
        let server = try ServeProcess(arguments: ["--db", db, "--log-level", "warning"], resources: nil, directory: elsewhere)
        defer { _ = server.terminate() }
        let document = try HTTPConnection(port: server.port)
        try document.send("GET", "/v1/openapi.json")
        let response = try #require(try document.receive())
        #expect(response.status == 200)
        #expect(response.body == [UInt8](try Data(contentsOf: OpenAPIDocumentTests.file)))
        let css = try HTTPConnection(port: server.port)
        try css.send("GET", "/static/checkout.css")
        #expect(try css.receive()?.status == 200)
    }

    @Test func keysRollRevokesTheOldKeyOnARunningServer() throws {
        let db = try Self.temporaryDatabase()
        let created = try Self.run(["org", "create", "rollers", "--db", db])
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: String])
        let server = try ServeProcess(arguments: ["--db", db, "--log-level", "warning"])
        defer { _ = server.terminate() }
        let before = try HTTPConnection(port: server.port)
        try before.send("GET", "/v1/plans", headers: [("Authorization", "Bearer \(keys["test_key"]!)")])
        #expect(try before.receive()?.status == 200)

        let rolled = try Self.run(["keys", "roll", "rollers", "--mode", "test", "--db", db])
        #expect(rolled.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(rolled.stdout.utf8)) as? [String: String])
        let newKey = try #require(json["key"])
        #expect(newKey.hasPrefix("sk_test_") && newKey != keys["test_key"])

        let old = try HTTPConnection(port: server.port)
        try old.send("GET", "/v1/plans", headers: [("Authorization", "Bearer \(keys["test_key"]!)")])
        #expect(try old.receive()?.status == 401)
        let fresh = try HTTPConnection(port: server.port)
        try fresh.send("GET", "/v1/plans", headers: [("Authorization", "Bearer \(newKey)")])
        #expect(try fresh.receive()?.status == 200)
        let live = try HTTPConnection(port: server.port)
        try live.send("GET", "/v1/plans", headers: [("Authorization", "Bearer \(keys["live_key"]!)")])
        #expect(try live.receive()?.status == 200)
    }

    /// Whether a new connection to `port` is refused, or accepted and closed without an answer.
    static func isTurnedAway(port: UInt16) -> Bool {
        guard let connection = try? HTTPConnection(port: port) else { return true }
        guard (try? connection.send("GET", "/healthz")) != nil else { return true }
        do { return try connection.receive() == nil } catch { return true }
    }

    @Test func orgProcessorSealsTheKeyFromStandardInputAndNoneDisconnects() throws {
        let db = try Self.temporaryDatabase()
        #expect(try Self.run(["org", "create", "shop", "--db", db]).status == 0)
        let secret = "sk_live_51KeyThatMustNeverBeShown0000"
        let connected = try Self.run(["org", "processor", "shop", "--mode", "live", "--stripe-secret-key-stdin",
                                      "--stripe-api-base", "http://127.0.0.1:9/", "--db", db], input: secret + "\n")
        #expect(connected.status == 0, "\(connected.stderr)")
        #expect(!connected.stdout.contains(secret) && !connected.stderr.contains(secret))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(connected.stdout.utf8)) as? [String: String])
        #expect(json["processor"] == "stripe" && json["mode"] == "live" && json["api_base"] == "http://127.0.0.1:9")
        #expect(json["secret_key"] == "sk_…0000")
        // Sealed in the database, with a private master key beside it.
        let keyFile = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("master.key").path
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let database = try DatabaseQueue(path: db)
        let sealed = try database.read { try Data.fetchOne($0, sql: "SELECT sealed_secret FROM processor_account") }
        #expect(sealed != nil && sealed!.range(of: Data(secret.utf8)) == nil, "the key is not stored in clear")
        try database.close()
        let raw = try Data(contentsOf: URL(fileURLWithPath: db))
        #expect(raw.range(of: Data("KeyThatMustNeverBeShown".utf8)) == nil)

        let wrongMode = try Self.run(["org", "processor", "shop", "--mode", "test", "--stripe-secret-key-stdin", "--db", db],
                                     input: secret + "\n")
        #expect(wrongMode.status != 0)
        #expect(!wrongMode.stderr.contains(secret))
        let none = try Self.run(["org", "processor", "shop", "--mode", "live", "--none", "--db", db])
        #expect(none.status == 0)
        #expect(none.stdout.contains(#""was_connected":"true""#))
        let after = try DatabaseQueue(path: db)
        #expect(try after.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM processor_account") } == 0)
        #expect(try Self.run(["org", "processor", "shop", "--mode", "live", "--db", db]).status != 0, "one of the two is needed")
    }

    @Test func serveLogsOneLinePerRequestAndStopsGracefully() throws {
        let db = try Self.temporaryDatabase()
        let server = try ServeProcess(arguments: ["--db", db, "--demo"])
        var demoKey: String?
        while demoKey == nil {
            let line = try server.readLine()
            if line.contains("test key:") { demoKey = line.split(separator: " ").last.map(String.init) }
        }
        let key = try #require(demoKey)

        // A request in flight: headers and half of the body sent…
        let body = Array(#"{"name":"In flight","amount":700}"#.utf8)
        let slow = try HTTPConnection(port: server.port)
        try slow.send(Array("POST /v1/plans HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body[..<8])
        let health = try HTTPConnection(port: server.port)
        try health.send("GET", "/healthz")
        #expect(try health.receive()?.status == 200)
        Thread.sleep(forTimeInterval: 0.2)

        // …SIGTERM arrives; the server stops accepting but still answers the request in flight.
        server.process.terminate()
        Thread.sleep(forTimeInterval: 0.3)
        // A new connection is refused or closed at once, unanswered (libmicrohttpd keeps the
        // listening socket until its threads are joined; the accept policy turns everyone away).
        #expect(Self.isTurnedAway(port: server.port))
        try slow.send(Array(body[8...]))
        let answered = try #require(try slow.receive())
        #expect(answered.status == 201)

        let (status, rest) = server.terminate()
        #expect(status == 0)
        let log = server.lines.joined(separator: "\n") + "\n" + rest
        #expect(log.contains("GET /healthz 200"))
        #expect(log.contains("POST /v1/plans 201"))
        #expect(log.range(of: #"GET /healthz 200 \d+µs"#, options: .regularExpression) != nil)
        #expect(log.contains("stopped"))

        // The plan created during shutdown is in the database.
        let restarted = try ServeProcess(arguments: ["--db", db, "--log-level", "warning"])
        defer { _ = restarted.terminate() }
        let check = try HTTPConnection(port: restarted.port)
        try check.send("GET", "/v1/plans", headers: [("Authorization", "Bearer \(key)")])
        let list = try #require(try check.receive())
        #expect(list.text.contains("In flight"))
    }

    @Test func anEventCommittedBeforeAKillIsDeliveredAfterTheRestart() throws {
        let db = try Self.temporaryDatabase()
        let created = try Self.run(["org", "create", "crashy", "--db", db])
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: String])
        let key = try #require(keys["test_key"])
        let port = try Receiver.freePort()
        let options = ["--db", db, "--log-level", "warning", "--webhook-retry-base", "1", "--webhook-retry-cap", "2"]
        let first = try ServeProcess(arguments: options)
        func call(_ server: ServeProcess, _ method: String, _ path: String, json: String? = nil,
                  form: String? = nil) throws -> HTTPResponse {
            let connection = try HTTPConnection(port: server.port)
            var headers = [("Authorization", "Bearer \(key)")]
            if json != nil { headers.append(("Content-Type", "application/json")) }
            if form != nil { headers = [("Content-Type", "application/x-www-form-urlencoded")] }
            try connection.send(method, path, headers: headers, body: Array((json ?? form ?? "").utf8))
            return try #require(try connection.receive())
        }
        #expect(try call(first, "POST", "/v1/webhook_endpoints", json: #"{"url":"http://127.0.0.1:\#(port)/hooks","enabled_events":["*"]}"#).status == 201)
        let link = try call(first, "POST", "/v1/payment-links", json: #"{"amount_usd": 5, "payment_method_id": "pm"}"#).json
        let path = "/" + (link["id"] as! String)
        let token = try #require(FormPage(response: try call(first, "GET", path)).csrfToken)
        let paid = try call(first, "POST", path, form: "csrf_token=\(TestServer.formEncode(token))&email=a%40b.co&name=A&card_number=4242424242424242&card_expiry=12%2F39&card_cvc=123")
        #expect(paid.status == 303)
        // The receiver is down, so the first attempt fails; the server dies right away, without a chance to clean up.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        #expect(first.process.terminationReason == .uncaughtSignal)

        let receiver = try Receiver(port: port)
        defer { receiver.stop() }
        let second = try ServeProcess(arguments: options)
        defer { _ = second.terminate() }
        let delivered = receiver.wait(for: 1, timeout: 20)
        #expect(delivered.first?.type == "checkout.session.completed")
        // Acknowledged once: a later restart sends nothing again.
        Thread.sleep(forTimeInterval: 2.5)
        #expect(receiver.received.count == 1)
    }
}
