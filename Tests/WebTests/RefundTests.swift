import Foundation
import Testing
@testable import Web

/// `POST /v1/refunds` over real HTTP: full and partial refunds through the test processor, the
/// transaction's status and amount refunded, events, errors naming their param, idempotency, and
/// concurrent refunds that can never together exceed what was paid.
@Suite struct RefundTests {
    /// A paid $29.99 payment link; its transaction id.
    static func paidTransaction(_ server: TestServer, key: String? = nil) throws -> String {
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 29.99, "payment_method_id": "pm"}"#, key: key)
        #expect(try server.submit(server.path(of: link["url"]), TestServer.payment()).status == 303)
        return try #require(try server.list("/v1/transactions", key: key).first?["id"] as? String)
    }

    @Test func aFullRefundGivesEverythingBackAndIsListedAndAnnounced() throws {
        let server = try TestServer()
        defer { server.stop() }
        let transaction = try Self.paidTransaction(server)
        let response = try server.api("POST", "/v1/refunds", json: #"{"transaction":"\#(transaction)","reason":"requested_by_customer"}"#)
        #expect(response.status == 201)
        let refund = response.json
        let id = try #require(refund["id"] as? String)
        #expect(id.hasPrefix("re_"))
        #expect(refund["object"] as? String == "refund")
        #expect(refund["transaction"] as? String == transaction)
        #expect(refund["amount"] as? Int == 2999)
        #expect(refund["currency"] as? String == "usd")
        #expect(refund["status"] as? String == "succeeded")
        #expect(refund["reason"] as? String == "requested_by_customer")
        #expect(refund["created"] as? Int != nil)
        let paid = try server.api("GET", "/v1/transactions/\(transaction)").json
        #expect(paid["status"] as? String == "refunded")
        #expect(paid["amountRefunded"] as? Int == 2999)
        #expect(try server.api("GET", "/v1/refunds/\(id)").json["id"] as? String == id)
        #expect(try server.list("/v1/refunds").map { $0["id"] as? String } == [id])
        let events = try server.list("/v1/events?type=refund.created")
        #expect(events.count == 1)
        #expect(((events.first?["data"] as? [String: Any])?["object"] as? [String: Any])?["id"] as? String == id)
        // Nothing is left to refund.
        let again = try server.api("POST", "/v1/refunds", json: #"{"transaction":"\#(transaction)"}"#)
        #expect(again.status == 400)
        #expect(again.errorParam == "transaction")
    }

    @Test func partialRefundsAddUpAndStopAtTheAmount() throws {
        let server = try TestServer()
        defer { server.stop() }
        let transaction = try Self.paidTransaction(server)
        #expect(try server.api("POST", "/v1/refunds", json: #"{"transaction":"\#(transaction)","amount":1000}"#).status == 201)
        #expect(try server.api("GET", "/v1/transactions/\(transaction)").json["status"] as? String == "partially_refunded")
        let over = try server.api("POST", "/v1/refunds", json: #"{"transaction":"\#(transaction)","amount":2000}"#)
        #expect(over.status == 400)
        #expect(over.errorParam == "amount")
        #expect(try server.api("POST", "/v1/refunds", json: #"{"transaction":"\#(transaction)","amount":1999}"#).status == 201)
        let paid = try server.api("GET", "/v1/transactions/\(transaction)").json
        #expect(paid["status"] as? String == "refunded")
        #expect(paid["amountRefunded"] as? Int == 2999)
        #expect(try server.list("/v1/refunds").map { $0["amount"] as? Int } == [1999, 1000], "newest first")
    }

    @Test(arguments: [
        (#"{"amount":100}"#, 400, "transaction"),
        (#"{"transaction":"txn_doesnotexist0000000000000"}"#, 404, "transaction"),
        (#"{"transaction":"TXN","amount":0}"#, 400, "amount"),
        (#"{"transaction":"TXN","amount":-5}"#, 400, "amount"),
        (#"{"transaction":"TXN","amount":1.5}"#, 400, "amount"),
        (#"{"transaction":"TXN","reason":"changed_mind"}"#, 400, "reason"),
        (#"{"transaction":"TXN","amount":3000}"#, 400, "amount"),
    ] as [(String, Int, String)])
    func badRefundsAreRefusedNamingTheParam(json: String, status: Int, param: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let transaction = try Self.paidTransaction(server)
        let response = try server.api("POST", "/v1/refunds", json: json.replacingOccurrences(of: "TXN", with: transaction))
        #expect(response.status == status)
        #expect(response.errorParam == param)
        #expect(try server.list("/v1/refunds").isEmpty)
        #expect(try server.api("GET", "/v1/transactions/\(transaction)").json["amountRefunded"] as? Int == 0)
    }

    @Test func anotherModesOrOrganizationsTransactionIsNotFound() throws {
        let server = try TestServer()
        defer { server.stop() }
        let transaction = try Self.paidTransaction(server)
        let live = try server.api("POST", "/v1/refunds", key: server.liveKey, json: #"{"transaction":"\#(transaction)"}"#)
        #expect(live.status == 404)
        #expect(live.errorParam == "transaction")
        let other = try server.application.store.write {
            try $0.createOrganization(handle: "other-\(UUID().uuidString.prefix(6).lowercased())", name: "Other", now: Date())
        }
        let foreign = try server.api("POST", "/v1/refunds", key: other.testKey.secret, json: #"{"transaction":"\#(transaction)"}"#)
        #expect(foreign.status == 404)
        #expect(foreign.errorParam == "transaction")
    }

    @Test func aTransactionThatChargedNothingCannotBeRefunded() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.promo(#"{"code":"FREE","discountType":"percentage","discountValue":100}"#)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        #expect(try server.submit(server.path(of: link["url"]), ["email": "a@example.com", "name": "A", "promo_code": "FREE"]).status == 303)
        let transaction = try #require(try server.list("/v1/transactions").first?["id"] as? String)
        let response = try server.api("POST", "/v1/refunds", json: #"{"transaction":"\#(transaction)"}"#)
        #expect(response.status == 400)
        #expect(response.errorParam == "transaction")
    }

    @Test func anIdempotencyKeyRefundsOnce() throws {
        let server = try TestServer()
        defer { server.stop() }
        let transaction = try Self.paidTransaction(server)
        let body = #"{"transaction":"\#(transaction)","amount":500}"#
        let first = try server.api("POST", "/v1/refunds", json: body, headers: [("Idempotency-Key", "refund-once")])
        let second = try server.api("POST", "/v1/refunds", json: body, headers: [("Idempotency-Key", "refund-once")])
        #expect(first.status == 201 && second.status == 201)
        #expect(second.header("Idempotent-Replayed") == "true")
        #expect(first.json["id"] as? String == second.json["id"] as? String)
        #expect(try server.api("GET", "/v1/transactions/\(transaction)").json["amountRefunded"] as? Int == 500)
    }

    /// Ten refunds of $10.00 at once on a $29.99 payment, through a slow processor: two succeed,
    /// the rest are refused, and no more than was paid ever goes back.
    @Test func concurrentRefundsNeverExceedTheAmount() throws {
        let server = try TestServer { $0.testProcessorLatency = 0.2 }
        defer { server.stop() }
        let transaction = try Self.paidTransaction(server)
        let body = Array(#"{"transaction":"\#(transaction)","amount":1000}"#.utf8)
        let request = Array("POST /v1/refunds HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(server.testKey)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        let connections = try HTTPConnection.together(request, port: server.port, count: 10)
        let statuses = try connections.map { try #require(try $0.receive()) }
        #expect(statuses.filter { $0.status == 201 }.count == 2)
        #expect(statuses.filter { $0.status == 400 && $0.errorParam == "amount" }.count == 8)
        #expect(try server.api("GET", "/v1/transactions/\(transaction)").json["amountRefunded"] as? Int == 2000)
        let charge = try server.application.store.read { ledger in
            try ledger.testChargeCounts()
        }
        #expect(charge == [.succeeded: 1])
    }

    /// A refund waits for the processor on a charge worker, not on an HTTP worker: with one HTTP
    /// thread and a processor that takes 1.6 s, health checks sent while the refund is at the
    /// processor are answered at once, and the refund is answered when the processor is.
    @Test func aRefundAtASlowProcessorHoldsNoHTTPWorker() throws {
        let server = try TestServer { configuration in
            configuration.server.threads = 1
            configuration.testProcessorLatency = 1.6
        }
        defer { server.stop() }
        let transaction = try Self.paidTransaction(server)
        let refunding = try server.connect()
        let started = Date()
        try refunding.send("POST", "/v1/refunds", headers: [
            ("Authorization", "Bearer \(server.testKey)"), ("Content-Type", "application/json"),
        ], body: Array(#"{"transaction":"\#(transaction)","amount":500}"#.utf8))
        // The refund is at the processor for at least 0.8 s before it is recorded there.
        Thread.sleep(forTimeInterval: 0.2)
        for _ in 0..<3 {
            let asked = Date()
            let health = try server.request("GET", "/healthz")
            #expect(health.status == 200)
            #expect(Date().timeIntervalSince(asked) < 0.5, "a health check waited for the refund's processor")
        }
        #expect(Date().timeIntervalSince(started) < 1.5, "the health checks ran while the refund was still at the processor")
        let refunded = try #require(try refunding.receive())
        #expect(refunded.status == 201)
        #expect(refunded.json["status"] as? String == "succeeded")
        #expect(Date().timeIntervalSince(started) >= 1.5)
    }
}
