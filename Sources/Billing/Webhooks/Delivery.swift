import Crypto
import Foundation
import GRDB

/// One event on its way to one endpoint, retried until the endpoint acknowledges it or the retry
/// horizon passes.
public struct WebhookDelivery: Sendable {
    /// `pending` until a 2xx (`succeeded`) or the horizon (`failed`).
    public enum Status: String, Sendable { case pending, succeeded, failed }

    /// Row number; the id is `whd_<seq>`.
    public let seq: Int64
    /// `whd_<seq>`
    public var id: String { "whd_\(seq)" }

    /// The row number of a `whd_<seq>` id, or nil.
    public static func seq(of id: String) -> Int64? {
        id.hasPrefix("whd_") ? Int64(id.dropFirst(4)) : nil
    }

    /// Where it goes.
    public let endpointID: String
    /// What it carries.
    public let eventID: String
    /// Where it stands.
    public let status: Status
    /// Attempts made so far.
    public let attempts: Int
    /// When the next attempt is due (pending only).
    public let nextAttemptAt: Date
    /// When it was made (the event's time).
    public let createdAt: Date
    /// When it succeeded or was given up.
    public let completedAt: Date?
}

/// An event of the log on its way to an endpoint for the first time.
public struct NewEvent: Sendable {
    /// Its place in the log.
    public let seq: Int64
    /// `evt_…`
    public let id: String
    /// When it happened.
    public let createdAt: Date
    /// The endpoint's URL.
    public let url: String
    /// The endpoint's signing secret.
    public let secret: String
    /// The event, as JSON.
    public let body: [UInt8]
}

/// One HTTP attempt of a delivery.
public struct WebhookAttempt: Sendable {
    /// When it was made.
    public let attemptedAt: Date
    /// The endpoint's status code, if it answered.
    public let statusCode: Int?
    /// How long it took.
    public let latencyMilliseconds: Int
    /// What went wrong, if anything (timeout, refused connection, non-2xx).
    public let error: String?

    /// An attempt.
    public init(attemptedAt: Date, statusCode: Int?, latencyMilliseconds: Int, error: String?) {
        self.attemptedAt = attemptedAt
        self.statusCode = statusCode
        self.latencyMilliseconds = latencyMilliseconds
        self.error = error
    }
}

/// A delivery ready to be sent: where, what, and the secret to sign it with.
public struct DueDelivery: Sendable {
    /// The delivery.
    public let delivery: WebhookDelivery
    /// The endpoint's URL.
    public let url: String
    /// The endpoint's signing secret.
    public let secret: String
    /// The event, as JSON.
    public let body: [UInt8]
}

/// When to try again: exponential backoff from `base`, doubling, at most `cap` apart, with ±20 %
/// jitter so that endpoints recovering from an outage are not hit by every sender at once; given
/// up once the next attempt would fall after `horizon` from the first.
public struct RetryPolicy: Sendable {
    /// Delay before the first retry.
    public var base: TimeInterval
    /// Longest delay between attempts.
    public var cap: TimeInterval
    /// How long after the event delivery is attempted at all.
    public var horizon: TimeInterval

    /// 10 s, doubling, at most 1 h apart, for 3 days.
    public static let standard = RetryPolicy(base: 10, cap: 3600, horizon: 3 * 86400)

    /// A policy.
    public init(base: TimeInterval, cap: TimeInterval, horizon: TimeInterval) {
        self.base = base
        self.cap = cap
        self.horizon = horizon
    }

    /// The delay after attempt number `attempts` (1 = the first attempt failed), before jitter.
    public func delay(afterAttempt attempts: Int) -> TimeInterval {
        min(cap, base * pow(2, Double(max(0, attempts - 1))))
    }

    /// The delay with jitter drawn from `random` (0…1).
    func jittered(afterAttempt attempts: Int, random: Double) -> TimeInterval {
        delay(afterAttempt: attempts) * (0.8 + 0.4 * random)
    }
}

/// `Checkout-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
public enum WebhookSignature {
    /// The header value for `body` sent at `timestamp`.
    public static func header(secret: String, timestamp: Int64, body: [UInt8]) -> String {
        let signed = Array("\(timestamp).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(timestamp),v1=" + Digest.hexString(mac)
    }
}

extension Ledger {
    /// Queues a delivery, due at once (`next_attempt_at` 0): when it is due again after a failure is
    /// decided from the attempt's real time, never from the billing clock.
    func enqueueDelivery(eventID: String, eventSeq: Int64, endpointID: String, now: Date) throws {
        try execute("""
            INSERT INTO webhook_delivery (endpoint_id, event_id, event_seq, status, attempts, next_attempt_at, created_at)
            VALUES (?, ?, ?, 'pending', 0, ?, ?)
            """, arguments: [endpointID, eventID, eventSeq, 0, now.unixSeconds])
    }

    /// Enabled endpoints with events after their mark (`delivered_through`) and no delivery
    /// pending: for these the next events go straight from the log to the endpoint.
    public func endpointsWithNewEvents() throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: """
            SELECT e.id FROM webhook_endpoint e
            WHERE e.status = 'enabled' AND e.deleted = 0
              AND e.delivered_through < (SELECT COALESCE(MAX(seq), 0) FROM event)
              AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.status = 'pending' AND d.endpoint_id = e.id)
            """))
    }

    /// The next events of the log an endpoint listens to, after its mark, oldest first, at most
    /// `limit` examined; and the seq the mark may move to once they are all delivered.
    public func newEvents(endpointID: String, limit: Int) throws -> (events: [NewEvent], through: Int64) {
        guard let (endpoint, mark) = try fetchRow("SELECT * FROM webhook_endpoint WHERE id = ?", arguments: [endpointID], {
            (WebhookEndpoint(row: $0), $0["delivered_through"] as Int64)
        }) else { return ([], 0) }
        let rows = try fetchRows("""
            SELECT seq, id, type, created_at, body FROM event WHERE organization_id = ? AND livemode = ? AND seq > ? ORDER BY seq LIMIT ?
            """, arguments: [endpoint.scope.organizationID, endpoint.scope.livemode, mark, limit]) { event in
            let seq: Int64 = event["seq"]
            guard endpoint.listens(to: event["type"]) else { return (seq: seq, event: NewEvent?.none) }
            return (seq: seq, event: NewEvent(seq: seq, id: event["id"], createdAt: Date(unixSeconds: event["created_at"]),
                                              url: endpoint.url, secret: endpoint.secret, body: [UInt8](event["body"] as Data)))
        }
        let through: Int64
        if let last = rows.last {
            through = last.seq
        } else {
            // Nothing of this scope: every event so far is behind the mark.
            through = try fetchValue(Int64.self, "SELECT COALESCE(MAX(seq), 0) FROM event") ?? mark
        }
        return (rows.compactMap(\.event), through)
    }

    /// Records what happened to new events sent straight from the log: one delivery row each,
    /// acknowledged ones complete with their attempt, a failed one pending with its retry
    /// scheduled. The mark moves past everything handled; events after a failure stay behind it
    /// and wait, so the endpoint keeps event order.
    public func recordNewEventDeliveries(endpointID: String, _ outcomes: [(event: NewEvent, attempt: WebhookAttempt)],
                                         through: Int64, policy: RetryPolicy) throws {
        var mark = through
        for (event, attempt) in outcomes {
            let succeeded = attempt.error == nil && attempt.statusCode.map { (200..<300).contains($0) } == true
            if succeeded {
                try execute("""
                    INSERT INTO webhook_delivery (endpoint_id, event_id, event_seq, status, attempts, next_attempt_at, created_at,
                                                  completed_at, first_status_code, first_latency_ms)
                    VALUES (?, ?, ?, 'succeeded', 1, 0, ?, ?, ?, ?)
                    """, arguments: [endpointID, event.id, event.seq, event.createdAt.unixSeconds,
                                     attempt.attemptedAt.unixSeconds, attempt.statusCode, attempt.latencyMilliseconds])
            } else {
                try enqueueDelivery(eventID: event.id, eventSeq: event.seq, endpointID: endpointID, now: event.createdAt)
                try recordAttempt(attempt, of: db.lastInsertedRowID, policy: policy)
                mark = event.seq
                break
            }
        }
        try execute("UPDATE webhook_endpoint SET delivered_through = MAX(delivered_through, ?) WHERE id = ?",
                    arguments: [mark, endpointID])
    }

    /// For each endpoint, its oldest pending delivery (due now or later). Deliveries to one endpoint
    /// go out in event order: a later event waits while an earlier one is being retried. One indexed
    /// lookup per endpoint, however long the queue behind it. The deliveries alone, for when each
    /// is due and whose it is; what is sent is read by `pendingDeliveries`.
    public func pendingDeliveryHeads() throws -> [WebhookDelivery] {
        try fetchRows("""
            SELECT d.* FROM webhook_endpoint e
            JOIN webhook_delivery d ON d.seq = (
                SELECT seq FROM webhook_delivery WHERE status = 'pending' AND endpoint_id = e.id ORDER BY event_seq LIMIT 1)
            """, WebhookDelivery.init(row:))
    }

    /// The pending deliveries of one endpoint, oldest event first: the next ones to send, in order.
    public func pendingDeliveries(endpointID: String, limit: Int) throws -> [DueDelivery] {
        try fetchRows("""
            SELECT d.*, e.url, e.secret, ev.body FROM webhook_delivery d
            JOIN webhook_endpoint e ON e.id = d.endpoint_id
            JOIN event ev ON ev.id = d.event_id
            WHERE d.status = 'pending' AND d.endpoint_id = ?
            ORDER BY d.event_seq LIMIT ?
            """, arguments: [endpointID, limit]) { row in
            DueDelivery(delivery: WebhookDelivery(row: row), url: row["url"], secret: row["secret"],
                        body: [UInt8](row["body"] as Data))
        }
    }

    /// Records a batch of attempts. Successes, the common case, are written with two set-based
    /// statements whatever their number; a failure goes through `recordAttempt`.
    public func recordAttempts(_ attempts: [(delivery: Int64, attempt: WebhookAttempt)], policy: RetryPolicy) throws {
        let succeeded = attempts.filter { $0.attempt.error == nil && $0.attempt.statusCode.map { (200..<300).contains($0) } == true }
        for failed in attempts where !succeeded.contains(where: { $0.delivery == failed.delivery }) {
            try recordAttempt(failed.attempt, of: failed.delivery, policy: policy)
        }
        for chunk in stride(from: 0, to: succeeded.count, by: 100).map({ Array(succeeded[$0..<min($0 + 100, succeeded.count)]) }) {
            let rows = Array(repeating: "(?, ?, ?, ?, NULL)", count: chunk.count).joined(separator: ", ")
            try db.execute(sql: "INSERT INTO webhook_attempt (delivery_seq, attempted_at, status_code, latency_ms, error) VALUES \(rows)",
                           arguments: StatementArguments(chunk.flatMap { item -> [(any DatabaseValueConvertible)?] in
                               [item.delivery, item.attempt.attemptedAt.unixSeconds, item.attempt.statusCode, item.attempt.latencyMilliseconds]
                           }))
            let ids = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            try db.execute(sql: """
                UPDATE webhook_delivery SET status = 'succeeded', attempts = attempts + 1, completed_at = ?
                WHERE status = 'pending' AND seq IN (\(ids))
                """, arguments: StatementArguments([(chunk.last?.attempt.attemptedAt.unixSeconds) as (any DatabaseValueConvertible)?]
                                                   + chunk.map { $0.delivery as (any DatabaseValueConvertible)? }))
        }
    }

    /// Records an attempt and what follows: success, a retry after the policy's delay, or giving up
    /// past the horizon.
    public func recordAttempt(_ attempt: WebhookAttempt, of deliveryID: Int64, policy: RetryPolicy,
                              random: Double = Double.random(in: 0...1)) throws {
        guard let delivery = try fetchRow("SELECT * FROM webhook_delivery WHERE seq = ?", arguments: [deliveryID],
                                          WebhookDelivery.init(row:))
        else { return }
        guard delivery.status == .pending else { return }
        try execute("INSERT INTO webhook_attempt (delivery_seq, attempted_at, status_code, latency_ms, error) VALUES (?, ?, ?, ?, ?)",
                    arguments: [deliveryID, attempt.attemptedAt.unixSeconds, attempt.statusCode, attempt.latencyMilliseconds, attempt.error])
        let attempts = delivery.attempts + 1
        let succeeded = attempt.error == nil && attempt.statusCode.map { (200..<300).contains($0) } == true
        if succeeded {
            try execute("UPDATE webhook_delivery SET status = 'succeeded', attempts = ?, completed_at = ? WHERE seq = ?",
                        arguments: [attempts, attempt.attemptedAt.unixSeconds, deliveryID])
            return
        }
        let next = attempt.attemptedAt.addingTimeInterval(policy.jittered(afterAttempt: attempts, random: random))
        if next > delivery.createdAt.addingTimeInterval(policy.horizon) {
            try execute("UPDATE webhook_delivery SET status = 'failed', attempts = ?, completed_at = ? WHERE seq = ?",
                        arguments: [attempts, attempt.attemptedAt.unixSeconds, deliveryID])
        } else {
            try execute("UPDATE webhook_delivery SET attempts = ?, next_attempt_at = ? WHERE seq = ?",
                        arguments: [attempts, next.unixMilliseconds, deliveryID])
        }
    }

    /// Deliveries of an endpoint, newest first, each with its attempts.
    public func deliveries(endpointID: String, in scope: Scope, _ request: PageRequest) throws -> Page<(WebhookDelivery, [WebhookAttempt])> {
        let endpoint = try webhookEndpoint(id: endpointID, in: scope)
        var sql = "SELECT * FROM webhook_delivery WHERE endpoint_id = ?"
        var arguments: StatementArguments = [endpoint.id]
        if let cursor = request.startingAfter {
            guard let seq = try WebhookDelivery.seq(of: cursor).flatMap({ seq in
                try fetchValue(Int64.self, "SELECT seq FROM webhook_delivery WHERE seq = ? AND endpoint_id = ?", arguments: [seq, endpoint.id])
            })
            else { throw BillingError.invalid("starting_after", "No delivery with id '\(cursor)' to start after.") }
            sql += " AND seq < ?"
            arguments += [seq]
        }
        sql += " ORDER BY seq DESC LIMIT ?"
        arguments += [request.limit + 1]
        let rows = try fetchRows(sql, arguments: arguments) { row in
            (delivery: WebhookDelivery(row: row), firstStatus: row["first_status_code"] as Int?,
             firstLatency: row["first_latency_ms"] as Int?)
        }
        let items = try rows.prefix(request.limit).map { row in
            let delivery = row.delivery
            var attempts = try fetchRows("SELECT * FROM webhook_attempt WHERE delivery_seq = ? ORDER BY seq", arguments: [delivery.seq]) {
                WebhookAttempt(attemptedAt: Date(unixSeconds: $0["attempted_at"]), statusCode: $0["status_code"],
                               latencyMilliseconds: $0["latency_ms"], error: $0["error"])
            }
            if attempts.isEmpty, let status = row.firstStatus, let completed = delivery.completedAt {
                attempts = [WebhookAttempt(attemptedAt: completed, statusCode: status,
                                           latencyMilliseconds: row.firstLatency ?? 0, error: nil)]
            }
            return (delivery, attempts)
        }
        return Page(items: items, hasMore: rows.count > request.limit)
    }

    /// Queues the event again for every enabled endpoint that listens to it. Returns how many
    /// deliveries were queued.
    @discardableResult
    public func redeliver(eventID: String, in scope: Scope, now: Date) throws -> Int {
        let event = try event(id: eventID, in: scope)
        guard let seq = try fetchValue(Int64.self, "SELECT seq FROM event WHERE id = ?", arguments: [event.id]) else { return 0 }
        let endpoints = try webhookEndpoints(in: scope, listeningTo: event.type)
        for endpoint in endpoints {
            try enqueueDelivery(eventID: event.id, eventSeq: seq, endpointID: endpoint.id, now: now)
        }
        return endpoints.count
    }
}

extension WebhookDelivery {
    init(row: Row) {
        self.init(seq: row["seq"], endpointID: row["endpoint_id"], eventID: row["event_id"],
                  status: Status(rawValue: row["status"]) ?? .pending, attempts: row["attempts"],
                  nextAttemptAt: Date(unixMilliseconds: row["next_attempt_at"]), createdAt: Date(unixSeconds: row["created_at"]),
                  completedAt: (row["completed_at"] as Int64?).map(Date.init(unixSeconds:)))
    }
}
