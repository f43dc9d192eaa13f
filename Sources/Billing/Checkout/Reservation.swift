import Foundation
import GRDB

/// One attempt to pay a session, between its reserve and its settle: the places it holds (one
/// of a checkout link's limited completions, one redemption of a promo code), what is to be
/// charged, the customer's details, and the idempotency key the processor gets. Never the card
/// number or CVC: only the brand and the last four digits.
public struct Reservation: Sendable, Equatable {
    /// Where an attempt stands.
    public enum State: String, Sendable {
        /// Being charged (or its answer was lost: the recovery pass asks the processor).
        case charging
        /// Waiting for the customer at the bank (3-D Secure).
        case requiresAction = "requires_action"
        /// Paid: the session is complete.
        case settled
        /// Given up, nothing charged: its places are free again.
        case released

        /// Whether the attempt still holds its places.
        public var isActive: Bool { self == .charging || self == .requiresAction }
    }

    /// How long an attempt may hold its places; one still charging after that is resolved with
    /// the processor by the recovery pass.
    public static let lifetime: TimeInterval = 15 * 60

    /// A new attempt id, `rsv_…`.
    public static func newID() -> String { Identifier.make("rsv") }

    /// What the store finds an attempt by: its session and its number there.
    public struct Key: Sendable, Hashable {
        /// The session paid.
        public let sessionID: String
        /// The attempt's number in that session.
        public let attempt: Int

        /// What the processor gets as `Idempotency-Key` (`cs_…-attempt-N`), and what names the
        /// attempt in errors.
        public var idempotencyKey: String { "\(sessionID)-attempt-\(attempt)" }
    }

    /// This attempt's key.
    public var key: Key { Key(sessionID: checkoutSessionID, attempt: attempt) }

    /// `rsv_…`
    public let id: String
    /// Whose it is.
    public let scope: Scope
    /// The session it pays.
    public let checkoutSessionID: String
    /// 1 for the session's first attempt, 2 for the next…
    public let attempt: Int
    /// What the processor gets as `Idempotency-Key`: the session id and the attempt number.
    public let idempotencyKey: String
    /// Where it stands.
    public var state: State
    /// The checkout link whose place it holds.
    public let checkoutLinkID: String?
    /// The promo code whose redemption it holds, and its text.
    public let promoCodeID: String?
    public let promoCode: String?
    /// What is charged: the session's price less the discount.
    public let amount: Money
    /// What the promo code takes off.
    public let discountAmount: Int64
    /// The customer, as typed on the page.
    public let email: String
    public let name: String
    public let billingAddress: BillingAddress?
    /// Of the card; nil when nothing is charged.
    public let cardBrand: String?
    public let cardLast4: String?
    /// The card's expiry as the form shows it (`MM/YY`); nil when nothing is charged.
    public var cardExpiry: String? = nil
    /// Which processor charges it (`test`, `stripe`).
    public let processor: String
    /// The processor's id for the charge, once known.
    public var processorReference: String?
    /// The bank's page, while waiting for it.
    public var actionURL: String?
    /// What the processor journaled of the charge's steps (Stripe: its PaymentMethod).
    public var processorNote: String? = nil
    /// When its places are given up if it is still not charged.
    public let expiresAt: Date
    /// When it was made.
    public let createdAt: Date
}

extension Ledger {
    func insert(_ reservation: Reservation) throws {
        try execute("""
            INSERT INTO reservation (id, organization_id, livemode, checkout_session_id, attempt, idempotency_key, state,
                checkout_link_id, promo_code_id, promo_code, amount, currency, discount_amount, customer_email, customer_name,
                billing_address, card_brand, card_last4, card_expiry, processor, processor_reference, action_url, expires_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                reservation.id, reservation.scope.organizationID, reservation.scope.livemode, reservation.checkoutSessionID,
                reservation.attempt, reservation.idempotencyKey, reservation.state.rawValue, reservation.checkoutLinkID,
                reservation.promoCodeID, reservation.promoCode, reservation.amount.minorUnits, reservation.amount.currency.code,
                reservation.discountAmount, reservation.email, reservation.name,
                try reservation.billingAddress.map(AddressColumn.encode), reservation.cardBrand, reservation.cardLast4,
                reservation.cardExpiry, reservation.processor, reservation.processorReference, reservation.actionURL,
                reservation.expiresAt.unixSeconds, reservation.createdAt.unixSeconds,
            ])
    }

    /// The attempt `key`, whatever its scope; nil when unknown.
    public func reservation(_ key: Reservation.Key) throws -> Reservation? {
        try fetchRow("SELECT * FROM reservation WHERE checkout_session_id = ? AND attempt = ?",
                     arguments: [key.sessionID, key.attempt], Reservation.init(row:))
    }

    /// The attempt of `sessionID` that still holds its places, if any (at most one: a unique index).
    public func activeReservation(sessionID: String) throws -> Reservation? {
        try fetchRow("SELECT * FROM reservation WHERE checkout_session_id = ? AND state IN ('charging', 'requires_action')",
                     arguments: [sessionID], Reservation.init(row:))
    }

    /// The latest attempt of `sessionID`, whatever became of it.
    public func latestReservation(sessionID: String) throws -> Reservation? {
        try fetchRow("SELECT * FROM reservation WHERE checkout_session_id = ? ORDER BY attempt DESC LIMIT 1",
                     arguments: [sessionID], Reservation.init(row:))
    }

    /// Attempts still holding places that were made before `cutoff`, oldest first, at most `limit`.
    public func activeReservations(madeBefore cutoff: Date, limit: Int = 100) throws -> [Reservation] {
        try fetchRows("""
            SELECT * FROM reservation INDEXED BY reservation_active_by_session
            WHERE state IN ('charging', 'requires_action') AND created_at < ? ORDER BY created_at LIMIT ?
            """, arguments: [cutoff.unixSeconds, limit], Reservation.init(row:))
    }

    /// Counts of attempts by state, for operators and tests.
    public func reservationCounts() throws -> [Reservation.State: Int] {
        var counts: [Reservation.State: Int] = [:]
        for (name, count) in try fetchRows("SELECT state, COUNT(*) AS n FROM reservation GROUP BY state",
                                           { ($0["state"] as String, $0["n"] as Int) }) {
            if let state = Reservation.State(rawValue: name) { counts[state] = count }
        }
        return counts
    }

    /// Writes the processor's note of a step of the attempt's charge (see `ChargeJournal`).
    public func journalReservation(_ key: Reservation.Key, note: String) throws {
        try execute("""
            UPDATE reservation SET processor_note = ?
            WHERE checkout_session_id = ? AND attempt = ? AND state IN ('charging', 'requires_action')
            """, arguments: [note, key.sessionID, key.attempt])
        guard db.changesCount == 1 else {
            throw BillingError(.invalidState, "The attempt \(key.attempt) of '\(key.sessionID)' is no longer being charged.")
        }
    }

    /// Records that the attempt waits for the bank: the processor's reference and the bank's page.
    public func markRequiresAction(_ key: Reservation.Key, reference: String, actionURL: String) throws {
        try execute("""
            UPDATE reservation SET state = 'requires_action', processor_reference = ?, action_url = ?
            WHERE checkout_session_id = ? AND attempt = ? AND state IN ('charging', 'requires_action')
            """, arguments: [reference, actionURL, key.sessionID, key.attempt])
    }
}

extension Reservation {
    init(row: Row) throws {
        self.init(
            id: row["id"], scope: row.scope, checkoutSessionID: row["checkout_session_id"], attempt: row["attempt"],
            idempotencyKey: row["idempotency_key"], state: State(rawValue: row["state"]) ?? .released,
            checkoutLinkID: row["checkout_link_id"], promoCodeID: row["promo_code_id"], promoCode: row["promo_code"],
            amount: try row.money("amount"), discountAmount: row["discount_amount"], email: row["customer_email"],
            name: row["customer_name"], billingAddress: try (row["billing_address"] as String?).map(AddressColumn.decode),
            cardBrand: row["card_brand"], cardLast4: row["card_last4"], processor: row["processor"],
            processorReference: row["processor_reference"], actionURL: row["action_url"],
            expiresAt: Date(unixSeconds: row["expires_at"]), createdAt: Date(unixSeconds: row["created_at"]))
        processorNote = row["processor_note"]
        cardExpiry = row["card_expiry"]
    }
}
