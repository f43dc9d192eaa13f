import Foundation

/// Where money is actually moved. A completion calls `charge` between its two short
/// transactions (reserve, settle), never inside one: a real processor is a network round trip.
///
/// Every charge carries an idempotency key made from the session and the attempt number, so
/// asking again (a retry, the recovery pass after a crash) can never charge twice, and
/// `status(ofChargeWithKey:)` can tell afterwards what a charge whose answer was lost did.
public protocol PaymentProcessor: Sendable {
    /// The name stored with each charge (`test`, `stripe`): a charge is asked about and refunded
    /// through the processor that made it.
    var name: String { get }

    /// Whether the processor keeps its records in this server's own database (the test cards):
    /// then its commits follow the attempt's in the same log, and the attempt need not be on
    /// disk before the charge.
    var recordsInThisDatabase: Bool { get }

    /// Whether a charge answers at once, with no round trip and no wait (the test cards without
    /// latency): then it runs on the request's own thread, without suspending the connection.
    var chargesAtOnce: Bool { get }

    /// Charges `request.amount` to `card`. Must not throw: a decline, a bank step and a failure
    /// are all answers. A processor that charges in several requests writes each step it will
    /// need to ask about later with `journal` (durably, before the next request goes out); the
    /// note comes back in `status` and `cancel`. A journal that cannot be written must stop the
    /// charge before anything is charged.
    func charge(_ request: ChargeRequest, card: PaymentCard, journal: ChargeJournal) -> ChargeResult

    /// What became of the charge `request` (its idempotency key, and the processor's reference
    /// and journal note when known): after the bank's page, or when its answer never came.
    func status(of request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus

    /// Gives up a charge still waiting for the bank (the customer never came back), so that a
    /// late confirmation cannot take the money of a checkout given up. Returns what the charge
    /// became: it may have succeeded just before.
    func cancel(_ request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus

    /// Gives back `request.amount` of the charge `request.chargeReference`; the same key never
    /// refunds twice.
    func refund(_ request: RefundRequest) -> RefundResult

    /// What became of the refund `request`, when its answer was lost.
    func status(of request: RefundRequest) -> RefundResult
}

/// Where a processor writes a step of a charge in progress (see `PaymentProcessor.charge`).
public struct ChargeJournal: Sendable {
    private let write: @Sendable (String) throws -> Void

    /// A journal that hands each note to `write`.
    public init(_ write: @escaping @Sendable (String) throws -> Void) {
        self.write = write
    }

    /// A journal that keeps nothing (a processor whose charge is one request).
    public static let none = ChargeJournal { _ in }

    /// Writes `note` durably; throws when it could not be.
    public func record(_ note: String) throws { try write(note) }
}

/// What a refund is for.
public struct RefundRequest: Sendable {
    /// How much to give back.
    public let amount: Money
    /// Whose charge it is.
    public let scope: Scope
    /// The same key never refunds twice: the refund's own id.
    public let idempotencyKey: String
    /// The processor's id for the charge.
    public let chargeReference: String
    /// Why, when the merchant said.
    public let reason: String?

    /// A request.
    public init(amount: Money, scope: Scope, idempotencyKey: String, chargeReference: String, reason: String?) {
        self.amount = amount
        self.scope = scope
        self.idempotencyKey = idempotencyKey
        self.chargeReference = chargeReference
        self.reason = reason
    }
}

/// The answer to a refund.
public enum RefundResult: Sendable, Equatable {
    /// Given back; `reference` is the processor's id for the refund.
    case succeeded(reference: String)
    /// Refused, or (asked afterwards) never made: nothing given back.
    case failed(reason: String)
    /// No answer: it may have been made. Asked again later with the same key.
    case unknown(reason: String)
}

extension PaymentProcessor {
    /// A processor elsewhere, by default.
    public var recordsInThisDatabase: Bool { false }

    /// A round trip, by default.
    public var chargesAtOnce: Bool { false }
}

/// What a charge is for, besides the card.
public struct ChargeRequest: Sendable {
    /// What to take.
    public let amount: Money
    /// Whose money it is to receive.
    public let scope: Scope
    /// The same key never charges twice: the session id and the attempt number.
    public let idempotencyKey: String
    /// The session paid, for the processor's records (`metadata[checkout_session]`).
    public let checkoutSessionID: String
    /// Where the bank sends the customer back after confirming (3-D Secure).
    public let returnURL: String

    /// A request.
    public init(amount: Money, scope: Scope, idempotencyKey: String, checkoutSessionID: String, returnURL: String) {
        self.amount = amount
        self.scope = scope
        self.idempotencyKey = idempotencyKey
        self.checkoutSessionID = checkoutSessionID
        self.returnURL = returnURL
    }
}

/// The answer to a charge.
public enum ChargeResult: Sendable, Equatable {
    /// Money moved; `reference` is the processor's id for it.
    case succeeded(reference: String)
    /// Refused; nothing moved.
    case declined(Decline)
    /// The bank must confirm first: the customer goes to `redirectURL` and comes back to the
    /// checkout, which then asks for `status`.
    case requiresAction(reference: String, redirectURL: String)
    /// The processor said it did not charge (an error it answered, a connection it refused
    /// before anything was sent): safe to release at once.
    case failed(reason: String)
    /// No answer (a timeout, a reset, a 5xx): it may have charged. The reservation is left to the
    /// recovery pass, which asks again with the same key.
    case unknown(reason: String)
}

/// What a processor knows of a charge when asked afterwards.
public enum ChargeStatus: Sendable, Equatable {
    /// Money moved.
    case succeeded(reference: String)
    /// Refused, or the bank did not confirm: nothing moved.
    case declined(Decline)
    /// Still waiting for the customer at the bank.
    case requiresAction(reference: String, redirectURL: String)
    /// The processor never received it: nothing moved.
    case notFound
    /// The processor could not be asked (down, unreachable): ask again later.
    case unknown(reason: String)
}

/// Why a charge was refused, in a form a customer can act on.
public struct Decline: Error, Equatable, Sendable {
    /// Stable code: `card_declined`, `insufficient_funds`, `authentication_failed`,
    /// `live_payments_unavailable`.
    public let code: String
    /// A sentence for the customer.
    public let message: String

    /// A decline.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// The generic refusal.
    public static let cardDeclined = Decline(code: "card_declined", message: "Your card was declined. Try another card or contact your bank.")
    /// Not enough money on the card.
    public static let insufficientFunds = Decline(code: "insufficient_funds", message: "Your card has insufficient funds. Try another card.")
    /// The bank's 3-D Secure step failed or was refused.
    public static let authenticationFailed = Decline(code: "authentication_failed", message: "Your bank did not confirm this payment. Nothing was charged.")
}

/// Which processor charges for a scope: the one its organization connected for that mode, else
/// the test cards in test mode and a refusal in live mode. Asked at every payment, so a processor
/// connected or disconnected on a running server takes effect at its next payment.
public protocol PaymentProcessorDirectory: Sendable {
    /// What charges for `scope` now.
    func processor(for scope: Scope) -> any PaymentProcessor

    /// What charges for `scope` now, read in `ledger`'s snapshot (a page's own read, so a
    /// payment does not open one more for it).
    func processor(for scope: Scope, in ledger: Ledger) -> any PaymentProcessor

    /// The processor named `name` (the one that made a charge) for `scope`, if it can still be
    /// reached: asked about and refunded through the processor that took the money.
    func processor(named name: String, for scope: Scope) -> (any PaymentProcessor)?
}

/// Refuses everything: live mode without a configured processor.
public struct UnavailableProcessor: PaymentProcessor {
    public var name: String { "none" }

    /// Why payments are refused.
    public let decline: Decline

    /// Refuses with `decline` (by default: no processor connected for live payments).
    public init(decline: Decline = Decline(code: "live_payments_unavailable",
                                           message: "This merchant cannot take live payments on this server yet. You have not been charged.")) {
        self.decline = decline
    }

    public func charge(_ request: ChargeRequest, card: PaymentCard, journal: ChargeJournal) -> ChargeResult {
        .declined(decline)
    }

    public func status(of request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus { .notFound }

    public func cancel(_ request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus { .notFound }

    public func refund(_ request: RefundRequest) -> RefundResult { .failed(reason: "No processor is connected for this mode.") }

    public func status(of request: RefundRequest) -> RefundResult { .failed(reason: "not found") }
}
