import Billing
import Foundation

/// `/v1/refunds` (Stripe's shape, snake_case): money given back on a transaction, through the
/// processor that took it.
enum RefundsEndpoints {
    static func register(in router: inout Router<APIEndpoint>, flow: PaymentFlow) {
        router.add("POST", "/v1/refunds", { context in try create(context, flow: flow) })
        router.add("GET", "/v1/refunds", { context in
            let request = try context.pageRequest()
            return .json(200, listJSON(try context.read { try $0.refunds(in: context.scope, request) }, url: "/v1/refunds", render: json))
        })
        router.add("GET", "/v1/refunds/:id", { context in
            .json(200, json(try context.read { try $0.refund(id: context.parameter("id"), in: context.scope) }))
        })
    }

    /// Reserve (the amount held on the transaction), refund at the processor, record its answer
    /// with the event and the idempotency record. Runs on a charge worker (`API.waitsForProcessor`):
    /// the processor's round trip holds no HTTP worker.
    static func create(_ context: APIContext, flow: PaymentFlow) throws -> Response {
        let body = context.body
        let transaction = try body.requiredString("transaction", maxLength: 64)
        let amount = try body.integer("amount")
        if let amount, amount <= 0 { throw APIError.invalid("amount", "amount must be a positive number of minor units.") }
        var reason: Refund.Reason?
        if let text = try body.string("reason") {
            guard let value = Refund.Reason(rawValue: text) else {
                throw APIError.invalid("reason", "reason must be one of duplicate, fraudulent, requested_by_customer.")
            }
            reason = value
        }
        let (reserved, chargeReference) = try context.store.write { ledger in
            try ledger.reserveRefund(transactionID: transaction, amount: amount, reason: reason, in: context.scope, now: context.now)
        }
        let result = flow.refund(reserved, chargeReference: chargeReference)
        return try context.write { ledger in
            let refund = try flow.finish(reserved, result: result, in: ledger, now: context.now)
            return .json(201, json(refund))
        }
    }

    static func json(_ refund: Refund) -> JSON {
        .object([
            ("id", .string(refund.id)),
            ("object", .string("refund")),
            ("transaction", .string(refund.paymentID)),
            ("amount", .int(refund.amount.minorUnits)),
            ("currency", .string(refund.amount.currency.code.lowercased())),
            ("status", .string(refund.status.rawValue)),
            ("reason", .string(refund.reason?.rawValue)),
            ("failure_reason", .string(refund.failureReason)),
            ("livemode", .bool(refund.scope.livemode)),
            ("created", .int(refund.createdAt.unixSeconds)),
        ])
    }
}
