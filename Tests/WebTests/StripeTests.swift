import Billing
import Foundation
import Testing
@testable import Web

/// Payments through Stripe's API, against localstripe behind the recording proxy of Tests/stripe
/// (which adds, and only adds, the Stripe behaviours localstripe lacks: idempotent replays,
/// `return_url`, the decline cards, 3-D Secure's `redirect_to_url`, a refund's `reason`).
/// Serialized: localstripe keeps its state in one fixed file.
@Suite(.serialized) struct StripeTests {
    /// A server whose test organization sends its test-mode payments to Stripe at `stripe.url`.
    static func server(_ stripe: LocalStripe, configure: (inout ApplicationConfiguration) -> Void = { _ in }) throws -> TestServer {
        let server = try TestServer(configure: configure)
        let secrets = try SecretBox.masterKey(at: SecretBox.defaultPath(forDatabase: server.databasePath))
        _ = try server.application.store.write { ledger in
            try ledger.connectProcessor(handle: server.organization.handle, mode: .test, kind: .stripe,
                                        sealedSecret: try secrets.seal(LocalStripe.secretKey), apiBase: stripe.url, now: Date())
        }
        return server
    }

    static func link(_ server: TestServer) throws -> String {
        server.path(of: try server.create("/v1/payment-links", #"{"amount_usd": 29.99, "payment_method_id": "pm"}"#)["url"])
    }

    @Test func aPaymentWith4242IsAStripePaymentIntentCarryingOurAmountCurrencyAndSession() throws {
        let stripe = try LocalStripe()
        defer { stripe.stop() }
        let server = try Self.server(stripe)
        defer { server.stop() }
        let paid = try server.submit(try Self.link(server), TestServer.payment())
        #expect(paid.status == 303)
        let session = try #require(try server.list("/v1/checkout/sessions").first)
        #expect(session["paymentStatus"] as? String == "paid")
        let transaction = try #require(try server.list("/v1/transactions").first)
        #expect(transaction["cardLast4"] as? String == "4242")
        let intents = try stripe.paymentIntents()
        #expect(intents.count == 1)
        let intent = try #require(intents.first)
        #expect(intent["status"] as? String == "succeeded")
        #expect(intent["amount"] as? Int == 2999)
        #expect(intent["currency"] as? String == "usd")
        #expect((intent["metadata"] as? [String: Any])?["checkout_session"] as? String == session["id"] as? String)
        // What went over the wire: the PaymentIntent with the attempt's key and a return URL; the
        // card number only in the PaymentMethod request.
        let requests = try stripe.requests()
        let create = try #require(requests.first { $0["method"] as? String == "POST" && $0["path"] as? String == "/v1/payment_intents" })
        #expect(create["idempotency_key"] as? String == "\(session["id"] as! String)-attempt-1")
        let form = create["params"] as? [String: Any] ?? [:]
        #expect((form["return_url"] as? String)?.contains("/c/") == true)
        #expect(form["confirm"] as? String == "true")
    }

    @Test(arguments: [("4000 0000 0000 0002", "Your card was declined."), ("4000 0000 0000 9995", "Your card has insufficient funds.")])
    func declinedCardsShowStripesMessageAndChargeNothing(card: String, message: String) throws {
        let stripe = try LocalStripe()
        defer { stripe.stop() }
        let server = try Self.server(stripe)
        defer { server.stop() }
        let response = try server.submit(try Self.link(server), TestServer.payment(card: card))
        #expect(response.status == 402)
        #expect(FormPage(response: response).alert?.hasPrefix(message) == true, "\(FormPage(response: response).alert ?? "")")
        #expect(try server.list("/v1/transactions").isEmpty)
        #expect(try stripe.paymentIntents().allSatisfy { $0["status"] as? String != "succeeded" })
        let session = try #require(try server.list("/v1/checkout/sessions").first)
        #expect(session["paymentStatus"] as? String == "unpaid")
    }

    @Test(arguments: [true, false])
    func threeDSecureSendsTheCustomerToTheBankAndSettlesOnReturn(approve: Bool) throws {
        let stripe = try LocalStripe()
        defer { stripe.stop() }
        let server = try Self.server(stripe)
        defer { server.stop() }
        let toBank = try server.submit(try Self.link(server), TestServer.payment(card: "4000 0027 6000 3184"))
        #expect(toBank.status == 303)
        let bank = try #require(toBank.header("Location"))
        #expect(bank.hasPrefix(stripe.url + "/_bank/pi_"))
        // The customer at the bank: approve or fail, then back to the checkout.
        let answer = try Self.follow(bank + (approve ? "/approve" : "/fail"))
        let returnURL = try #require(answer.header("Location"))
        #expect(returnURL.hasPrefix(server.url + "/c/") && returnURL.contains("payment_return=rsv_"))
        let outcome = try server.request("GET", String(returnURL.dropFirst(server.url.count)))
        if approve {
            #expect(outcome.status == 303)
            #expect(try server.list("/v1/transactions").count == 1)
        } else {
            #expect(outcome.status == 402)
            #expect(try server.list("/v1/transactions").isEmpty)
        }
    }

    /// The PaymentIntent is made at Stripe but its answer is lost: the customer is told nothing is
    /// certain yet; the recovery pass asks with the same request and key, Stripe answers what it
    /// did, and the payment is recorded once.
    @Test func aLostAnswerIsSettledByTheRecoveryPassExactlyOnce() throws {
        let stripe = try LocalStripe()
        defer { stripe.stop() }
        let server = try Self.server(stripe)
        defer { server.stop() }
        try stripe.loseNextAnswers("POST", "/v1/payment_intents")
        let lost = try server.submit(try Self.link(server), TestServer.payment())
        #expect(lost.status == 502)
        #expect(try server.list("/v1/transactions").isEmpty)
        #expect(try stripe.paymentIntents().filter { $0["status"] as? String == "succeeded" }.count == 1, "charged at Stripe")
        #expect(server.application.recovery.run(cutoff: Date().addingTimeInterval(1)) == RecoveryPass.Tally(settled: 1))
        #expect(server.application.recovery.run(cutoff: Date().addingTimeInterval(1)) == RecoveryPass.Tally())
        #expect(try server.list("/v1/transactions").count == 1)
        #expect(try stripe.paymentIntents().filter { $0["status"] as? String == "succeeded" }.count == 1, "not charged twice")
    }

    /// localstripe down while a customer pays: the PaymentMethod cannot be made, so nothing can
    /// have been charged; the form says so, the place comes back, and once Stripe is back the
    /// next try is paid, once.
    @Test func stripeDownMidCheckoutChargesNothingAndTheNextTryPays() throws {
        let stripe = try LocalStripe()
        defer { stripe.stop() }
        let server = try Self.server(stripe)
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":1}}"#))
        let path = "/\(try #require(link["id"] as? String))"
        stripe.stopLocalstripe()
        let down = try server.submit(path, TestServer.payment())
        #expect(down.status == 502)
        #expect(FormPage(response: down).alert?.contains("nothing was charged") == true)
        #expect(down.text.contains(#"action="/c/"#), "the form posts to the attempt's session")
        try stripe.startLocalstripe(fromScratch: false)
        let session = try #require(try server.list("/v1/checkout/sessions").first)
        let paid = try server.submit(server.path(of: session["url"]), TestServer.payment())
        #expect(paid.status == 303)
        #expect(try server.list("/v1/transactions").count == 1)
        #expect(try stripe.paymentIntents().filter { $0["status"] as? String == "succeeded" }.count == 1)
        #expect(try server.api("GET", "/v1/checkout_links/\(link["id"] as! String)").json["active"] as? Bool == false)
    }

    @Test func aRefundGoesBackThroughStripe() throws {
        let stripe = try LocalStripe()
        defer { stripe.stop() }
        let server = try Self.server(stripe)
        defer { server.stop() }
        #expect(try server.submit(try Self.link(server), TestServer.payment()).status == 303)
        let transaction = try #require(try server.list("/v1/transactions").first?["id"] as? String)
        let refund = try server.api("POST", "/v1/refunds", json: #"{"transaction":"\#(transaction)","amount":999,"reason":"requested_by_customer"}"#)
        #expect(refund.status == 201)
        #expect(refund.json["status"] as? String == "succeeded")
        let sent = try #require(try stripe.requests().first { $0["path"] as? String == "/v1/refunds" })
        let form = sent["params"] as? [String: Any] ?? [:]
        #expect(form["amount"] as? String == "999")
        #expect(form["reason"] as? String == "requested_by_customer")
        #expect((form["payment_intent"] as? String)?.hasPrefix("pi_") == true)
        #expect(try server.api("GET", "/v1/transactions/\(transaction)").json["status"] as? String == "partially_refunded")
    }

    /// One GET without following redirects.
    static func follow(_ url: String) throws -> HTTPResponse {
        let parts = try #require(URLComponents(string: url))
        let connection = try HTTPConnection(port: UInt16(try #require(parts.port)))
        try connection.send("GET", parts.percentEncodedPath + (parts.percentEncodedQuery.map { "?" + $0 } ?? ""))
        return try #require(try connection.receive())
    }
}
