/// Where money is actually moved. Completion calls `charge` inside its transaction, after every
/// rule has passed and before anything is recorded, so a declined charge leaves nothing behind.
///
/// The built-in `TestCardProcessor` is deterministic; a live processor is plugged in through
/// `PaymentProcessors.live`.
public protocol PaymentProcessor: Sendable {
    /// Charges `amount` to `card` and says what happened. Must not throw for a decline: a decline
    /// is an answer, not a failure.
    func charge(_ amount: Money, to card: PaymentCard, in scope: Scope) -> ChargeOutcome
}

/// The answer of a processor.
public enum ChargeOutcome: Sendable {
    /// Money moved; `reference` is the processor's id for the charge.
    case approved(reference: String)
    /// Refused; nothing moved.
    case declined(Decline)
}

/// Why a charge was refused, in a form a customer can act on.
public struct Decline: Error, Equatable, Sendable {
    /// Stable code: `card_declined`, `insufficient_funds`, `live_payments_unavailable`.
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
}

/// The test cards: `4242 4242 4242 4242` succeeds, `4000 0000 0000 0002` is declined,
/// `4000 0000 0000 9995` is declined for insufficient funds, any other valid number succeeds.
public struct TestCardProcessor: PaymentProcessor {
    /// The processor.
    public init() {}

    public func charge(_ amount: Money, to card: PaymentCard, in scope: Scope) -> ChargeOutcome {
        switch card.number {
        case "4000000000000002": .declined(.cardDeclined)
        case "4000000000009995": .declined(.insufficientFunds)
        default: .approved(reference: Identifier.make("test_ch"))
        }
    }
}

/// The processor of each mode. Test mode always uses the test cards; live mode uses the processor
/// the operator plugs in, and refuses every payment when there is none.
public struct PaymentProcessors: Sendable {
    /// Test mode's processor.
    public let test: any PaymentProcessor
    /// Live mode's processor, if configured.
    public let live: (any PaymentProcessor)?

    /// Processors.
    public init(test: any PaymentProcessor = TestCardProcessor(), live: (any PaymentProcessor)? = nil) {
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
}

/// Refuses everything: live mode without a configured processor.
struct UnavailableProcessor: PaymentProcessor {
    func charge(_ amount: Money, to card: PaymentCard, in scope: Scope) -> ChargeOutcome {
        .declined(Decline(code: "live_payments_unavailable",
                          message: "This merchant cannot take live payments on this server yet. You have not been charged."))
    }
}
