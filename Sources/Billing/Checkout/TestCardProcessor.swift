import Foundation
import GRDB

/// The test cards, as a processor with a ledger of its own in the database (`test_charge`), the
/// way a real processor keeps one: every charge is recorded under its idempotency key before it is
/// answered, so the same key never charges twice and the recovery pass can ask what a charge whose
/// answer was lost did.
///
/// - `4242 4242 4242 4242` (and any other valid number) succeeds;
/// - `4000 0000 0000 0002` is declined, `4000 0000 0000 9995` declined for insufficient funds;
/// - `4000 0027 6000 3184` needs the bank's confirmation (3-D Secure): the charge waits at
///   `requires_action` until the customer presses Approve or Fail on the test bank's page.
public struct TestCardProcessor: PaymentProcessor {
    /// The card that needs authentication.
    public static let authenticationCard = "4000002760003184"

    private let store: Store
    private let latency: TimeInterval
    private let bankURL: @Sendable (_ chargeID: String) -> String

    /// A processor keeping its charges in `store`; each charge (and refund) takes `latency`
    /// seconds, as a real one's round trip does. `bankURL` is the test bank's page of a charge.
    public init(store: Store, latency: TimeInterval = 0, bankURL: @escaping @Sendable (_ chargeID: String) -> String) {
        self.store = store
        self.latency = latency
        self.bankURL = bankURL
    }

    public var name: String { "test" }

    /// Its ledger is a table of this database, written in the same WAL as the attempts.
    public var recordsInThisDatabase: Bool { true }

    /// Without latency a charge is one local write.
    public var chargesAtOnce: Bool { latency == 0 }

    public func charge(_ request: ChargeRequest, card: PaymentCard, journal: ChargeJournal) -> ChargeResult {
        // Half the latency before the charge is recorded, half after: a slow processor answers a
        // while after it has charged, which is the window a crash can fall into.
        pause(latency / 2)
        let status: TestCharge.Status, decline: Decline?
        switch card.number {
        case "4000000000000002": (status, decline) = (.declined, .cardDeclined)
        case "4000000000009995": (status, decline) = (.declined, .insufficientFunds)
        case Self.authenticationCard: (status, decline) = (.requiresAction, nil)
        default: (status, decline) = (.succeeded, nil)
        }
        let charge: TestCharge
        // Drawn before the write lock, as the pages do.
        let id = Identifier.make("test_ch")
        do {
            // Relaxed: the settle that follows (or the answer) waits for it, and a power cut that
            // loses it loses the attempt before it too.
            charge = try store.write(durability: .relaxed) { ledger in
                try ledger.recordTestCharge(id: id, key: request.idempotencyKey, amount: request.amount, scope: request.scope,
                                            status: status, decline: decline, returnURL: request.returnURL, now: Date())
            }
        } catch {
            return .unknown(reason: "the test processor could not record the charge: \(error)")
        }
        pause(latency / 2)
        switch charge.status {
        case .succeeded: return .succeeded(reference: charge.id)
        case .declined: return .declined(charge.decline ?? .cardDeclined)
        case .requiresAction: return .requiresAction(reference: charge.id, redirectURL: bankURL(charge.id))
        case .failed: return .declined(.authenticationFailed)
        }
    }

    public func status(of request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus {
        let scope = request.scope
        let found: TestCharge?
        do {
            found = try store.read { try $0.testCharge(key: request.idempotencyKey) }
        } catch {
            return .unknown(reason: "\(error)")
        }
        guard let charge = found, charge.scope == scope else { return .notFound }
        switch charge.status {
        case .succeeded: return .succeeded(reference: charge.id)
        case .declined: return .declined(charge.decline ?? .cardDeclined)
        case .requiresAction: return .requiresAction(reference: charge.id, redirectURL: bankURL(charge.id))
        case .failed: return .declined(.authenticationFailed)
        }
    }

    public func cancel(_ request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus {
        do {
            try store.write { ledger in try ledger.cancelTestCharge(key: request.idempotencyKey) }
        } catch {
            return .unknown(reason: "\(error)")
        }
        return status(of: request, reference: reference, note: note)
    }

    public func refund(_ request: RefundRequest) -> RefundResult {
        pause(latency / 2)
        let result: RefundResult
        do {
            result = try store.write { ledger in
                try ledger.recordTestRefund(key: request.idempotencyKey, chargeID: request.chargeReference,
                                            amount: request.amount, scope: request.scope, now: Date())
            }
        } catch {
            return .unknown(reason: "the test processor could not record the refund: \(error)")
        }
        pause(latency / 2)
        return result
    }

    public func status(of request: RefundRequest) -> RefundResult {
        do {
            guard let id = try store.read({ try $0.testRefundID(key: request.idempotencyKey) }) else {
                return .failed(reason: "never made")
            }
            return .succeeded(reference: id)
        } catch {
            return .unknown(reason: "\(error)")
        }
    }

    private func pause(_ seconds: TimeInterval) {
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
    }
}

/// One charge in the test processor's own ledger.
public struct TestCharge: Sendable, Equatable {
    /// Where a charge stands.
    public enum Status: String, Sendable {
        case succeeded, declined
        /// Waiting for the test bank's Approve or Fail.
        case requiresAction = "requires_action"
        /// The bank did not confirm (Fail pressed, or the checkout gave up waiting).
        case failed
    }

    /// `test_ch_…`
    public let id: String
    /// The key it was made with.
    public let idempotencyKey: String
    /// Whose it is.
    public let scope: Scope
    /// What it takes.
    public let amount: Money
    /// Where it stands.
    public let status: Status
    /// Why it was declined.
    public let decline: Decline?
    /// Where the bank sends the customer back.
    public let returnURL: String
    /// When it was made.
    public let createdAt: Date
}

extension Ledger {
    /// Records a test charge `id` under `key`; a key already used returns the charge made with it,
    /// unchanged (an idempotent retry).
    func recordTestCharge(id: String, key: String, amount: Money, scope: Scope, status: TestCharge.Status, decline: Decline?,
                          returnURL: String, now: Date) throws -> TestCharge {
        let made = TestCharge(id: id, idempotencyKey: key, scope: scope, amount: amount, status: status,
                              decline: decline, returnURL: returnURL, createdAt: now.truncatedToSeconds)
        try execute("""
            INSERT INTO test_charge (id, idempotency_key, organization_id, livemode, amount, currency, status, decline_code,
                                     decline_message, return_url, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING
            """, arguments: [made.id, key, scope.organizationID, scope.livemode, amount.minorUnits,
                             amount.currency.code, status.rawValue, decline?.code, decline?.message, returnURL,
                             made.createdAt.unixSeconds])
        // A new key: the charge is the one just made, no need to read it back.
        if db.changesCount == 1 { return made }
        guard let charge = try testCharge(key: key) else {
            throw BillingError(.invalidState, "The test charge '\(key)' was not recorded.")
        }
        return charge
    }

    /// The test charge made with `key`, if any.
    public func testCharge(key: String) throws -> TestCharge? {
        try fetchRow("SELECT * FROM test_charge WHERE idempotency_key = ?", arguments: [key], TestCharge.init(row:))
    }

    /// How many test charges stand in each status, for operators and tests.
    public func testChargeCounts() throws -> [TestCharge.Status: Int] {
        var counts: [TestCharge.Status: Int] = [:]
        for (name, count) in try fetchRows("SELECT status, COUNT(*) AS n FROM test_charge GROUP BY status",
                                           { ($0["status"] as String, $0["n"] as Int) }) {
            if let status = TestCharge.Status(rawValue: name) { counts[status] = count }
        }
        return counts
    }

    /// The test charge `id`, if any.
    public func testCharge(id: String) throws -> TestCharge? {
        try fetchRow("SELECT * FROM test_charge WHERE id = ?", arguments: [id], TestCharge.init(row:))
    }

    /// Refunds `amount` of the test charge `chargeID` under `key`: at most what is left of it, and
    /// once per key (a retry answers as the first time did).
    func recordTestRefund(key: String, chargeID: String, amount: Money, scope: Scope, now: Date) throws -> RefundResult {
        if let id = try testRefundID(key: key) { return .succeeded(reference: id) }
        guard let charge = try testCharge(id: chargeID), charge.scope == scope, charge.status == .succeeded else {
            return .failed(reason: "No such charge was made.")
        }
        try execute("UPDATE test_charge SET amount_refunded = amount_refunded + ? WHERE id = ? AND amount_refunded + ? <= amount",
                    arguments: [amount.minorUnits, chargeID, amount.minorUnits])
        guard db.changesCount == 1 else { return .failed(reason: "The refund is more than is left of the charge.") }
        let id = Identifier.make("test_re")
        try execute("INSERT INTO test_refund (idempotency_key, id, charge_id, amount, created_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [key, id, chargeID, amount.minorUnits, now.unixSeconds])
        return .succeeded(reference: id)
    }

    /// The id of the test refund made with `key`, if any.
    func testRefundID(key: String) throws -> String? {
        try fetchValue(String.self, "SELECT id FROM test_refund WHERE idempotency_key = ?", arguments: [key])
    }

    /// Fails the charge made with `key` if it still waits for the bank.
    func cancelTestCharge(key: String) throws {
        try execute("UPDATE test_charge SET status = 'failed' WHERE idempotency_key = ? AND status = 'requires_action'",
                    arguments: [key])
    }

    /// The test bank's answer for a charge waiting at `requires_action`: approved, it succeeds;
    /// refused, it fails. A charge already decided (a second press, the back button) keeps its
    /// first answer; the charge is returned as it now stands.
    public func decideTestCharge(id: String, approve: Bool) throws -> TestCharge? {
        try execute("UPDATE test_charge SET status = ? WHERE id = ? AND status = 'requires_action'",
                    arguments: [approve ? TestCharge.Status.succeeded.rawValue : TestCharge.Status.failed.rawValue, id])
        return try testCharge(id: id)
    }
}

extension TestCharge {
    init(row: Row) throws {
        let code: String? = row["decline_code"]
        let message: String? = row["decline_message"]
        self.init(id: row["id"], idempotencyKey: row["idempotency_key"], scope: row.scope, amount: try row.money("amount"),
                  status: Status(rawValue: row["status"]) ?? .failed,
                  decline: code.map { Decline(code: $0, message: message ?? Decline.cardDeclined.message) },
                  returnURL: row["return_url"], createdAt: Date(unixSeconds: row["created_at"]))
    }
}
