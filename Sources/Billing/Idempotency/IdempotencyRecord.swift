import Foundation
import GRDB

/// The stored outcome of a POST made with an `Idempotency-Key`, replayed when the same key comes
/// back with the same request.
public struct IdempotencyRecord: Sendable {
    /// SHA-256 of the method, path and body of the first request.
    public let requestHash: String
    /// Status code of the first response.
    public let status: Int
    /// Body of the first response.
    public let body: [UInt8]

    /// A record of a response.
    public init(requestHash: String, status: Int, body: [UInt8]) {
        self.requestHash = requestHash
        self.status = status
        self.body = body
    }
}

extension IdempotencyRecord {
    /// How long a key is remembered. The guarantee is 24 hours; rows are dropped after twice that.
    public static let retention: TimeInterval = 48 * 3600
}

extension Ledger {
    /// The record of `key` in `scope`, if one was stored and is younger than the retention.
    public func idempotencyRecord(key: String, in scope: Scope, now: Date) throws -> IdempotencyRecord? {
        try fetchRow("""
            SELECT request_hash, status, response_body FROM idempotency_key
            WHERE organization_id = ? AND livemode = ? AND key = ? AND created_at >= ?
            """, arguments: [scope.organizationID, scope.livemode, key,
                             now.addingTimeInterval(-IdempotencyRecord.retention).unixSeconds]) { row in
            IdempotencyRecord(requestHash: row["request_hash"], status: row["status"],
                              body: [UInt8](row["response_body"] as Data))
        }
    }

    /// Stores the outcome of `key` in the caller's transaction, so the object created and the
    /// record of its creation commit together. Expired records are pruned on the way.
    public func saveIdempotencyRecord(_ record: IdempotencyRecord, key: String, in scope: Scope, now: Date) throws {
        try execute("DELETE FROM idempotency_key WHERE created_at < ?",
                       arguments: [now.addingTimeInterval(-IdempotencyRecord.retention).unixSeconds])
        try execute("""
            INSERT OR REPLACE INTO idempotency_key
                (organization_id, livemode, key, request_hash, status, response_body, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [scope.organizationID, scope.livemode, key, record.requestHash,
                             record.status, Data(record.body), now.unixSeconds])
    }
}


extension IdempotencyRecord {
    /// Longest `Idempotency-Key` accepted.
    public static let maximumKeyLength = 255

    /// What identifies "the same request" for a key: SHA-256 over method, path and body bytes.
    public static func fingerprint(method: String, path: String, body: [UInt8]) -> String {
        Digest.hex(Array("\(method) \(path)\n".utf8) + body)
    }
}
