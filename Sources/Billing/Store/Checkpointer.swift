import Foundation
import GRDB

/// Copies committed WAL frames into the database file on a thread of its own, away from the write
/// lock.
///
/// Left to itself, SQLite checkpoints inside the commit that finds the WAL past
/// `wal_autocheckpoint` pages: under the write lock, copying every page written since the last
/// checkpoint and flushing the WAL before and the database file after. Every ~40 payments, the
/// write lock was held for two flushes and a thousand page copies while every other payment waited.
///
/// Here a connection of its own runs a PASSIVE checkpoint (alongside the writer and the readers,
/// taking no lock they wait for) every `commitsPerCheckpoint` commits. The writer keeps a larger
/// auto-checkpoint threshold as a backstop, and for one more reason: SQLite starts the WAL over
/// only when a write begins with every frame copied, which a checkpoint running beside a steady
/// stream of commits never quite reaches. The commit that crosses the backstop finds nearly
/// everything copied already (so its checkpoint copies and flushes little), and the write after
/// it starts the WAL from the beginning again, keeping the file bounded.
///
/// Durability is SQLite's own: at `synchronous = NORMAL` or above, a checkpoint flushes the WAL
/// before it copies and the database file after, so no frame reaches the database file (where
/// a WAL restart could leave it the only copy) before it is on disk in the WAL.
final class Checkpointer: @unchecked Sendable {
    // @unchecked: every stored var is read and written with `condition` locked; `connection` is a
    // GRDB queue, safe from any thread.
    private let condition = NSCondition()
    /// Commits since the last checkpoint began.
    private var pending = 0
    private var threadRunning = false
    private var stopping = false
    /// Checkpoints run (read through `count`, under the lock).
    private var checkpoints = 0
    private let connection: DatabaseQueue

    /// Commits between two checkpoints: a completion is three commits of about 24 pages in all,
    /// so this copies roughly the thousand pages SQLite's own default would, a little more often.
    static let commitsPerCheckpoint = 100
    /// The writer's own auto-checkpoint threshold, in pages: the backstop described above.
    static let writerThreshold = 4000

    /// A checkpointer of the WAL database at `path`, through a connection of its own.
    init(path: String, configuration: Configuration) throws {
        connection = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Counts a commit; every `commitsPerCheckpoint`, wakes the checkpointing thread. Call it
    /// after the write lock is released.
    func didCommit() {
        condition.lock()
        defer { condition.unlock() }
        pending += 1
        guard pending >= Self.commitsPerCheckpoint, !stopping else { return }
        if !threadRunning {
            threadRunning = true
            let thread = Thread { [self] in run() }
            thread.name = "checkpoint"
            thread.start()
        }
        condition.signal()
    }

    /// Ends the thread (after the checkpoint under way, if any) and closes the connection.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while threadRunning { condition.wait() }
        condition.unlock()
        try? connection.close()
    }

    /// How many checkpoints ran.
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return checkpoints
    }

    private func run() {
        // Below the HTTP workers: page copies are never what a customer waits for, and the
        // writer's backstop bounds the WAL if this thread falls behind.
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // this thread only, on Linux
        condition.lock()
        while true {
            while pending < Self.commitsPerCheckpoint, !stopping { condition.wait() }
            if stopping { break }
            pending = 0
            condition.unlock()
            // A checkpoint that finds readers on old frames copies what it can; the next one
            // takes the rest. Errors (a busy file) are the same: the next one tries again.
            _ = try? connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            condition.lock()
            checkpoints += 1
        }
        threadRunning = false
        condition.broadcast()
        condition.unlock()
    }
}
