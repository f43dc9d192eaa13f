import Foundation
import GRDB

/// The durable home of every billing object: one SQLite database reached through GRDB.
///
/// A file database is a `DatabasePool` (WAL: concurrent readers, one writer) with a busy timeout,
/// so a second process (the `checkout keys` command) waits instead of failing. A payment
/// acknowledged to a customer must survive power loss: a durable write returns only once its
/// commit is flushed to disk, by group commit (`GroupCommit`) rather than inside the write lock.
/// `:memory:` gives a throwaway `DatabaseQueue` for tests and fixtures.
public final class Store: Sendable {
    /// The path given at opening, or `:memory:`.
    public let path: String
    private let writer: any DatabaseWriter
    private let groupCommit: GroupCommit
    /// Copies the WAL into the database file off the write lock; nil for `:memory:`.
    private let checkpointer: Checkpointer?
    /// Taken around every write, before GRDB's writer queue (see `write`). Recursive so that a
    /// write started inside another still reaches GRDB's "not reentrant" precondition instead
    /// of hanging on this lock.
    private let writeLock = NSRecursiveLock()

    /// How long a connection waits for another process's write lock before failing.
    public static let busyTimeout: TimeInterval = 5

    /// Opens (creating if needed) the database at `path` and applies every pending migration.
    /// Opening an up-to-date file migrates nothing.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            // The writer's page cache holds the leaves that random ids (sessions, tokens,
            // payments, attempts) send inserts to, so that a write under the lock rarely waits
            // for a read of one; 32 MB for the one writer (SQLite's default is 2 MB). Readers keep
            // the default: SQLite empties a reader's cache whenever anything was written.
            if !db.configuration.readonly { try db.execute(sql: "PRAGMA cache_size = -32000") }
        }
        do {
            if path == ":memory:" {
                writer = try DatabaseQueue(configuration: configuration)
            } else {
                let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let pool = try DatabasePool(path: path, configuration: configuration)
                // Commits append to the WAL without flushing it; `GroupCommit` flushes it after the
                // write lock is released. (GRDB chooses NORMAL for a WAL writer too; this does not
                // rely on it.)
                // Checkpoints are `Checkpointer`'s, away from the write lock; the writer's own
                // threshold is its backstop.
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Checkpointer.writerThreshold)")
                }
                writer = pool
            }
            try Schema.migrator.migrate(writer)
            checkpointer = path == ":memory:" ? nil : try Checkpointer(path: path, configuration: configuration)
            // Opened once the WAL exists (after the first write); flushes the migrations.
            groupCommit = try GroupCommit(databasePath: path == ":memory:" ? nil : path)
        } catch let error as DatabaseError {
            throw BillingError(.invalidState, "Cannot open database at \(path): \(error.message ?? error.description)")
        }
    }

    /// The names of the migrations applied to this database, oldest first.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try Schema.migrator.appliedMigrations(db) }
    }

    /// Runs `body` in a read-only snapshot. Readers never wait for the writer.
    public func read<T>(_ body: (Ledger) throws -> T) throws -> T {
        try translatingErrors {
            try writer.read { db in try body(Ledger(db: db)) }
        }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: the write lock is taken before the first
    /// read, so a check and the write that depends on it can never interleave with another writer.
    /// Everything `body` did is committed together, or nothing is if it throws. A `.full` write
    /// returns only once its commit is on disk.
    public func write<T>(durability: Durability = .full, _ body: (Ledger) throws -> T) throws -> T {
        // GRDB's writer is a serial dispatch queue, which hands itself to the waiting thread in
        // turn: two HTTP threads writing at once then alternate with a sleep and a wake-up at
        // every write. The unfair lock in front lets the thread that just wrote take it again at
        // once (measured: +9 % and +10 % completions/s in two alternating runs).
        writeLock.lock()
        let written = Result { try translatingErrors {
            try writer.writeWithoutTransaction { db in
                // `BEGIN IMMEDIATE` and `COMMIT` as cached statements: `Database.inTransaction`
                // compiles both again for every transaction (about 60,000 instructions, inside the
                // write lock).
                try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
                do {
                    let result = try body(Ledger(db: db))
                    try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
                    return (result, groupCommit.didCommit())
                } catch {
                    // Whatever failed (SQLite may already have rolled back), nothing of it stays;
                    // the first error is the one reported, as `inTransaction` does.
                    try? db.rollback()
                    throw error
                }
            }
        } }
        writeLock.unlock()
        let (value, commit) = try written.get()
        checkpointer?.didCommit()
        if durability == .full { groupCommit.waitUntilDurable(commit) }
        return value
    }

    /// Runs `body` while no other thread of this process can start a write: the writes it makes
    /// (each its own transaction, committed as it ends) follow one another with no other write
    /// between them. For a few short writes with no I/O between them, so that they cost one
    /// acquisition of the write lock instead of one each; never around a network round trip.
    public func exclusively<T>(_ body: () throws -> T) rethrows -> T {
        writeLock.lock()
        defer { writeLock.unlock() }
        return try body()
    }

    /// Returns once every commit made so far is on disk. Call it before anything read from the
    /// database leaves the process in a way that cannot be taken back (a webhook): another
    /// thread's commit is visible to readers slightly before it is durable.
    public func waitUntilDurable() {
        groupCommit.waitUntilDurable()
    }

    /// Whether every commit made so far is on disk.
    public var isDurable: Bool { groupCommit.isDurable }

    /// Runs `then` once every commit made so far is on disk, without blocking this thread: at
    /// once when it already is, else on the group-commit thread right after the flush that covers
    /// it. For answers that must not show what a power cut could undo, sent by a thread that has
    /// other work to do meanwhile (an HTTP worker). `then` must be short: hand the rest over.
    public func whenDurable(then: @escaping @Sendable () -> Void) {
        groupCommit.whenDurable(then: then)
    }

    /// How many write transactions this process has committed. Anything computed from the database
    /// (a rendered page, say) is still current while this number has not changed.
    public var writeGeneration: UInt64 { groupCommit.latest }

    /// Commits made by this process, flushes of the WAL it took to make them durable, and how
    /// many of the commits are known to be on disk.
    public var commitCounts: (commits: UInt64, flushes: UInt64, durable: UInt64) { groupCommit.counts }

    /// How many checkpoints the store's own checkpointing thread has run (0 for `:memory:`).
    public var checkpointCount: Int { checkpointer?.count ?? 0 }

    /// Closes every connection; later calls fail. Called once at shutdown.
    public func close() throws {
        // Callbacks still waiting for a flush get it first.
        groupCommit.stop()
        checkpointer?.stop()
        if let pool = writer as? DatabasePool {
            try pool.close()
        } else if let queue = writer as? DatabaseQueue {
            try queue.close()
        }
    }

    private func translatingErrors<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw BillingError(.invalidState, "The database is busy; try again.")
        }
    }
}

/// How hard a commit insists on reaching the disk.
public enum Durability: Sendable {
    /// On disk before the write returns (flushed by group commit): survives power loss. Every
    /// payment is written so.
    case full
    /// Returns without waiting for the flush: survives a crash of the process but maybe not of
    /// the machine. Only for bookkeeping whose loss is harmless (a webhook attempt log).
    case relaxed
}

/// The operations of one open transaction or snapshot. Every query of the domain is a method on
/// `Ledger`, so the rest of the program calls billing operations, never SQL.
public struct Ledger {
    let db: Database
}

/// Which organization and which mode a request acts for. Every object belongs to one scope and is
/// invisible from all others.
public struct Scope: Hashable, Sendable {
    /// The organization's id (`org_…`).
    public let organizationID: String
    /// Test or live.
    public let mode: Mode

    /// A scope.
    public init(organizationID: String, mode: Mode) {
        self.organizationID = organizationID
        self.mode = mode
    }

    /// Whether objects of this scope are live (`livemode` in responses).
    public var livemode: Bool { mode == .live }
}

/// Test objects are made with test keys and paid with test cards; live ones with live keys.
public enum Mode: String, Sendable, CaseIterable, Codable {
    case test
    case live
}

/// The SQLite settings a connection runs with, for operators and tests to check.
public struct StorageSettings: Sendable {
    /// `wal` for files, `memory` for `:memory:`.
    public let journalMode: String
    /// SQLite's `synchronous` level: 1 (NORMAL) on the writer, whose commits group commit
    /// flushes; 2 (FULL) is SQLite's default elsewhere.
    public let synchronous: Int
    /// How long a connection waits for a lock.
    public let busyTimeoutMilliseconds: Int
}

extension Ledger {
    /// The settings of this connection.
    public func pragmas() throws -> StorageSettings {
        StorageSettings(
            journalMode: try fetchValue(String.self, "PRAGMA journal_mode") ?? "",
            synchronous: try fetchValue(Int.self, "PRAGMA synchronous") ?? -1,
            busyTimeoutMilliseconds: try fetchValue(Int.self, "PRAGMA busy_timeout") ?? 0)
    }
}

extension Ledger {
    // Every query goes through SQLite's prepared-statement cache of its connection: compiling a
    // statement costs more than running it, and the same few statements run on every request.

    // Rows are decoded where SQLite holds them, never copied first. A copied GRDB row finds a
    // column by lowercasing every column name and comparing (a checkout link's 25 columns cost
    // about 190,000 instructions to decode that way, a third of a completion's CPU); a row of a
    // live statement finds it with one dictionary lookup. `decode` may run other queries, never
    // the one whose row it is decoding.

    /// The first row of a query decoded by `decode`, if there is a row.
    func fetchRow<Value>(_ sql: String, arguments: StatementArguments = [],
                         _ decode: (Row) throws -> Value) throws -> Value? {
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        return try rows.next().map(decode)
    }

    /// Every row of a query, each decoded by `decode`.
    func fetchRows<Value>(_ sql: String, arguments: StatementArguments = [],
                          _ decode: (Row) throws -> Value) throws -> [Value] {
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        var values: [Value] = []
        while let row = try rows.next() { values.append(try decode(row)) }
        return values
    }

    /// The first column of the first row of a query.
    func fetchValue<Value: DatabaseValueConvertible & StatementColumnConvertible>(
        _ type: Value.Type, _ sql: String, arguments: StatementArguments = []
    ) throws -> Value? {
        try Value.fetchOne(db.cachedStatement(sql: sql), arguments: arguments)
    }

    /// The row `id` of `table` in `scope`, decoded by `decode`: every scoped table has `id`,
    /// `organization_id` and `livemode`. Another scope's row is as missing as one that does not exist.
    func scopedRow<Value>(in table: String, id: String, scope: Scope, kind: String,
                          _ decode: (Row) throws -> Value) throws -> Value {
        guard let value = try fetchRow("SELECT * FROM \(table) WHERE id = ? AND organization_id = ? AND livemode = ?",
                                       arguments: [id, scope.organizationID, scope.livemode], decode)
        else { throw BillingError.notFound(kind, id) }
        return value
    }

    /// Runs one statement.
    func execute(_ sql: String, arguments: StatementArguments = []) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
