import Foundation

/// The threads that charge cards: at most `limit` charges run at once (`--charge-concurrency`),
/// the rest wait their turn in order. A charge is a network round trip that may take seconds, so
/// it runs here, never on one of the HTTP worker threads, whose connections stay suspended
/// meanwhile.
///
/// Hand-written rather than on Dispatch: a global queue would block its shared threads for the
/// length of every round trip (and grow them without the bound a processor's rate limit wants).
/// Threads are started as work arrives, up to the limit, and stay for the next charge.
final class ChargeWorkers: @unchecked Sendable {
    // @unchecked: every stored property is guarded by `condition`'s lock.
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var threads = 0
    private var idle = 0
    private var running = 0
    private var stopping = false
    /// Most charges run at once.
    let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Queues `work`; it runs as soon as a thread is free.
    func run(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        queue.append(work)
        if queue.count > idle, threads < limit {
            threads += 1
            let thread = Thread { [self] in loop() }
            thread.name = "charge"
            thread.start()
        } else {
            condition.signal()
        }
    }

    /// Charges queued or running.
    var pending: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count + running
    }

    /// Waits up to `timeout` seconds for every queued and running charge to finish, then lets the
    /// threads end. Returns how many were still unfinished (the recovery pass resolves those).
    @discardableResult
    func stop(timeout: TimeInterval) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while queue.count + running > 0, condition.wait(until: deadline) {}
        stopping = true
        condition.broadcast()
        return queue.count + running
    }

    private func loop() {
        condition.lock()
        while true {
            while queue.isEmpty, !stopping {
                idle += 1
                condition.wait()
                idle -= 1
            }
            if stopping {
                threads -= 1
                condition.unlock()
                return
            }
            let work = queue.removeFirst()
            running += 1
            condition.unlock()
            work()
            condition.lock()
            running -= 1
            condition.broadcast()
        }
    }
}
