import Billing
import Foundation
import Logging

/// Resolves payment attempts left between charge and settle (and refunds whose answer never came),
/// at start and then every `interval`:
/// a crash (`kill -9`) during a charge, an answer that never came, a customer who never came back
/// from the bank. Each is asked about at its processor by its idempotency key, then settled (the
/// money moved) or released (it did not). Nothing is charged here, so nothing can be charged twice.
///
/// Which attempts: every one not claimed by this process (a page claims its attempt's id before
/// the reservation is written, so none is taken here for a lost one while it is about to be
/// charged). Later passes also leave alone attempts younger than `minimumAge`, a guard for the
/// day several nodes share the database (then an attempt needs a lease: another node may be
/// charging it). One still waiting for the bank is given up, and its charge cancelled, once past
/// its 15 minutes.
final class RecoveryPass: Sendable {
    private let store: Store
    private let flow: PaymentFlow
    private let minimumAge: TimeInterval
    private let logger: Logger
    private let thread: RepeatingThread

    init(store: Store, flow: PaymentFlow, interval: TimeInterval, minimumAge: TimeInterval = 60, logger: Logger) {
        self.store = store
        self.flow = flow
        self.minimumAge = minimumAge
        self.logger = logger
        thread = RepeatingThread(interval: interval)
    }

    /// What one pass did.
    struct Tally: Equatable {
        var settled = 0, released = 0, waiting = 0, unresolved = 0
    }

    /// Runs the first pass at once, then one every `interval`, on its own thread (once).
    func start() {
        thread.start { [self] first in
            run(cutoff: first ? .distantFuture : Date().addingTimeInterval(-minimumAge))
        }
    }

    /// Stops after the pass in progress; stopping twice, or without having started, does nothing.
    func stop() {
        thread.stop()
    }

    /// One pass over the attempts made before `cutoff`.
    @discardableResult
    func run(cutoff: Date) -> Tally {
        var tally = Tally()
        let now = Date()
        do {
            for reservation in try store.read({ try $0.activeReservations(madeBefore: cutoff, limit: 500) })
            where !flow.isCharging(reservation.id) {
                switch flow.resolve(reservation, giveUpWaiting: reservation.expiresAt <= now) {
                case .completed?: tally.settled += 1
                case .declined?, .failed?: tally.released += 1
                case .requiresAction?: tally.waiting += 1
                case .unknown?, nil: tally.unresolved += 1
                }
            }
            for refund in try store.read({ try $0.pendingRefunds(madeBefore: cutoff, limit: 500) }) {
                switch flow.resolve(refund) {
                case .succeeded?: tally.settled += 1
                case .failed?: tally.released += 1
                case .pending?, nil: tally.unresolved += 1
                }
            }
        } catch {
            logger.error("recovery pass failed", metadata: ["error": "\(error)"])
        }
        if tally != Tally() {
            logger.info("recovery pass", metadata: ["settled": "\(tally.settled)", "released": "\(tally.released)",
                                                    "waiting_for_bank": "\(tally.waiting)", "unresolved": "\(tally.unresolved)"])
        }
        return tally
    }
}
