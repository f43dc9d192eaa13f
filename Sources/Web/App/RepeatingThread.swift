import Foundation
import Synchronization

/// A thread of its own that runs a pass at once and then every `interval` until stopped: the
/// expiry sweep's and the recovery pass's loop. Its passes are short transactions, so request
/// threads never wait on it for long; `stop` returns once the pass in progress has ended.
final class RepeatingThread: Sendable {
    private let interval: TimeInterval
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)

    init(interval: TimeInterval) {
        self.interval = interval
    }

    /// Starts the thread (once); `pass` gets whether it is the first.
    func start(_ pass: @escaping @Sendable (_ first: Bool) -> Void) {
        guard running.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else { return }
        Thread.detachNewThread { [self] in
            var first = true
            while !stopping.load(ordering: .sequentiallyConsistent) {
                pass(first)
                first = false
                _ = wakeup.wait(timeout: .now() + interval)
            }
            finished.signal()
        }
    }

    /// Stops after the pass in progress; stopping twice, or without having started, does nothing.
    func stop() {
        guard running.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        wakeup.signal()
        finished.wait()
    }
}
