import Foundation
import Synchronization

/// Webhook sending is background work: under full load the CPU should go to customers paying, and
/// deliveries (durable, so waiting loses nothing) catch up when there is room. Its threads run at
/// the lowest priority. Such a thread must never hold the database's write lock, though: preempted
/// by everything else while payments wait for the lock, it would make them wait for the slowest
/// thread of the machine (a priority inversion). So it does its database work through a
/// `ForegroundWorker`.
enum BackgroundPriority {
    /// Sets the calling thread's nice value to 19 (Linux schedules threads individually).
    static func lowerCurrentThread() {
        #if os(Linux)
        // On Linux the nice value belongs to the thread, and `who = 0` names the calling one.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        #endif
    }
}

/// A thread of normal priority that runs, one at a time, the jobs background threads hand it and
/// wait for: their database transactions. Created by `start`, so it has the starting thread's
/// (normal) priority, never a background thread's.
final class ForegroundWorker: Sendable {
    private let jobs = Mutex<[Job]>([])
    private let available = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let state = Mutex(State.idle)

    private enum State { case idle, running, stopped }

    /// A job and, once run, its outcome.
    private final class Job: @unchecked Sendable {
        // @unchecked: `body` and `outcome` are touched by the submitting thread before the job is
        // queued and after `done` is signalled, and by the worker in between, never at once.
        let body: () throws -> Any
        var outcome: Result<Any, Error>?
        let done = DispatchSemaphore(value: 0)

        init(_ body: @escaping () throws -> Any) {
            self.body = body
        }
    }

    /// Starts the thread (once).
    func start() {
        let starting = state.withLock { state -> Bool in
            guard state == .idle else { return false }
            state = .running
            return true
        }
        guard starting else { return }
        Thread.detachNewThread { [self] in
            while true {
                available.wait()
                guard let job = jobs.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) else { break }
                job.outcome = Result { try job.body() }
                job.done.signal()
            }
            finished.signal()
        }
    }

    /// Runs `body` on the worker and returns what it returned (or throws what it threw). Once the
    /// worker is stopped, or before it started, `body` runs on the calling thread.
    func run<T>(_ body: @escaping () throws -> T) throws -> T {
        let job = Job { try body() }
        let queued = state.withLock { state -> Bool in
            guard state == .running else { return false }
            jobs.withLock { $0.append(job) }
            return true
        }
        guard queued else { return try body() }
        available.signal()
        job.done.wait()
        return try job.outcome!.get() as! T
    }

    /// Runs the jobs already queued, then ends the thread.
    func stop() {
        let stopping = state.withLock { state -> Bool in
            defer { state = .stopped }
            return state == .running
        }
        guard stopping else { return }
        available.signal()
        finished.wait()
    }
}
