import Billing
import Foundation
import Logging
import Synchronization
@testable import Web

/// A real server on a free port of 127.0.0.1 with a fresh SQLite file, and one organization with
/// its keys. Each test makes its own and stops it.
final class TestServer: @unchecked Sendable {
    let application: Application
    let directory: URL
    let databasePath: String
    let testKey: String
    let liveKey: String
    let organization: Organization
    var port: UInt16 { application.port }
    var url: String { application.publicURL }

    /// Starts a server on `databasePath` (a new temporary file by default).
    let clock: ManualClock

    init(databasePath: String? = nil, clock: ManualClock = ManualClock(),
         configure: (inout ApplicationConfiguration) -> Void = { _ in }) throws {
        self.clock = clock
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkout-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.databasePath = databasePath ?? directory.appendingPathComponent("checkout.sqlite").path
        var configuration = ApplicationConfiguration()
        configuration.server.port = 0
        configuration.server.threads = 2
        // Tests run in parallel on a pool of one thread per core and block it while they wait for
        // the server; a test that opened connections (the concurrency tests send all but the last
        // byte first) can wait its turn longer than the default 30 s idle timeout on a loaded
        // machine, and would then find its connections closed.
        configuration.server.connectionTimeout = 600
        configuration.databasePath = self.databasePath
        configuration.resourcesDirectory = TestServer.packageRoot.path
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        application = try Application(configuration: configuration, clock: clock.clock, logger: logger)
        try application.start()
        let created = try application.store.write {
            try $0.createOrganization(handle: "acme-\(Identifier.random(6).lowercased())", name: "Acme Goods", now: Date())
        }
        organization = created.organization
        testKey = created.testKey.secret
        liveKey = created.liveKey.secret
    }

    func stop() {
        application.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// A new connection to the server.
    func connect() throws -> HTTPConnection {
        try HTTPConnection(port: port)
    }

    /// One request on its own connection.
    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> HTTPResponse {
        let connection = try connect()
        try connection.send(method, path, headers: headers, body: body)
        guard let response = try connection.receive(headOnly: method == "HEAD") else {
            throw TestFailure("no response to \(method) \(path)")
        }
        return response
    }

    /// An API call with the test key (or `key`) and a JSON body.
    func api(_ method: String, _ path: String, key: String? = nil, json: String? = nil,
             headers: [(String, String)] = []) throws -> HTTPResponse {
        var all = [("Authorization", "Bearer \(key ?? testKey)")]
        if json != nil { all.append(("Content-Type", "application/json")) }
        return try request(method, path, headers: all + headers, body: Array((json ?? "").utf8))
    }

    /// The package's root folder (Templates/, Public/, .build/).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// A clock tests move by hand. Starts at the real time, so tokens and dates look ordinary.
final class ManualClock: Sendable {
    private let current = Mutex(Date())

    /// The `Clock` the server reads.
    var clock: Clock { Clock { [self] in now } }

    /// Moves time forward.
    func advance(_ seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// The time now.
    var now: Date { current.withLock { $0 } }
}
