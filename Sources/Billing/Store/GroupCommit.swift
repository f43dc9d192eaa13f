import Foundation

/// Makes commits durable after the write lock is released, and lets commits that wait together
/// share one flush (group commit).
///
/// The writer commits with `synchronous = NORMAL`: SQLite appends the transaction to the WAL with
/// `write(2)` and releases the lock without flushing. Whoever must not return before that commit
/// is on disk then calls `waitUntilDurable(_:)`: one waiter at a time flushes the WAL with
/// `fdatasync(2)`, and every commit appended before that flush started is durable when it ends.
/// So the lock is held only for the CPU work of a transaction, and N payments that wait at the
/// same moment cost one flush, not N.
///
/// Why this is as safe as `synchronous = FULL`: SQLite appends frames to the WAL in commit order
/// and, on recovery, keeps exactly the commits whose frames (and those of every earlier commit)
/// are on disk. A flush of the WAL therefore makes a prefix of the commit order durable. Frames
/// moved to the database file by a checkpoint are flushed by the checkpoint itself (SQLite syncs
/// the WAL before, and the database after, each checkpoint), so a WAL reset cannot lose them.
/// On Linux, `fdatasync` on any descriptor of a file flushes every dirty page of that file, so
/// our own descriptor flushes what SQLite's connection wrote.
final class GroupCommit: @unchecked Sendable {
    // Every stored property below is read and written with `condition` locked; that is the
    // invariant behind `@unchecked Sendable`.
    private let condition = NSCondition()
    /// Commits made by this process so far.
    private var committed: UInt64 = 0
    /// Commits known to be on disk: every commit numbered up to this one.
    private var durable: UInt64 = 0
    /// Whether a waiter is flushing now (the others wait for it instead of flushing too).
    private var flushing = false
    /// How many flushes were made, for tests and benchmarks.
    private var flushes: UInt64 = 0
    /// The file flushed, or nil when there is nothing to flush (`:memory:`).
    private let wal: WALFile?

    /// Group commit over the WAL of the database at `databasePath`; nil for a database that is
    /// not on disk, whose commits are as durable as they will ever be when they return.
    init(databasePath: String?) throws {
        wal = try databasePath.map { try WALFile(databasePath: $0) }
    }

    /// Numbers a commit. Called by the writer right after each commit, before it releases the
    /// write lock, so that numbers follow the order of the commits in the WAL.
    func didCommit() -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        committed += 1
        if wal == nil { durable = committed }
        return committed
    }

    /// The number of the latest commit.
    var latest: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return committed
    }

    /// Commits made, flushes done, and the number up to which commits are on disk.
    var counts: (commits: UInt64, flushes: UInt64, durable: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        return (committed, flushes, durable)
    }

    /// Returns once commit `number` (by default the latest), and with it every earlier one, is on
    /// disk. Flushes the WAL itself when no one else is; otherwise waits for the flush under way,
    /// which may already cover it.
    func waitUntilDurable(_ number: UInt64? = nil) {
        condition.lock()
        defer { condition.unlock() }
        let number = number ?? committed
        while durable < number {
            if flushing {
                condition.wait()
                continue
            }
            // Every commit numbered so far has finished writing its frames: the flush covers it.
            let covered = committed
            flushing = true
            condition.unlock()
            wal?.flush()
            condition.lock()
            flushing = false
            flushes += 1
            durable = max(durable, covered)
            condition.broadcast()
        }
    }
}

/// Our own descriptor of a database's WAL file (`<path>-wal`), opened once, reopened if SQLite
/// ever replaces the file.
private final class WALFile: @unchecked Sendable {
    // `descriptor` is used only by the one flushing waiter at a time (`GroupCommit.flushing`).
    private let path: String
    private var descriptor: Int32 = -1
    private var inode: UInt64 = 0

    init(databasePath: String) throws {
        path = databasePath + "-wal"
        try open()
        // What was committed before (the migrations) becomes durable now.
        guard fdatasync(descriptor) == 0 else { throw BillingError(.invalidState, "Cannot flush the WAL \(path): \(Self.lastError)") }
        // The WAL's directory entry must be on disk too, or a power cut could lose the whole file.
        let directory = URL(fileURLWithPath: databasePath).deletingLastPathComponent().path
        let directoryDescriptor = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else { throw BillingError(.invalidState, "Cannot open \(directory): \(Self.lastError)") }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else { throw BillingError(.invalidState, "Cannot flush \(directory): \(Self.lastError)") }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    private func open() throws {
        let opened = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else { throw BillingError(.invalidState, "Cannot open the WAL \(path): \(Self.lastError)") }
        var status = stat()
        guard fstat(opened, &status) == 0 else {
            close(opened)
            throw BillingError(.invalidState, "Cannot inspect the WAL \(path): \(Self.lastError)")
        }
        if descriptor >= 0 { close(descriptor) }
        descriptor = opened
        inode = UInt64(status.st_ino)
    }

    /// Flushes every byte written to the WAL so far. A failed flush stops the process: after
    /// one, Linux may have dropped the unwritten pages while SQLite believes them written, so
    /// nothing more may be acknowledged; on restart SQLite recovers from what is on disk.
    func flush() {
        var status = stat()
        if stat(path, &status) != 0 || UInt64(status.st_ino) != inode {
            do { try open() } catch { fatalError("\(error); stopping so that no unsaved payment is acknowledged.") }
        }
        guard fdatasync(descriptor) == 0 else {
            fatalError("Flushing the WAL \(path) failed: \(Self.lastError); stopping so that no unsaved payment is acknowledged.")
        }
    }

    private static var lastError: String { String(cString: strerror(errno)) }
}
