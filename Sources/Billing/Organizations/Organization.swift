import Crypto
import Foundation
import GRDB

/// A merchant: the owner of keys, plans, links and everything else.
public struct Organization: Hashable, Sendable {
    /// `org_…`
    public let id: String
    /// Unique readable name used in URLs (`acme`).
    public let handle: String
    /// Display name shown to customers on hosted pages.
    public let name: String
    /// When it was created.
    public let createdAt: Date
}

/// A secret API key as issued: the only moment its plain text exists outside the merchant's hands.
public struct IssuedKey: Sendable {
    /// The mode the key acts in.
    public let mode: Mode
    /// The secret (`sk_test_…`); store it now, it cannot be shown again.
    public let secret: String
}

/// The result of creating an organization: the organization and its two first keys.
public struct NewOrganization: Sendable {
    /// The organization.
    public let organization: Organization
    /// Its test-mode secret key.
    public let testKey: IssuedKey
    /// Its live-mode secret key.
    public let liveKey: IssuedKey
}

/// Secret keys: `sk_test_` or `sk_live_` followed by 32 random characters (190 bits). Only the
/// SHA-256 of a key is stored; a lookup hashes the presented key and finds the row by hash.
public enum SecretKey {
    /// Random characters after the prefix.
    static let randomLength = 32

    /// A fresh key for `mode`.
    static func generate(_ mode: Mode) -> String {
        "sk_\(mode.rawValue)_\(Identifier.random(randomLength))"
    }

    /// The mode a key claims by its prefix, or nil when the text does not have the shape of a key.
    public static func mode(of key: String) -> Mode? {
        let mode: Mode
        if key.hasPrefix("sk_test_") {
            mode = .test
        } else if key.hasPrefix("sk_live_") {
            mode = .live
        } else {
            return nil
        }
        let rest = key.utf8.dropFirst(8)
        guard Identifier.isRandomPart(rest, length: 16...128) else {
            return nil
        }
        return mode
    }

    /// Hex SHA-256 of the key: what the database holds.
    static func hash(_ key: String) -> String {
        Digest.hex(Array(key.utf8))
    }
}

extension Ledger {
    /// Creates an organization with a test and a live key: the given ones (fixtures choose keys
    /// their tests hard-code), or fresh ones. A taken handle or key is `alreadyExists`.
    public func createOrganization(handle: String, name: String?, now: Date,
                                   testKey: String? = nil, liveKey: String? = nil) throws -> NewOrganization {
        guard Handle.isValid(handle) else {
            throw BillingError.invalid("handle", "A handle is 1 to \(Handle.maximumLength) lowercase letters, digits and single hyphens, not starting or ending with a hyphen.")
        }
        guard !Handle.reservedForPaths.contains(handle) else {
            throw BillingError.invalid("handle", "The handle '\(handle)' is reserved; choose another.")
        }
        if try fetchValue(Bool.self, "SELECT 1 FROM organization WHERE handle = ?", arguments: [handle]) == true {
            throw BillingError(.alreadyExists, "The handle '\(handle)' is already taken.", param: "handle")
        }
        let organization = Organization(
            id: Identifier.make("org"), handle: handle,
            name: (name?.isEmpty == false ? name! : handle), createdAt: now.truncatedToSeconds)
        try execute(
            "INSERT INTO organization (id, handle, name, created_at) VALUES (?, ?, ?, ?)",
            arguments: [organization.id, organization.handle, organization.name, organization.createdAt.unixSeconds])
        let test = try issueKey(organizationID: organization.id, mode: .test, given: testKey, now: now)
        let live = try issueKey(organizationID: organization.id, mode: .live, given: liveKey, now: now)
        return NewOrganization(organization: organization, testKey: test, liveKey: live)
    }

    /// The organization with `handle`, if any.
    public func organization(handle: String) throws -> Organization? {
        try fetchRow("SELECT * FROM organization WHERE handle = ?", arguments: [handle], Organization.init(row:))
    }

    /// The organization with `id`, if any.
    public func organization(id: String) throws -> Organization? {
        try fetchRow("SELECT * FROM organization WHERE id = ?", arguments: [id], Organization.init(row:))
    }

    /// Issues a new key for the organization's `mode` and revokes every earlier one of that mode.
    public func rollKey(handle: String, mode: Mode, now: Date) throws -> IssuedKey {
        guard let organization = try organization(handle: handle) else {
            throw BillingError.notFound("organization", handle, param: "handle")
        }
        try execute(
            "UPDATE api_key SET revoked_at = ? WHERE organization_id = ? AND mode = ? AND revoked_at IS NULL",
            arguments: [now.unixSeconds, organization.id, mode.rawValue])
        return try issueKey(organizationID: organization.id, mode: mode, now: now)
    }

    /// The scope a presented key acts for. Throws `unauthenticated` for a malformed, unknown or
    /// revoked key, with a message that says which.
    public func authenticate(key: String) throws -> (Organization, Scope) {
        guard SecretKey.mode(of: key) != nil else {
            throw BillingError(.unauthenticated, "Malformed API key: expected sk_test_… or sk_live_….")
        }
        guard let (organization, mode, revoked) = try fetchRow("""
            SELECT o.*, k.mode AS key_mode, k.revoked_at AS key_revoked_at
            FROM api_key k JOIN organization o ON o.id = k.organization_id
            WHERE k.secret_hash = ?
            """, arguments: [SecretKey.hash(key)], { row in
                (Organization(row: row), Mode(rawValue: row["key_mode"])!, row["key_revoked_at"] as Int64? != nil)
            })
        else {
            throw BillingError(.unauthenticated, "Invalid API key provided.")
        }
        if revoked {
            throw BillingError(.unauthenticated, "This API key has been revoked; use the key that replaced it.")
        }
        return (organization, Scope(organizationID: organization.id, mode: mode))
    }

    private func issueKey(organizationID: String, mode: Mode, given: String? = nil, now: Date) throws -> IssuedKey {
        let secret = given ?? SecretKey.generate(mode)
        if let given {
            let param = "\(mode.rawValue)_key"
            guard SecretKey.mode(of: given) == mode else {
                throw BillingError.invalid(param, "\(param) must be 'sk_\(mode.rawValue)_' followed by 16 to 128 letters and digits.")
            }
            if try fetchValue(Bool.self, "SELECT 1 FROM api_key WHERE secret_hash = ?", arguments: [SecretKey.hash(given)]) == true {
                throw BillingError(.alreadyExists, "This \(mode.rawValue) key is already in use.", param: param)
            }
        }
        try execute(
            "INSERT INTO api_key (id, organization_id, mode, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            arguments: [Identifier.make("key"), organizationID, mode.rawValue, SecretKey.hash(secret), now.unixSeconds])
        return IssuedKey(mode: mode, secret: secret)
    }
}

extension Organization {
    init(row: Row) {
        self.init(id: row["id"], handle: row["handle"], name: row["name"],
                  createdAt: Date(unixSeconds: row["created_at"]))
    }
}
