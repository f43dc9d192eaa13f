import Foundation
import GRDB

/// What one pass of the expiry sweep changed.
public struct ExpiredObjects: Sendable {
    /// Open sessions past `expiresAt`, now `expired`.
    public var sessions: [CheckoutSession] = []
    /// Active payment links past `expires_at`, now inactive (`deactivationReason` `expired`).
    public var paymentLinks: [PaymentLink] = []

    /// Whether nothing changed.
    public var isEmpty: Bool { sessions.isEmpty && paymentLinks.isEmpty }
}

/// Which objects an expiry pass looks at. Organizations on a test clock have their test objects
/// expired at their own time, apart from everything else.
public enum ExpiryRange: Sendable {
    /// Everything, except the test-mode objects of these organizations.
    case everythingExcept(testModeOf: [String])
    /// The objects of one scope.
    case scope(Scope)

    /// The condition and arguments that keep a row of a scoped table in range.
    fileprivate var condition: (sql: String, arguments: StatementArguments) {
        switch self {
        case .everythingExcept(let organizations) where organizations.isEmpty:
            ("1", [])
        case .everythingExcept(let organizations):
            ("NOT (livemode = 0 AND organization_id IN (\(Array(repeating: "?", count: organizations.count).joined(separator: ", "))))",
             StatementArguments(organizations))
        case .scope(let scope):
            ("organization_id = ? AND livemode = ?", [scope.organizationID, scope.livemode])
        }
    }
}

extension Ledger {
    /// Whether anything in `range` is due to expire at `now` (a read, so that an idle sweep writes
    /// nothing).
    public func hasExpiriesDue(at now: Date, in range: ExpiryRange = .everythingExcept(testModeOf: [])) throws -> Bool {
        let at = now.unixSeconds
        let (condition, arguments) = range.condition
        return try fetchValue(Bool.self, """
            SELECT EXISTS (SELECT 1 FROM checkout_session WHERE status = 'open' AND payment_status != 'processing' AND expires_at <= ? AND \(condition))
                OR EXISTS (SELECT 1 FROM payment_link WHERE active = 1 AND expires_at IS NOT NULL AND expires_at <= ? AND \(condition))
            """, arguments: [at] + arguments + [at] + arguments) ?? false
    }

    /// Marks what in `range` expired by `now` as such, at most `limit` of each kind per call, so
    /// that a long backlog is worked through in short transactions.
    public func expireDue(at now: Date, in range: ExpiryRange = .everythingExcept(testModeOf: []), limit: Int = 500) throws -> ExpiredObjects {
        var result = ExpiredObjects()
        let at = now.unixSeconds
        let (condition, arguments) = range.condition
        result.sessions = try fetchRows(
            "SELECT * FROM checkout_session WHERE status = 'open' AND payment_status != 'processing' AND expires_at <= ? AND \(condition) ORDER BY expires_at LIMIT ?",
            arguments: [at] + arguments + [limit], CheckoutSession.init(row:))
        for index in result.sessions.indices {
            result.sessions[index].storedStatus = .expired
            result.sessions[index].expiredAt = Date(unixSeconds: at)
            try execute("UPDATE checkout_session SET status = 'expired', expired_at = ? WHERE id = ? AND status = 'open' AND payment_status != 'processing'",
                        arguments: [at, result.sessions[index].id])
        }
        result.paymentLinks = try fetchRows(
            "SELECT * FROM payment_link WHERE active = 1 AND expires_at IS NOT NULL AND expires_at <= ? AND \(condition) ORDER BY expires_at LIMIT ?",
            arguments: [at] + arguments + [limit], PaymentLink.init(row:))
        for index in result.paymentLinks.indices {
            result.paymentLinks[index].active = false
            result.paymentLinks[index].deactivationReason = "expired"
            try execute("UPDATE payment_link SET active = 0, deactivation_reason = 'expired' WHERE id = ?",
                        arguments: [result.paymentLinks[index].id])
        }
        return result
    }
}
