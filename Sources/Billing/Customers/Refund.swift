import Foundation
import GRDB

/// Money given back on a payment, through the processor that took it.
public struct Refund: Sendable, Equatable {
    /// Where a refund stands.
    public enum Status: String, Sendable {
        /// Asked of the processor; its answer has not come (yet).
        case pending
        case succeeded
        /// Refused by the processor: nothing given back.
        case failed
    }

    /// Why a merchant refunds (Stripe's reasons).
    public enum Reason: String, Sendable, CaseIterable {
        case duplicate, fraudulent
        case requestedByCustomer = "requested_by_customer"
    }

    /// `re_…`
    public let id: String
    /// Whose it is.
    public let scope: Scope
    /// The payment (`txn_…`) it gives back from.
    public let paymentID: String
    /// How much, in the payment's currency.
    public let amount: Money
    /// Where it stands.
    public var status: Status
    /// Why, when the merchant said.
    public let reason: Reason?
    /// The processor that refunds it.
    public let processor: String
    /// The processor's id for the refund, once made.
    public var processorReference: String?
    /// Why it failed.
    public var failureReason: String?
    /// When it was asked for.
    public let createdAt: Date
}

extension Ledger {
    /// Step 1 of a refund: checks it and holds its amount on the payment, so that refunds made at
    /// the same time can never together exceed what was paid. `amount` nil refunds what remains.
    public func reserveRefund(transactionID: String, amount: Int64?, reason: Refund.Reason?, in scope: Scope,
                              now: Date) throws -> (Refund, chargeReference: String) {
        let payment: Payment
        do {
            payment = try self.payment(id: transactionID, in: scope)
        } catch let error as BillingError where error.code == .notFound {
            throw BillingError.notFound("transaction", transactionID, param: "transaction")
        }
        guard payment.status == "succeeded", payment.amount.minorUnits > 0, let processor = payment.processor,
              let reference = payment.processorReference
        else {
            throw BillingError.invalid("transaction", "The transaction '\(transactionID)' charged nothing, so nothing can be refunded.")
        }
        let pending = try fetchValue(Int64.self, "SELECT refund_pending FROM payment WHERE id = ?", arguments: [payment.id]) ?? 0
        let remaining = payment.amount.minorUnits - payment.amountRefunded - pending
        let wanted = amount ?? remaining
        guard wanted > 0 else {
            throw BillingError.invalid(amount == nil ? "transaction" : "amount", amount == nil
                ? "The transaction '\(transactionID)' has been refunded in full already."
                : "amount must be a positive number of minor units.")
        }
        try execute("""
            UPDATE payment SET refund_pending = refund_pending + ? WHERE id = ? AND amount_refunded + refund_pending + ? <= amount
            """, arguments: [wanted, payment.id, wanted])
        guard db.changesCount == 1 else {
            throw BillingError.invalid("amount", "amount is more than the \(Money(minorUnits: max(0, remaining), currency: payment.amount.currency)) left to refund on this transaction.")
        }
        let refund = Refund(id: Identifier.make("re"), scope: scope, paymentID: payment.id,
                            amount: Money(minorUnits: wanted, currency: payment.amount.currency), status: .pending,
                            reason: reason, processor: processor, processorReference: nil, failureReason: nil,
                            createdAt: now.truncatedToSeconds)
        try execute("""
            INSERT INTO refund (id, organization_id, livemode, payment_id, amount, currency, status, reason, processor, created_at)
            VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
            """, arguments: [refund.id, scope.organizationID, scope.livemode, payment.id, wanted,
                             payment.amount.currency.code, reason?.rawValue, processor, refund.createdAt.unixSeconds])
        return (refund, reference)
    }

    /// Step 3: records what the processor answered. A refund no longer pending is returned as it is.
    public func finishRefund(id: String, result: RefundResult) throws -> Refund {
        var refund = try refund(id: id)
        guard refund.status == .pending else { return refund }
        switch result {
        case .succeeded(let reference):
            try execute("UPDATE refund SET status = 'succeeded', processor_reference = ? WHERE id = ? AND status = 'pending'",
                        arguments: [reference, id])
            try execute("UPDATE payment SET refund_pending = refund_pending - ?, amount_refunded = amount_refunded + ? WHERE id = ?",
                        arguments: [refund.amount.minorUnits, refund.amount.minorUnits, refund.paymentID])
            refund.status = .succeeded
            refund.processorReference = reference
        case .failed(let reason):
            try execute("UPDATE refund SET status = 'failed', failure_reason = ? WHERE id = ? AND status = 'pending'",
                        arguments: [reason, id])
            try execute("UPDATE payment SET refund_pending = refund_pending - ? WHERE id = ?",
                        arguments: [refund.amount.minorUnits, refund.paymentID])
            refund.status = .failed
            refund.failureReason = reason
        case .unknown:
            break
        }
        return refund
    }

    /// The refund `id`, whatever its scope.
    func refund(id: String) throws -> Refund {
        guard let refund = try fetchRow("SELECT * FROM refund WHERE id = ?", arguments: [id], Refund.init(row:)) else {
            throw BillingError.notFound("refund", id)
        }
        return refund
    }

    /// The refund `id` of `scope`.
    public func refund(id: String, in scope: Scope) throws -> Refund {
        try scopedRow(in: "refund", id: id, scope: scope, kind: "refund", Refund.init(row:))
    }

    /// Refunds of `scope`, newest first.
    public func refunds(in scope: Scope, _ request: PageRequest) throws -> Page<Refund> {
        try page(of: "refund", in: scope, request, decode: Refund.init(row:))
    }

    /// Refunds whose processor's answer never came, made before `cutoff`.
    public func pendingRefunds(madeBefore cutoff: Date, limit: Int = 100) throws -> [Refund] {
        try fetchRows("SELECT * FROM refund WHERE status = 'pending' AND created_at < ? ORDER BY created_at LIMIT ?",
                      arguments: [cutoff.unixSeconds, limit], Refund.init(row:))
    }
}

extension Refund {
    init(row: Row) throws {
        self.init(id: row["id"], scope: row.scope, paymentID: row["payment_id"], amount: try row.money("amount"),
                  status: Status(rawValue: row["status"]) ?? .pending,
                  reason: (row["reason"] as String?).flatMap(Reason.init(rawValue:)), processor: row["processor"],
                  processorReference: row["processor_reference"], failureReason: row["failure_reason"],
                  createdAt: Date(unixSeconds: row["created_at"]))
    }
}
