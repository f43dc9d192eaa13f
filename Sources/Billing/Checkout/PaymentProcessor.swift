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

    /// Charges `request.amount` to `card`. Must not throw: a decline, a bank step and a failure
    /// are all answers.
    func charge(_ request: ChargeRequest, card: PaymentCard) -> ChargeResult

    /// What became of the charge made with `key` (and, when known, processor reference
    /// `reference`): after the bank's page, or when its answer never came.
    func status(ofChargeWithKey key: String, reference: String?, in scope: Scope) -> ChargeStatus

    /// Gives up a charge still waiting for the bank (the customer never came back), so that a
    /// late confirmation cannot take the money of a checkout given up. Returns what the charge
    /// became: it may have succeeded just before.
    func cancel(chargeWithKey key: String, reference: String?, in scope: Scope) -> ChargeStatus

    /// Gives back `request.amount` of the charge `request.chargeReference`; the same key never
    /// refunds twice.
    func refund(_ request: RefundRequest) -> RefundResult

    /// What became of the refund made with `key`, when its answer was lost.
    func status(ofRefundWithKey key: String, in scope: Scope) -> RefundResult
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

/// The processor of each mode. Test mode uses `test` (the test cards, unless replaced); live mode
/// uses the processor plugged in, and refuses every payment when there is none.
public struct PaymentProcessors: Sendable {
    /// Test mode's processor.
    public let test: any PaymentProcessor
    /// Live mode's processor, if configured.
    public let live: (any PaymentProcessor)?

    /// Processors.
    public init(test: any PaymentProcessor, live: (any PaymentProcessor)? = nil) {
        self.test = test
        self.live = live
    }

    /// What charges in `mode`.
    public func processor(for mode: Mode) -> any PaymentProcessor {
        switch mode {
        case .test: test
        case .live: live ?? UnavailableProcessor()
        }
    }

    /// The processor named `name` (the one that made a charge), if it is still configured.
    public func processor(named name: String, for mode: Mode) -> (any PaymentProcessor)? {
        let current = processor(for: mode)
        return current.name == name ? current : nil
    }
}

/// Refuses everything: live mode without a configured processor.
public struct UnavailableProcessor: PaymentProcessor {
    /// The processor.
    public init() {}

    public var name: String { "none" }

    public func charge(_ request: ChargeRequest, card: PaymentCard) -> ChargeResult {
        .declined(Decline(code: "live_payments_unavailable",
                          message: "This merchant cannot take live payments on this server yet. You have not been charged."))
    }

    public func status(ofChargeWithKey key: String, reference: String?, in scope: Scope) -> ChargeStatus { .notFound }

    public func cancel(chargeWithKey key: String, reference: String?, in scope: Scope) -> ChargeStatus { .notFound }

    public func refund(_ request: RefundRequest) -> RefundResult { .failed(reason: "No processor is connected for this mode.") }

    public func status(ofRefundWithKey key: String, in scope: Scope) -> RefundResult { .failed(reason: "not found") }
}
