import Billing
import Foundation
import Synchronization
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

    @Test func fileDatabaseUsesWALAndCommitsAppendWithoutFlushing() throws {
        let server = try TestServer()
        defer { server.stop() }
        #expect(FileManager.default.fileExists(atPath: server.databasePath + "-wal"))
        let settings = try server.application.store.read { try $0.pragmas() }
        #expect(settings.journalMode == "wal")
        #expect(settings.busyTimeoutMilliseconds >= 1000)
        // The writer commits with NORMAL (1): durability comes from the group commit's flush,
        // after the write lock is released, not from a flush inside it.
        let writer = try server.application.store.write { try $0.pragmas() }
        #expect(writer.synchronous == 1)
    }

    /// Eight threads write at once, as payments do under load. Every durable write returns only
    /// once its own commit is flushed, relaxed ones do not wait, and no commit is flushed by more
    /// than one waiter. (How often waiters share a flush depends on the disk; `make bench`
    /// measures what it buys.)
    @Test func durableWritesReturnOnlyOnceFlushed() throws {
        let server = try TestServer()
        defer { server.stop() }
        let store = server.application.store
        let scope = Scope(organizationID: server.organization.id, mode: .test)
        let before = store.commitCounts
        let threads = 8, writesPerThread = 40
        let failures = Mutex<[String]>([])
        Self.onThreads(threads) { thread in
            for index in 0..<writesPerThread {
                let relaxed = index % 5 == 4
                do {
                    // The body runs under the write lock, where the next commit's number is the
                    // current count plus one.
                    let commit = try store.write(durability: relaxed ? .relaxed : .full) { ledger in
                        _ = try ledger.createPlan(PlanDraft(name: "P\(thread)-\(index)", amount: Int64(100 + index)), in: scope, now: Date())
                        return store.writeGeneration + 1
                    }
                    if !relaxed && store.commitCounts.durable < commit {
                        failures.withLock { $0.append("commit \(commit) returned before it was flushed") }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let after = store.commitCounts
        let commits = after.commits - before.commits
        let flushes = after.flushes - before.flushes
        #expect(commits == UInt64(threads * writesPerThread))
        #expect(try Self.planCount(store, scope) == threads * writesPerThread)
        // At most one flush per durable commit: a waiter whose commit an earlier flush covered
        // does not flush again.
        #expect(flushes > 0)
        #expect(flushes <= UInt64(threads * writesPerThread * 4 / 5))
        // Waiting for everything so far makes the relaxed commits durable too.
        store.waitUntilDurable()
        #expect(store.commitCounts.durable == after.commits)
    }

    /// The HTTP server's way of waiting: eight threads commit relaxed writes and ask to be called
    /// back once each is on disk, without blocking. Every callback runs once, only after its own
    /// commit is flushed, and callbacks asked for while a flush runs share the next one. Closing
    /// the store runs the callbacks still waiting (after their flush) instead of dropping them.
    @Test func callbacksRunOnlyOnceTheirCommitIsFlushed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkout-durable-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try Store(path: directory.appendingPathComponent("db.sqlite").path)
        let organization = try store.write { try $0.createOrganization(handle: "callbacks", name: "Callbacks", now: Date()) }
        let scope = Scope(organizationID: organization.organization.id, mode: .test)
        let before = store.commitCounts
        let threads = 8, writesPerThread = 50
        let failures = Mutex<[String]>([])
        let called = Mutex<[UInt64: Int]>([:])
        Self.onThreads(threads) { thread in
            for index in 0..<writesPerThread {
                do {
                    let commit = try store.write(durability: .relaxed) { ledger in
                        _ = try ledger.createPlan(PlanDraft(name: "C\(thread)-\(index)", amount: 100), in: scope, now: Date())
                        return store.writeGeneration + 1
                    }
                    store.whenDurable {
                        if store.commitCounts.durable < commit {
                            failures.withLock { $0.append("commit \(commit) called back before it was flushed") }
                        }
                        called.withLock { $0[commit, default: 0] += 1 }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        // The last few callbacks may still wait for their flush: closing runs them.
        let after = store.commitCounts
        try store.close()
        #expect(failures.withLock { $0 } == [])
        let calls = called.withLock { $0 }
        #expect(calls.count == threads * writesPerThread)
        #expect(calls.values.allSatisfy { $0 == 1 })
        let flushes = after.flushes - before.flushes
        #expect(flushes >= 1)
        #expect(store.commitCounts.durable == after.commits)
        // Nothing to wait for: called at once, on this thread.
        let memory = try Store(path: ":memory:")
        let ranHere = Mutex(false)
        memory.whenDurable { ranHere.withLock { $0 = true } }
        #expect(ranHere.withLock { $0 })
    }

    /// Checkpoints run on the store's own thread, beside the writer, and the WAL stays bounded
    /// under a steady stream of commits: the writer's larger threshold lets it start over.
    @Test func checkpointsRunBesideTheWriterAndTheWALStaysBounded() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("checkout-checkpoint-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("db.sqlite").path
        let store = try Store(path: path)
        let organization = try store.write { try $0.createOrganization(handle: "checkpoints", name: nil, now: Date()) }
        let scope = Scope(organizationID: organization.organization.id, mode: .test)
        let commits = 4000
        var largestWAL = 0
        for index in 0..<commits {
            _ = try store.write(durability: .relaxed) { ledger in
                try ledger.createPlan(PlanDraft(name: "Plan \(index)", amount: 100 + Int64(index)), in: scope, now: Date())
            }
            if index % 100 == 0 {
                let size = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
                largestWAL = max(largestWAL, size)
            }
        }
        // The checkpointing thread is woken every 100 commits; give it a moment to run.
        let deadline = Date().addingTimeInterval(10)
        while store.checkpointCount < 5, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(store.checkpointCount >= 5)
        // A frame is a 24-byte header and a 4096-byte page. The WAL starts over once the writer's
        // checkpoint at its threshold (4,000 frames) completes; while the checkpointing thread
        // holds the checkpoint lock (long, on a loaded machine) the writer's cannot run, and the
        // WAL grows past it for that while. Without the writer's threshold it would never start
        // over: these commits write over 12,000 frames.
        #expect(largestWAL <= 32 + 2 * 4000 * (24 + 4096))
        store.waitUntilDurable()
        try store.close()
        let reopened = try Store(path: path)
        defer { try? reopened.close() }
        #expect(try Self.planCount(reopened, scope) == commits)
    }

    /// How many plans `scope` has in `store`, page by page through the API's listing.
    static func planCount(_ store: Store, _ scope: Scope) throws -> Int {
        var stored = 0, cursor: String?
        repeat {
            let page = try store.read { try $0.plans(in: scope, PageRequest(limit: 100, startingAfter: cursor)) }
            stored += page.items.count
            cursor = page.hasMore ? page.items.last?.id : nil
        } while cursor != nil
        return stored
    }

    /// Runs `body` on `count` threads at once (each given its number), and returns when all end.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchGroup()
        for thread in 0..<count {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                body(thread)
            }
        }
        done.wait()
    }

    @Test func memoryDatabaseWorks() throws {
        let server = try TestServer(databasePath: ":memory:")
        defer { server.stop() }
        #expect(try server.api("POST", "/v1/plans", json: #"{"name":"Ephemeral","amount":1}"#).status == 201)
    }
}
