import Billing
import Foundation
import Logging
import Synchronization

/// Expires, without anyone opening them, open sessions and payment links whose time has passed,
/// with their events, every `interval`. Runs on its own thread, in short transactions, so request
/// threads never wait on it for long.
final class ExpirySweeper: Sendable {
    private let store: Store
    private let clock: Clock
    private let interval: TimeInterval
    private let publicURL: PublicURL
    private let logger: Logger
    private let afterSweep: @Sendable () -> Void
    private let wakeup = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Bool>(false)

    init(store: Store, clock: Clock, interval: TimeInterval, publicURL: PublicURL, logger: Logger,
         afterSweep: @escaping @Sendable () -> Void) {
        self.store = store
        self.clock = clock
        self.interval = interval
        self.publicURL = publicURL
        self.logger = logger
        self.afterSweep = afterSweep
    }

    /// Starts the sweeping thread (once).
    func start() {
        guard running.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged else { return }
        Thread.detachNewThread { [self] in
            BackgroundPriority.lowerCurrentThread()
            while !stopping.load(ordering: .sequentiallyConsistent) {
                sweep()
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

    /// One pass: batches until nothing is left to expire.
    func sweep() {
        do {
            while true {
                let now = clock.now()
                guard try store.read({ try $0.hasExpiriesDue(at: now) }) else { break }
                let url = publicURL.value
                let expired = try store.write { ledger in
                    let expired = try ledger.expireDue(at: now)
                    try EventLog.expiries(expired, publicURL: url, in: ledger, now: now)
                    return expired
                }
                if expired.isEmpty { break }
                logger.info("expired \(expired.sessions.count) sessions and \(expired.paymentLinks.count) payment links")
                afterSweep()
            }
        } catch {
            logger.error("expiry sweep failed: \(error)")
        }
    }
}
