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
/// A waiter need not be a blocked thread: `whenDurable(then:)` queues a callback that the
/// flushing thread of this object runs once the commit is on disk. The HTTP server answers that
/// way (its connection suspended meanwhile), so a worker thread goes on serving other requests
/// during a flush instead of sleeping in `fdatasync`, and every payment committed while one flush
/// runs shares the next.
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
    /// Callbacks waiting for a commit to be on disk, in the order they came (and so in the order
    /// of their numbers, the latest commit when each came, taken under this lock).
    private var callbacks: [(number: UInt64, run: @Sendable () -> Void)] = []
    /// Whether the thread that flushes for callbacks runs (started at the first callback).
    private var flusherRunning = false
    /// Set by `stop`: the flushing thread ends once no callback waits.
    private var stopping = false

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
        let number = number ?? committed
        while durable < number {
            if flushing {
                condition.wait()
                continue
            }
            flushLocked()
        }
        let ready = takeReadyCallbacks()
        condition.unlock()
        ready.forEach { $0() }
    }

    /// Whether every commit made so far is on disk.
    var isDurable: Bool {
        condition.lock()
        defer { condition.unlock() }
        return durable >= committed
    }

    /// Runs `then` once every commit made so far is on disk: at once on this thread when it
    /// already is, otherwise on this object's flushing thread right after the flush that covers
    /// it. `then` must be short (hand the rest over).
    func whenDurable(then: @escaping @Sendable () -> Void) {
        condition.lock()
        let number = committed
        guard durable < number else {
            condition.unlock()
            then()
            return
        }
        callbacks.append((number, then))
        if !flusherRunning {
            flusherRunning = true
            let thread = Thread { [self] in flushForCallbacks() }
            thread.name = "group-commit"
            thread.start()
        }
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the flushing thread once every callback waiting has run (after the flushes they need).
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while flusherRunning { condition.wait() }
        condition.unlock()
    }

    /// The flushing thread: while callbacks wait, flushes (or lets a waiter's flush under way
    /// finish), then runs those the flush covered. One flush covers every commit made before it
    /// started, so the callbacks that queue up during a flush share the next one.
    private func flushForCallbacks() {
        // Below the HTTP workers: waking this thread after every payment must not push a worker
        // that holds the write lock off its core (measured: involuntary switches per worker and
        // completion 1.33 at the same priority, 0.35 at nice 10); a few hundred microseconds
        // later is soon enough for an acknowledgement.
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // this thread only, on Linux
        condition.lock()
        while true {
            let ready = takeReadyCallbacks()
            if !ready.isEmpty {
                condition.unlock()
                ready.forEach { $0() }
                condition.lock()
                continue
            }
            if callbacks.isEmpty {
                if stopping { break }
                condition.wait()
            } else if flushing {
                condition.wait()
            } else {
                flushLocked()
            }
        }
        flusherRunning = false
        condition.broadcast()
        condition.unlock()
    }

    /// Flushes the WAL with `condition` locked on entry and exit (unlocked during the flush).
    private func flushLocked() {
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

    /// Removes and returns the callbacks whose commit is on disk (with `condition` locked).
    private func takeReadyCallbacks() -> [@Sendable () -> Void] {
        guard let first = callbacks.first, first.number <= durable else { return [] }
        let ready = callbacks.prefix { $0.number <= durable }
        callbacks.removeFirst(ready.count)
        return ready.map { $0.run }
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
