import Billing
import Foundation
import Testing
@testable import Web

@Suite struct PersistenceTests {
    @Test func restartOnTheSameFileKeepsDataAndMigratesNothing() throws {
        let first = try TestServer()
        let created = try first.api("POST", "/v1/plans", json: #"{"name":"Durable","amount":4200}"#,
                                    headers: [("Idempotency-Key", "durable")])
        let id = try #require(created.json["id"] as? String)
        let migrations = try first.application.store.appliedMigrations()
        let path = first.databasePath
        first.application.stop()
        defer { try? FileManager.default.removeItem(at: first.directory) }

        let reopened = try Store(path: path)
        #expect(try reopened.appliedMigrations() == migrations)
        try reopened.close()

        var configuration = ApplicationConfiguration()
        configuration.server.port = 0
        configuration.databasePath = path
        configuration.resourcesDirectory = TestServer.packageRoot.path
        let second = try Application(configuration: configuration, logger: .init(label: "test"))
        try second.start()
        defer { second.stop() }
        let connection = try HTTPConnection(port: second.port)
        try connection.send("GET", "/v1/plans/\(id)", headers: [("Authorization", "Bearer \(first.testKey)")])
        let fetched = try #require(try connection.receive())
        #expect(fetched.status == 200)
        #expect(fetched.json["name"] as? String == "Durable")
        // The idempotency record survived too.
        try connection.send("POST", "/v1/plans", headers: [
            ("Authorization", "Bearer \(first.testKey)"), ("Content-Type", "application/json"), ("Idempotency-Key", "durable"),
        ], body: Array(#"{"name":"Durable","amount":4200}"#.utf8))
        let replay = try #require(try connection.receive())
        #expect(replay.header("Idempotent-Replayed") == "true")
        #expect(replay.json["id"] as? String == id)
    }

    @Test func fileDatabaseUsesWALAndFullSync() throws {
        let server = try TestServer()
        defer { server.stop() }
        #expect(FileManager.default.fileExists(atPath: server.databasePath + "-wal"))
        let settings = try server.application.store.read { try $0.pragmas() }
        #expect(settings.journalMode == "wal")
        #expect(settings.synchronous == 2)
        #expect(settings.busyTimeoutMilliseconds >= 1000)
        // The connection that commits payments is the one that must sync: GRDB sets a pool's
        // writer to NORMAL when it enables WAL, after our own connection setup.
        let writer = try server.application.store.write { try $0.pragmas() }
        #expect(writer.synchronous == 2)
        // A relaxed write (webhook bookkeeping) leaves it at FULL for the next payment.
        _ = try server.application.store.write(durability: .relaxed) { try $0.pragmas() }
        #expect(try server.application.store.write { try $0.pragmas() }.synchronous == 2)
    }

    @Test func memoryDatabaseWorks() throws {
        let server = try TestServer(databasePath: ":memory:")
        defer { server.stop() }
        #expect(try server.api("POST", "/v1/plans", json: #"{"name":"Ephemeral","amount":1}"#).status == 201)
    }
}
