import Billing
import Foundation
import Logging
import Synchronization

/// The charge and settle steps of a completion (the reserve step is the page's), and resolving
/// an attempt with its processor afterwards: on the customer's return from the bank, and in the
/// recovery pass for attempts whose answer was lost. Each settle writes its events in the same
/// transaction and wakes the webhook dispatcher.
final class PaymentFlow: Sendable {
    private let store: Store
    private let time: BillingTime
    private let processors: any PaymentProcessorDirectory
    private let publicURL: PublicURL
    private let logger: Logger
    private let onCompletion: @Sendable () -> Void
    /// Attempts being charged by this process right now: the recovery pass leaves them alone.
    private let charging = Mutex<Set<String>>([])

    init(store: Store, time: BillingTime, processors: any PaymentProcessorDirectory, publicURL: PublicURL, logger: Logger,
         onCompletion: @escaping @Sendable () -> Void) {
        self.store = store
        self.time = time
        self.processors = processors
        self.publicURL = publicURL
        self.logger = logger
        self.onCompletion = onCompletion
    }

    /// Where an attempt ended up.
    enum Result {
        /// Paid.
        case completed(CheckoutSession)
        /// Refused, or the bank did not confirm; nothing charged, the session can be paid again.
        case declined(CheckoutSession, Decline)
        /// The processor failed and is known not to have charged.
        case failed(CheckoutSession)
        /// The customer must confirm at the bank's page.
        case requiresAction(CheckoutSession, url: String)
        /// No answer: it may have charged. The recovery pass will find out; nothing is charged
        /// twice. The session, when it could be read.
        case unknown(CheckoutSession?)
    }

    /// Which processor charges for `scope` now (its name is stored with each attempt), read in
    /// `ledger`. Looked up once per payment: the lookup reads the organization's connected account.
    func processor(for scope: Scope, in ledger: Ledger) -> any PaymentProcessor {
        processors.processor(for: scope, in: ledger)
    }

    /// Marks the attempt `id` as this process's before its reservation is even written, so the
    /// recovery pass can never take an attempt about to be charged here for a lost one. Call
    /// `unclaim` when no reservation came of it; a charge ends its own claim.
    func claim(_ id: String) {
        _ = charging.withLock { $0.insert(id) }
    }

    /// Gives up the claim on `id` (the reserve step ended without a reservation to charge).
    func unclaim(_ id: String) {
        _ = charging.withLock { $0.remove(id) }
    }

    /// Whether this process is charging the attempt `id`.
    func isCharging(_ id: String) -> Bool { charging.withLock { $0.contains(id) } }

    /// Step 2 and 3: charges `reservation` through `processor`, the one it was reserved for
    /// (call it on a charge worker, after `claim`), then settles or releases it.
    func charge(_ reservation: Reservation, session: CheckoutSession, card: PaymentCard,
                processor: any PaymentProcessor) -> Result {
        defer { _ = charging.withLock { $0.remove(reservation.id) } }
        let request = chargeRequest(reservation, session: session)
        let store = self.store
        // A processor outside this database must not charge for an attempt a power cut could
        // still erase; the test cards keep their ledger in the same WAL, where a lost reserve
        // takes every later commit (the charge's included) with it.
        if !processor.recordsInThisDatabase { store.waitUntilDurable() }
        let journal = ChargeJournal { note in
            try store.write { try $0.journalReservation(reservation.key, note: note) }
        }
        switch processor.charge(request, card: card, journal: journal) {
        case .succeeded(let reference):
            return settle(reservation, session: session, reference: reference)
        case .declined(let decline):
            return release(reservation, outcome: decline.code) { .declined($0, decline) } ?? .declined(session, decline)
        case .failed(let reason):
            logger.warning("charge failed, nothing charged", metadata: ["reservation": "\(reservation.id)", "reason": "\(reason)"])
            return release(reservation, outcome: "processor_error") { .failed($0) } ?? .failed(session)
        case .requiresAction(let reference, let url):
            do {
                try store.write { try $0.markRequiresAction(reservation.key, reference: reference, actionURL: url) }
                return .requiresAction(session, url: url)
            } catch {
                logger.error("recording a bank step failed", metadata: ["reservation": "\(reservation.id)", "error": "\(error)"])
                return .unknown(session)
            }
        case .unknown(let reason):
            logger.warning("charge answer unknown; left to the recovery pass",
                           metadata: ["reservation": "\(reservation.id)", "reason": "\(reason)"])
            return .unknown(session)
        }
    }

    /// Asks the processor what became of an attempt not being charged here (the customer back
    /// from the bank; the recovery pass), and settles or releases it as it says. With
    /// `giveUpWaiting`, an attempt still waiting for the bank is cancelled and released.
    func resolve(_ reservation: Reservation, giveUpWaiting: Bool = false) -> Result? {
        guard reservation.state.isActive, !isCharging(reservation.id) else { return nil }
        guard let processor = processors.processor(named: reservation.processor, for: reservation.scope) else {
            logger.error("the processor of an attempt is no longer configured",
                         metadata: ["reservation": "\(reservation.id)", "processor": "\(reservation.processor)"])
            return nil
        }
        guard let session = try? self.session(of: reservation) else { return nil }
        // Read again: the note or the reference may have been written since the caller's copy.
        let current = ((try? store.read { try $0.reservation(reservation.key) }) ?? nil) ?? reservation
        guard current.state.isActive else { return nil }
        let request = chargeRequest(current, session: session)
        let reference = current.processorReference, note = current.processorNote
        var status = processor.status(of: request, reference: reference, note: note)
        if giveUpWaiting, case .requiresAction = status {
            status = processor.cancel(request, reference: reference, note: note)
        }
        switch status {
        case .succeeded(let reference):
            return settle(reservation, reference: reference)
        case .declined(let decline):
            return release(reservation, outcome: decline.code) { .declined($0, decline) }
        case .notFound:
            return release(reservation, outcome: "not_charged") { .failed($0) }
        case .requiresAction(let reference, let url):
            try? store.write { try $0.markRequiresAction(reservation.key, reference: reference, actionURL: url) }
            return .requiresAction(session, url: url)
        case .unknown(let reason):
            logger.warning("could not ask the processor about an attempt",
                           metadata: ["reservation": "\(reservation.id)", "reason": "\(reason)"])
            return .unknown(session)
        }
    }

    // MARK: Refunds

    /// Step 2 of a refund: asks the processor that took the payment to give the amount back
    /// (outside every transaction). The refund is claimed meanwhile, as a charge is.
    func refund(_ refund: Refund, chargeReference: String) -> RefundResult {
        claim(refund.id)
        defer { unclaim(refund.id) }
        guard let processor = processors.processor(named: refund.processor, for: refund.scope) else {
            return .failed(reason: "The processor that took this payment (\(refund.processor)) is no longer connected.")
        }
        return processor.refund(Self.refundRequest(refund, chargeReference: chargeReference))
    }

    private static func refundRequest(_ refund: Refund, chargeReference: String) -> RefundRequest {
        RefundRequest(amount: refund.amount, scope: refund.scope, idempotencyKey: refund.id, chargeReference: chargeReference,
                      reason: refund.reason?.rawValue)
    }

    /// Step 3: records the processor's answer in `ledger`'s transaction, with its event.
    func finish(_ refund: Refund, result: RefundResult, in ledger: Ledger, now: Date) throws -> Refund {
        let finished = try ledger.finishRefund(id: refund.id, result: result)
        guard finished.status != refund.status else { return finished }
        switch finished.status {
        case .succeeded:
            try EventLog.record(.refundCreated, object: RefundsEndpoints.json(finished), scope: finished.scope, in: ledger, now: now)
        case .failed:
            try EventLog.record(.refundFailed, object: RefundsEndpoints.json(finished), scope: finished.scope, in: ledger, now: now)
        case .pending:
            break
        }
        return finished
    }

    /// For the recovery pass: asks the processor about a refund whose answer never came.
    func resolve(_ refund: Refund) -> Refund.Status? {
        guard refund.status == .pending, !isCharging(refund.id),
              let processor = processors.processor(named: refund.processor, for: refund.scope),
              let reference = try? store.read({ try $0.payment(id: refund.paymentID, in: refund.scope) }).processorReference
        else { return nil }
        let result = processor.status(of: Self.refundRequest(refund, chargeReference: reference))
        if case .unknown = result { return nil }
        let status = try? store.write { ledger in
            try finish(refund, result: result, in: ledger, now: time.now(for: refund.scope)).status
        }
        onCompletion()
        return status
    }

    /// The charge an attempt makes (or made), as its processor is asked.
    private func chargeRequest(_ reservation: Reservation, session: CheckoutSession) -> ChargeRequest {
        ChargeRequest(amount: reservation.amount, scope: reservation.scope, idempotencyKey: reservation.idempotencyKey,
                      checkoutSessionID: session.id,
                      returnURL: Self.returnURL(publicURL: publicURL.value, session: session, reservation: reservation))
    }

    /// Where the bank sends the customer back: the session's own page, naming the attempt.
    static func returnURL(publicURL: String, session: CheckoutSession, reservation: Reservation) -> String {
        PageURLs.session(publicURL: publicURL, token: session.token) + "?payment_return=" + reservation.id
    }

    private func session(of reservation: Reservation) throws -> CheckoutSession {
        try store.read { try $0.session(id: reservation.checkoutSessionID, in: reservation.scope) }
    }

    /// Step 3. `session` is the one the reserve step returned with `reservation` (the charge
    /// path); without it both are read again (the bank's return, the recovery pass).
    private func settle(_ reservation: Reservation, session reserved: CheckoutSession? = nil, reference: String) -> Result {
        let scope = reservation.scope
        do {
            // Relaxed, as every write whose outcome leaves the process only through what waits for
            // the flush: the answer to the customer (`TopLevelRouter` sends nothing before every
            // commit it could have seen is on disk) and the webhooks (the dispatcher waits too).
            // So the HTTP worker that settles does not sleep through the flush.
            let outcome = try store.write(durability: .relaxed) { ledger -> SettleOutcome in
                let now = time.now(for: scope)
                let outcome = if let reserved {
                    try ledger.settle(reservation, of: reserved, reference: reference, now: now)
                } else {
                    try ledger.settle(reservation.key, reference: reference, now: now)
                }
                if case .completed(let session, let effects) = outcome {
                    try EventLog.completion(session, effects, Representation(publicURL: publicURL.value, now: now, handle: ""),
                                            in: ledger, now: now)
                }
                return outcome
            }
            switch outcome {
            case .completed(let session, _):
                onCompletion()
                return .completed(session)
            case .alreadyResolved(let resolved, let session):
                if resolved.state == .settled { return .completed(session) }
                // Charged, but the attempt was given up meanwhile: this must never happen, and
                // needs a person (a refund) if it does.
                logger.critical("a charge succeeded for an attempt already released",
                                metadata: ["reservation": "\(reservation.id)", "reference": "\(reference)"])
                return .completed(session)
            case .released(let session, _):
                return .unknown(session)
            }
        } catch {
            // The money moved but the record did not: the attempt stays `charging`, and the
            // recovery pass settles it from the processor's answer.
            logger.error("settling a charged attempt failed; the recovery pass will settle it",
                         metadata: ["reservation": "\(reservation.id)", "error": "\(error)"])
            return .unknown(try? session(of: reservation))
        }
    }

    /// Releases the attempt, then says where its session stands with `result`; nil when the
    /// release could not be written (the recovery pass releases it later).
    private func release(_ reservation: Reservation, outcome: String, then result: (CheckoutSession) -> Result) -> Result? {
        do {
            // Relaxed, as the settle above; a release a power cut loses leaves the attempt to the
            // recovery pass, which asks the processor again.
            let released = try store.write(durability: .relaxed) { ledger in
                try ledger.release(reservation.key, outcome: outcome, now: time.now(for: reservation.scope))
            }
            switch released {
            case .released(let session, _): return result(session)
            case .alreadyResolved(let resolved, let session): return resolved.state == .settled ? .completed(session) : result(session)
            case .completed(let session, _): return .completed(session)
            }
        } catch {
            logger.error("releasing an attempt failed", metadata: ["reservation": "\(reservation.id)", "error": "\(error)"])
            return nil
        }
    }
}
