import Billing
import Foundation
import Logging

/// Expires, without anyone opening them, open sessions and payment links whose time has passed,
/// with their events, every `interval`. Runs on its own thread, in short transactions, so request
/// threads never wait on it for long.
final class ExpirySweeper: Sendable {
    private let store: Store
    private let time: BillingTime
    private let publicURL: PublicURL
    private let logger: Logger
    private let afterSweep: @Sendable () -> Void
    private let thread: RepeatingThread

    init(store: Store, time: BillingTime, interval: TimeInterval, publicURL: PublicURL, logger: Logger,
         afterSweep: @escaping @Sendable () -> Void) {
        self.store = store
        self.time = time
        self.publicURL = publicURL
        self.logger = logger
        self.afterSweep = afterSweep
        thread = RepeatingThread(interval: interval)
    }

    /// Starts the sweeping thread (once).
    func start() {
        thread.start { [self] _ in sweep() }
    }

    /// Stops after the pass in progress; stopping twice, or without having started, does nothing.
    func stop() {
        thread.stop()
    }

    /// One pass: everything on the wall clock, then the test objects of each organization on a
    /// test clock at that clock's time.
    func sweep() {
        let onTestClocks = time.adjustedOrganizations
        sweep(.everythingExcept(testModeOf: onTestClocks)) { time.wall.now() }
        for organizationID in onTestClocks {
            let scope = Scope(organizationID: organizationID, mode: .test)
            sweep(.scope(scope)) { time.now(for: scope) }
        }
    }

    /// Expires what is due in `range`, in batches until nothing is left.
    private func sweep(_ range: ExpiryRange, now: () -> Date) {
        do {
            while true {
                let now = now()
                guard try store.read({ try $0.hasExpiriesDue(at: now, in: range) }) else { break }
                let expired = try store.write { ledger in
                    try Self.expire(range, at: now, publicURL: publicURL.value, in: ledger)
                }
                if expired.isEmpty { break }
                logger.info("expired \(expired.sessions.count) sessions and \(expired.paymentLinks.count) payment links")
                afterSweep()
            }
        } catch {
            logger.error("expiry sweep failed: \(error)")
        }
    }

    /// Expires one batch of what is due in `range` at `now`, with the events, in the caller's
    /// transaction.
    static func expire(_ range: ExpiryRange, at now: Date, publicURL: String, in ledger: Ledger) throws -> ExpiredObjects {
        let expired = try ledger.expireDue(at: now, in: range)
        try EventLog.expiries(expired, publicURL: publicURL, in: ledger, now: now)
        return expired
    }
}
