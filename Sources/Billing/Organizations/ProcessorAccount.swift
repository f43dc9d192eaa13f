import Foundation
import GRDB

/// A payment processor an operator connected for one organization and mode (`checkout org
/// processor`). Without one, test mode pays with the test cards and live mode refuses payments.
public struct ProcessorAccount: Sendable, Equatable {
    /// The processors that can be connected.
    public enum Kind: String, Sendable {
        case stripe
    }

    /// Whose it is.
    public let scope: Scope
    /// Which processor.
    public let kind: Kind
    /// The secret key, sealed with the master key (`SecretBox`); opened only to make a request.
    public let sealedSecret: Data
    /// The processor's API base URL (Stripe's own by default; a local fake in tests).
    public let apiBase: String
    /// When it was connected.
    public let createdAt: Date

    /// Stripe's API.
    public static let stripeAPIBase = "https://api.stripe.com"
}

extension Ledger {
    /// Connects `kind` for the organization `handle` in `mode`, replacing what was connected.
    public func connectProcessor(handle: String, mode: Mode, kind: ProcessorAccount.Kind, sealedSecret: Data,
                                 apiBase: String, now: Date) throws -> ProcessorAccount {
        guard let organization = try organization(handle: handle) else { throw BillingError.notFound("organization", handle) }
        guard let url = URLComponents(string: apiBase), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", url.host?.isEmpty == false else {
            throw BillingError.invalid("api_base", "The processor's API base must be an absolute http(s) URL.")
        }
        let base = apiBase.hasSuffix("/") ? String(apiBase.dropLast()) : apiBase
        let account = ProcessorAccount(scope: Scope(organizationID: organization.id, mode: mode), kind: kind,
                                       sealedSecret: sealedSecret, apiBase: base, createdAt: now.truncatedToSeconds)
        try execute("""
            INSERT INTO processor_account (organization_id, livemode, kind, sealed_secret, api_base, created_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (organization_id, livemode) DO UPDATE SET kind = excluded.kind, sealed_secret = excluded.sealed_secret,
                api_base = excluded.api_base, created_at = excluded.created_at
            """, arguments: [organization.id, mode == .live, kind.rawValue, sealedSecret, base, account.createdAt.unixSeconds])
        return account
    }

    /// Disconnects the processor of `handle` in `mode`; true when one was connected.
    @discardableResult
    public func disconnectProcessor(handle: String, mode: Mode) throws -> Bool {
        guard let organization = try organization(handle: handle) else { throw BillingError.notFound("organization", handle) }
        try execute("DELETE FROM processor_account WHERE organization_id = ? AND livemode = ?",
                    arguments: [organization.id, mode == .live])
        return db.changesCount == 1
    }

    /// The processor connected for `scope`, if any.
    public func processorAccount(in scope: Scope) throws -> ProcessorAccount? {
        try fetchRow("SELECT * FROM processor_account WHERE organization_id = ? AND livemode = ?",
                     arguments: [scope.organizationID, scope.livemode]) { row in
            ProcessorAccount(scope: scope, kind: ProcessorAccount.Kind(rawValue: row["kind"]) ?? .stripe,
                             sealedSecret: row["sealed_secret"], apiBase: row["api_base"],
                             createdAt: Date(unixSeconds: row["created_at"]))
        }
    }
}
