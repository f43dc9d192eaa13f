import Foundation

/// What one pass of the expiry sweep changed.
public struct ExpiredObjects: Sendable {
    /// Open sessions past `expiresAt`, now `expired`.
    public var sessions: [CheckoutSession] = []
    /// Active payment links past `expires_at`, now inactive (`deactivationReason` `expired`).
    public var paymentLinks: [PaymentLink] = []

    /// Whether nothing changed.
    public var isEmpty: Bool { sessions.isEmpty && paymentLinks.isEmpty }
}

extension Ledger {
    /// Whether anything is due to expire at `now` (a read, so that an idle sweep writes nothing).
    public func hasExpiriesDue(at now: Date) throws -> Bool {
        let at = now.unixSeconds
        return try fetchValue(Bool.self, """
            SELECT EXISTS (SELECT 1 FROM checkout_session WHERE status = 'open' AND expires_at <= ?)
                OR EXISTS (SELECT 1 FROM payment_link WHERE active = 1 AND expires_at IS NOT NULL AND expires_at <= ?)
            """, arguments: [at, at]) ?? false
    }

    /// Marks what expired by `now` as such, at most `limit` of each kind per call, so that a long
    /// backlog is worked through in short transactions.
    public func expireDue(at now: Date, limit: Int = 500) throws -> ExpiredObjects {
        var result = ExpiredObjects()
        let at = now.unixSeconds
        result.sessions = try fetchRows("SELECT * FROM checkout_session WHERE status = 'open' AND expires_at <= ? ORDER BY expires_at LIMIT ?",
                                        arguments: [at, limit]).map(CheckoutSession.init(row:))
        for index in result.sessions.indices {
            result.sessions[index].storedStatus = .expired
            result.sessions[index].expiredAt = Date(unixSeconds: at)
            try execute("UPDATE checkout_session SET status = 'expired', expired_at = ? WHERE id = ? AND status = 'open'",
                        arguments: [at, result.sessions[index].id])
        }
        result.paymentLinks = try fetchRows("SELECT * FROM payment_link WHERE active = 1 AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?",
                                            arguments: [at, limit]).map(PaymentLink.init(row:))
        for index in result.paymentLinks.indices {
            result.paymentLinks[index].active = false
            result.paymentLinks[index].deactivationReason = "expired"
            try execute("UPDATE payment_link SET active = 0, deactivation_reason = 'expired' WHERE id = ?",
                        arguments: [result.paymentLinks[index].id])
        }
        return result
    }
}
