import Billing
import Foundation
import Synchronization
import Testing
@testable import Web

/// Reserve → charge → settle over real HTTP: limits and redemptions exact under concurrency with
/// a slow processor, the worker threads free while charges run, a second submit never charging
/// twice, the test bank (3-D Secure), and the recovery pass for answers that were lost.
@Suite struct PaymentPipelineTests {
    /// `count` submits of the form at `path` with `fields`, all complete at the same moment
    /// (`HTTPConnection.together`), and their answers.
    static func simultaneousSubmits(_ server: TestServer, path: String, fields: [String: String], count: Int) throws -> [HTTPResponse] {
        try CrashRecoveryTests.submitTogether(port: server.port, path: path, fields: fields, count: count)
            .map { try #require(try $0.receive()) }
    }

    /// Polls `condition` every 10 ms for up to 10 s.
    static func waitUntil(_ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(10)
        while try !condition() {
            guard Date() < deadline else { throw TestFailure("condition not met within 10 s") }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    static func testCharges(_ server: TestServer) throws -> [TestCharge.Status: Int] {
        try server.application.store.read { try $0.testChargeCounts() }
    }

    static func reservations(_ server: TestServer) throws -> [Reservation.State: Int] {
        try server.application.store.read { try $0.reservationCounts() }
    }

    @Test func limitThreeWithFortyConcurrentCustomersThroughASlowProcessorSellsExactlyThree() throws {
        let server = try TestServer { $0.testProcessorLatency = 0.3 }
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":3}},"inactive_message":"Gone.""#))
        let id = try #require(link["id"] as? String)
        let statuses = try Self.simultaneousSubmits(server, path: "/\(id)", fields: TestServer.payment(), count: 40)
        #expect(statuses.filter { $0.status == 303 }.count == 3)
        let refused = statuses.filter { $0.status == 409 || $0.status == 410 }
        #expect(refused.count == 37)
        #expect(statuses.filter { $0.status == 409 }.allSatisfy {
            $0.text.contains("Every remaining place is being paid for right now. Try again in a few minutes.")
        })
        #expect(try Self.testCharges(server) == [.succeeded: 3], "charged exactly three times")
        let state = try server.api("GET", "/v1/checkout_links/\(id)").json
        #expect(((state["restrictions"] as? [String: Any])?["completed_sessions"] as? [String: Any])?["count"] as? Int == 3)
        #expect(state["active"] as? Bool == false)
        #expect(try Self.reservations(server) == [.settled: 3])
        #expect(try server.list("/v1/transactions?limit=100").count == 3)
    }

    @Test func aReleasedPlaceSellsAgain() throws {
        let server = try TestServer { $0.testProcessorLatency = 0.3 }
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":1}}"#))
        let path = "/\(try #require(link["id"] as? String))"
        // The only place is held by a card that will be declined; meanwhile a second customer is
        // told every place is being paid for; once the decline releases it, the second one buys.
        let declined = Background { try server.submit(path, TestServer.payment(card: "4000000000000002")) }
        try Self.waitUntil { try Self.reservations(server)[.charging] == 1 }
        let meanwhile = try server.submit(path, TestServer.payment())
        #expect(meanwhile.status == 409)
        #expect(try declined.value().status == 402)
        #expect(try server.submit(path, TestServer.payment()).status == 303)
        #expect(try Self.testCharges(server) == [.declined: 1, .succeeded: 1])
    }

    @Test func promoWithTwoRedemptionsAndThirtyConcurrentCustomersRedeemsExactlyTwo() throws {
        let server = try TestServer { $0.testProcessorLatency = 0.3 }
        defer { server.stop() }
        _ = try server.promo(#"{"code":"TWICE","discountType":"percentage","discountValue":50,"maxRedemptions":2}"#)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        var fields = TestServer.payment()
        fields["promo_code"] = "TWICE"
        let statuses = try Self.simultaneousSubmits(server, path: server.path(of: link["url"]), fields: fields, count: 30)
        #expect(statuses.filter { $0.status == 303 }.count == 2)
        #expect(statuses.filter { $0.status == 409 }.count == 28)
        #expect(!statuses.contains { $0.status >= 500 })
        #expect(try Self.testCharges(server) == [.succeeded: 2], "nobody charged without the code they asked for")
        let promo = try server.list("/v1/promo-codes")[0]
        #expect(promo["redeemedCount"] as? Int == 2)
        let transactions = try server.list("/v1/transactions?limit=100")
        #expect(transactions.count == 2)
        #expect(transactions.allSatisfy { $0["amount"] as? Int == 500 })
    }

    @Test func slowChargesLeaveTheWorkerThreadsFree() throws {
        let server = try TestServer { $0.testProcessorLatency = 1.5 }
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let path = server.path(of: link["url"])
        // Twice as many slow charges as the server has worker threads (2 in tests).
        let charges = Background { try Self.simultaneousSubmits(server, path: path, fields: TestServer.payment(), count: 4) }
        try Self.waitUntil { try Self.reservations(server)[.charging] == 4 }
        let started = Date()
        #expect(try server.request("GET", "/healthz").status == 200)
        #expect(try server.request("GET", path).status == 200)
        let waited = Date().timeIntervalSince(started)
        // A blocked worker would hold these until a charge ends, over a second away.
        #expect(waited < 1.0, "health check and page took \(waited) s while charges ran")
        #expect(try charges.value().allSatisfy { $0.status == 303 })
    }

    @Test func aSecondSubmitWhileTheFirstIsChargedNeverChargesTwice() throws {
        let server = try TestServer { $0.testProcessorLatency = 0.5 }
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":2500}"#)
        let path = server.path(of: session["url"])
        let statuses = try Self.simultaneousSubmits(server, path: path, fields: TestServer.payment(), count: 5)
        #expect(statuses.allSatisfy { $0.status == 303 && $0.header("Location") == path })
        #expect(try Self.testCharges(server) == [.succeeded: 1])
        let paid = try server.api("GET", "/v1/checkout/sessions/\(session["id"] as! String)").json
        #expect(paid["status"] as? String == "complete")
        #expect(paid["paymentStatus"] as? String == "paid")
    }

    @Test func aSessionBeingChargedSaysSoOnItsPageAndInTheAPI() throws {
        let server = try TestServer { $0.testProcessorLatency = 1 }
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":2500}"#)
        let path = server.path(of: session["url"])
        #expect(session["paymentStatus"] as? String == "unpaid")
        let paying = Background { try server.submit(path, TestServer.payment()) }
        try Self.waitUntil { try Self.reservations(server)[.charging] == 1 }
        let during = try server.api("GET", "/v1/checkout/sessions/\(session["id"] as! String)").json
        #expect(during["status"] as? String == "open")
        #expect(during["paymentStatus"] as? String == "processing")
        let page = try server.request("GET", path)
        #expect(page.status == 200)
        #expect(page.text.contains("<h1>Your payment is being processed</h1>"))
        #expect(page.text.contains(#"<meta http-equiv="refresh" content="2">"#))
        #expect(try server.api("POST", "/v1/checkout/sessions/\(session["id"] as! String)/expire").status == 409, "a session being paid cannot be expired")
        #expect(try paying.value().status == 303)
        #expect(try server.request("GET", path).text.contains("Payment received"))
    }

    /// The 3-D Secure test card: to the test bank, then back to the checkout, which settles on
    /// Approve and shows the form with the bank's refusal on Fail.
    @Test(arguments: [true, false])
    func theAuthenticationCardGoesThroughTheTestBank(approve: Bool) throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 29.99, "payment_method_id": "pm"}"#)
        let toBank = try server.submit(server.path(of: link["url"]), TestServer.payment(card: "4000 0027 6000 3184"))
        #expect(toBank.status == 303)
        let bankPath = server.path(of: toBank.header("Location"))
        #expect(bankPath.hasPrefix("/test-bank/test_ch_"))
        let bank = try server.request("GET", bankPath)
        let bankToken = try #require(FormPage(response: bank).csrfToken)
        #expect(bank.status == 200)
        #expect(bank.text.contains("<h1>Confirm a payment of $29.99</h1>"))
        #expect(bank.text.components(separatedBy: "<form").count == 2)
        #expect(bank.text.contains(#"name="decision" value="approve""#) && bank.text.contains(#"name="decision" value="fail""#))
        #expect(!bank.text.contains("<script"))
        let session = try #require(try server.list("/v1/checkout/sessions").first)
        #expect(session["paymentStatus"] as? String == "processing")
        let back = try server.submit(bankPath, ["decision": approve ? "approve" : "fail"], token: bankToken)
        #expect(back.status == 303)
        let returnPath = server.path(of: back.header("Location"))
        #expect(returnPath.hasPrefix("/c/") && returnPath.contains("?payment_return=rsv_"))
        let outcome = try server.request("GET", returnPath)
        if approve {
            #expect(outcome.status == 303)
            #expect(try server.request("GET", outcome.header("Location") ?? "").text.contains("Payment received"))
            #expect(try server.list("/v1/transactions").count == 1)
        } else {
            #expect(outcome.status == 402)
            #expect(FormPage(response: outcome).alert == "Your bank did not confirm this payment. Nothing was charged.")
            #expect(FormPage(response: outcome).value(ofInput: "email") == "ada@example.com")
            // The card's expiry is kept for the next try; its number and code never are.
            #expect(FormPage(response: outcome).value(ofInput: "card_expiry") == "12/39")
            #expect(FormPage(response: outcome).value(ofInput: "card_number") ?? "" == "")
            #expect(FormPage(response: outcome).value(ofInput: "card_cvc") ?? "" == "")
            #expect(try server.list("/v1/transactions").isEmpty)
            let after = try server.api("GET", "/v1/checkout/sessions/\(session["id"] as! String)").json
            #expect(after["paymentStatus"] as? String == "unpaid")
        }
        // Pressing the bank's other button afterwards (the back button) changes nothing.
        #expect(try server.submit(bankPath, ["decision": approve ? "fail" : "approve"], token: bankToken).status == 303)
        #expect(!(try server.request("GET", bankPath).text.contains("<form")), "an answered bank page asks no more")
        #expect(try Self.testCharges(server) == [approve ? TestCharge.Status.succeeded : TestCharge.Status.failed: 1])
    }

    /// A processor whose answer is lost after it charged (or before it did): the customer is told
    /// nothing is certain yet, and the recovery pass settles (or releases) from the processor's
    /// own record, exactly once.
    @Test(arguments: [true, false])
    func theRecoveryPassResolvesAChargeWhoseAnswerWasLost(charged: Bool) throws {
        let server = try TestServer {
            $0.testProcessorWrapper = { LosingAnswers(inner: $0, chargeFirst: charged) }
        }
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":1}}"#))
        let path = "/\(try #require(link["id"] as? String))"
        let lost = try server.submit(path, TestServer.payment())
        #expect(lost.status == 502)
        #expect(lost.text.contains("We could not confirm your payment yet"))
        #expect(try Self.reservations(server) == [.charging: 1])
        // Not yet old enough for a pass that leaves recent attempts to their requests.
        #expect(server.application.recovery.run(cutoff: Date().addingTimeInterval(-60)) == RecoveryPass.Tally())
        let tally = server.application.recovery.run(cutoff: Date().addingTimeInterval(1))
        #expect(tally == (charged ? RecoveryPass.Tally(settled: 1) : RecoveryPass.Tally(released: 1)))
        #expect(try Self.reservations(server) == [charged ? .settled : .released: 1])
        #expect(try server.list("/v1/transactions").count == (charged ? 1 : 0))
        let state = try server.api("GET", "/v1/checkout_links/\(link["id"] as! String)").json
        #expect(((state["restrictions"] as? [String: Any])?["completed_sessions"] as? [String: Any])?["count"] as? Int == (charged ? 1 : 0))
        // A second pass finds nothing left.
        #expect(server.application.recovery.run(cutoff: Date().addingTimeInterval(1)) == RecoveryPass.Tally())
        if !charged {
            // The place came back: the link sells.
            #expect(try server.submit(path, TestServer.payment()).status == 502)
        }
        let events = try server.list("/v1/events?limit=100").filter { $0["type"] as? String == "checkout.session.completed" }
        #expect(events.count == (charged ? 1 : 0))
    }
}

/// A processor whose every charge answer is lost: it charges through `inner` first (or not at
/// all), then says it does not know.
private struct LosingAnswers: PaymentProcessor {
    let inner: any PaymentProcessor
    let chargeFirst: Bool

    var name: String { inner.name }

    func charge(_ request: ChargeRequest, card: PaymentCard, journal: ChargeJournal) -> ChargeResult {
        if chargeFirst { _ = inner.charge(request, card: card, journal: journal) }
        return .unknown(reason: "timed out")
    }

    func status(of request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus {
        inner.status(of: request, reference: reference, note: note)
    }

    func cancel(_ request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus {
        inner.cancel(request, reference: reference, note: note)
    }

    func refund(_ request: RefundRequest) -> RefundResult { inner.refund(request) }

    func status(of request: RefundRequest) -> RefundResult { inner.status(of: request) }
}

/// Work on a thread of its own (not the cooperative pool, which blocking sockets would starve),
/// whose value is waited for later.
final class Background<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `result` is written once before `done` is signalled and read only after.
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, any Error>?

    init(_ body: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result { try body() }
            done.signal()
        }
    }

    /// The value, once the work has ended.
    func value() throws -> Value {
        done.wait()
        return try result!.get()
    }
}
