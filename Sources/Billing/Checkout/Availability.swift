import Foundation

/// Whether a checkout (a link or a session) may still be paid, decided from its state and `now`.
public enum CheckoutAvailability: Equatable, Sendable {
    /// It can be paid.
    case open
    /// A session already paid: show its receipt, never charge again.
    case completed
    /// Past its expiry.
    case expired
    /// Turned off by the merchant (or its plan was); `message` is the merchant's own words, if any.
    case inactive(message: String?)
    /// It reached its completed-session limit.
    case soldOut(message: String?)

    /// Whether a payment may be taken.
    public var isOpen: Bool { self == .open }
}

extension PaymentLink {
    /// A link is open while active, before its `expires_at`, and (for a plan link) while its plan
    /// is active. Expiry is checked first: an expired link says so even if also deactivated later.
    public func availability(at now: Date, plan: Plan?) -> CheckoutAvailability {
        if let expiresAt, now >= expiresAt { return .expired }
        if !active { return .inactive(message: nil) }
        if let plan, !plan.active { return .inactive(message: nil) }
        return .open
    }
}

extension CheckoutSession {
    /// A session is open until paid, explicitly expired, or past `expiresAt`.
    public func availability(at now: Date) -> CheckoutAvailability {
        switch status(at: now) {
        case .open: .open
        case .complete: .completed
        case .expired: .expired
        }
    }
}
