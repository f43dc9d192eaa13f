import Billing
import Foundation
import Testing
@testable import Web

/// The pages a customer's browser sees, and the form contract merchants' tests rely on.
@Suite struct HostedPageTests {
    @Test func linkPageShowsWhatIsBoughtAndTheDocumentedForm() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        let link = try server.create("/v1/payment-links", #"{"planId":"\#(plan)","slug":"pro"}"#)
        let path = server.path(of: link["url"])
        let page = try server.request("GET", path)
        #expect(page.status == 200)
        let html = page.text
        #expect(html.contains("Acme Goods"))
        #expect(html.contains("<h1 id=\"item-title\">Pro</h1>"))
        #expect(html.contains("₦1,500.00"))
        #expect(html.contains("per month"))
        #expect(html.contains("Test mode"))
        #expect(html.contains(#"<form method="post" action="\#(path)""#))
        for (name, autocomplete) in [("email", "email"), ("card_number", "cc-number"), ("card_expiry", "cc-exp"), ("card_cvc", "cc-csc")] {
            #expect(html.contains(#"name="\#(name)" type="#), "field \(name)")
            #expect(html.contains(#"autocomplete="\#(autocomplete)""#), "autocomplete \(autocomplete)")
        }
        #expect(html.contains(#"name="name""#))
        #expect(html.contains(#"<input type="hidden" name="csrf_token" value=""#))
        #expect(html.contains(#"<button type="submit""#))
        #expect(html.components(separatedBy: "<h1").count == 2)
    }

    @Test func securityHeadersAndSizeBudget() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 29.99, "payment_method_id": "pm"}"#)
        let page = try server.request("GET", server.path(of: link["url"]))
        let csp = try #require(page.header("Content-Security-Policy"))
        #expect(csp == "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
        #expect(page.header("X-Content-Type-Options") == "nosniff")
        #expect(page.header("Referrer-Policy") == "no-referrer")
        #expect(!page.text.contains("<script"))
        #expect(!page.text.contains("http://") && !page.text.contains("https://"), "no third-party requests")
        let css = try server.request("GET", "/static/checkout.css")
        #expect(page.body.count + css.body.count <= 30 * 1024)
    }

    @Test func liveLinkHasNoTestBanner() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#, key: server.liveKey)
        let page = try server.request("GET", server.path(of: link["url"]))
        #expect(page.status == 200)
        #expect(!page.text.contains("Test mode"))
    }

    @Test func merchantTextIsEscapedEverywhere() throws {
        let server = try TestServer()
        defer { server.stop() }
        let evil = #"<script>alert(1)</script>\" onmouseover=\"x"#
        let plan = try server.create("/v1/plans", #"{"name":"\#(evil)","amount":100,"description":"\#(evil)"}"#)
        let link = try server.create("/v1/payment-links", #"{"planId":"\#(plan["id"] as! String)","slug":"evil"}"#)
        let amountLink = try server.create("/v1/payment-links", #"{"amount_usd": 1, "payment_method_id": "pm", "description": "\#(evil)"}"#)
        for url in [link["url"], amountLink["url"]] {
            let html = try server.request("GET", server.path(of: url)).text
            #expect(!html.contains("<script>"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!html.contains(#"" onmouseover=""#))
        }
    }

    @Test func openingAPageWritesNothing() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let session = try server.create("/v1/checkout/sessions", #"{"amount":100}"#)
        let before = server.application.store.writeGeneration
        for url in [link["url"], session["url"], link["url"]] {
            #expect(try server.request("GET", server.path(of: url)).status == 200)
            #expect(try server.request("HEAD", server.path(of: url)).status == 200)
        }
        #expect(server.application.store.writeGeneration == before)
        #expect(try server.list("/v1/checkout/sessions").count == 1)
    }

    @Test(arguments: ["/pl_doesnotexist0000000000000", "/pl_x", "/c/unknowntoken", "/someone/some-slug", "/someone/test/some-slug", "/a/b/c/d"])
    func unknownCheckoutsAre404Pages(path: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.request("GET", path)
        #expect(response.status == 404)
        #expect(response.text.contains("Page not found"))
        #expect(try server.submit(path, TestServer.payment(), token: "x").status == 404)
    }
}

@Suite struct PayFlowTests {
    @Test func payingALinkCreatesACompletedSessionAndShowsTheReceipt() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 29.99, "payment_method_id": "pm", "description": "Pro Plan"}"#)
        let path = server.path(of: link["url"])
        let response = try server.submit(path, TestServer.payment())
        #expect(response.status == 303)
        let location = try #require(response.header("Location"))
        #expect(location.hasPrefix("/c/"))

        let receipt = try server.request("GET", location)
        #expect(receipt.status == 200)
        #expect(receipt.text.contains("Payment received"))
        #expect(receipt.text.contains("$29.99"))
        #expect(receipt.text.contains("Visa ending in 4242"))

        let sessions = try server.list("/v1/checkout/sessions")
        #expect(sessions.count == 1)
        let session = try #require(sessions.first)
        #expect(session["status"] as? String == "complete")
        #expect(session["paymentLinkId"] as? String == link["id"] as? String)
        #expect(session["amount"] as? Int == 2999)
        #expect(session["currency"] as? String == "USD")
        #expect(receipt.text.contains(session["id"] as! String))
        let transaction = try server.api("GET", "/v1/transactions/\(session["transactionId"] as! String)").json
        #expect(transaction["amount"] as? Int == 2999)
        #expect(transaction["cardBrand"] as? String == "visa")
        #expect(transaction["cardLast4"] as? String == "4242")
        #expect(transaction["status"] as? String == "succeeded")
        // A link takes many payments.
        #expect(try server.submit(path, TestServer.payment(email: "bob@example.com")).status == 303)
        #expect(try server.list("/v1/transactions").count == 2)
    }

    @Test func cardNumbersAreNeverStored() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 5, "payment_method_id": "pm"}"#)
        #expect(try server.submit(server.path(of: link["url"]), TestServer.payment(card: "5555555555554444", cvc: "987")).status == 303)
        let path = server.databasePath
        server.application.stop()
        defer { try? FileManager.default.removeItem(at: server.directory) }
        for suffix in ["", "-wal"] {
            guard let data = FileManager.default.contents(atPath: path + suffix) else { continue }
            #expect(data.range(of: Data("5555555555554444".utf8)) == nil)
            #expect(data.range(of: Data("555555555555".utf8)) == nil)
        }
    }

    @Test func subscriptionSessionCreatesCustomerAndSubscription() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        let session = try server.create("/v1/checkout/sessions", #"{"planId":"\#(plan)","customerEmail":"ada@example.com"}"#)
        let page = try server.open(server.path(of: session["url"]))
        #expect(page.value(ofInput: "email") == "ada@example.com")
        #expect(try server.submit(server.path(of: session["url"]), TestServer.payment()).status == 303)

        let completed = try server.api("GET", "/v1/checkout/sessions/\(session["id"] as! String)").json
        #expect(completed["status"] as? String == "complete")
        let customer = try server.api("GET", "/v1/customers/\(completed["customerId"] as! String)").json
        #expect(customer["email"] as? String == "ada@example.com")
        #expect(customer["name"] as? String == "Ada Lovelace")
        let subscription = try server.api("GET", "/v1/subscriptions/\(completed["subscriptionId"] as! String)").json
        #expect(subscription["status"] as? String == "active")
        #expect(subscription["planId"] as? String == plan)
        #expect(subscription["customerId"] as? String == customer["id"] as? String)
        let start = try #require(Date.parse(subscription["currentPeriodStart"])), end = try #require(Date.parse(subscription["currentPeriodEnd"]))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        #expect(calendar.date(byAdding: .month, value: 1, to: start) == end)

        // Paying again with the same email reuses the customer.
        let second = try server.create("/v1/checkout/sessions", #"{"amount":500}"#)
        #expect(try server.submit(server.path(of: second["url"]), TestServer.payment()).status == 303)
        #expect(try server.list("/v1/customers").count == 1)
        #expect(try server.api("GET", "/v1/checkout/sessions/\(second["id"] as! String)").json["subscriptionId"] is NSNull)
    }

    @Test func successURLGetsA303WithTheSessionIDAndTheCSPAllowsItsOrigin() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":1000,"successUrl":"https://shop.example:8443/thanks?cs={CHECKOUT_SESSION_ID}"}"#)
        let path = server.path(of: session["url"])
        let page = try server.request("GET", path)
        #expect(page.header("Content-Security-Policy")?.contains("form-action 'self' https://shop.example:8443;") == true)
        let response = try server.submit(path, TestServer.payment())
        #expect(response.status == 303)
        #expect(response.header("Location") == "https://shop.example:8443/thanks?cs=\(session["id"] as! String)")
    }

    @Test(arguments: [("4000000000000002", "Your card was declined."), ("4000 0000 0000 9995", "Your card has insufficient funds.")])
    func declinedCardsAre402WithTheMessageAndChargeNothing(card: String, message: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let path = server.path(of: link["url"])
        let response = try server.submit(path, TestServer.payment(card: card, email: "kept@example.com", name: "Kept Name"))
        #expect(response.status == 402)
        let page = FormPage(response: response)
        #expect(page.alert?.hasPrefix(message) == true)
        #expect(page.value(ofInput: "email") == "kept@example.com")
        #expect(page.value(ofInput: "name") == "Kept Name")
        #expect(page.value(ofInput: "card_number") == nil)
        #expect(!response.text.contains(card.replacingOccurrences(of: " ", with: "")))
        #expect(try server.list("/v1/transactions").isEmpty)
        // The attempt made a session, open and unpaid; the form now posts to that session's page,
        // so the next try is its second attempt rather than another session.
        let sessions = try server.list("/v1/checkout/sessions")
        #expect(sessions.count == 1)
        #expect(sessions.first?["status"] as? String == "open")
        #expect(sessions.first?["paymentStatus"] as? String == "unpaid")
        let sessionPath = server.path(of: sessions.first?["url"])
        #expect(response.text.contains(#"<form method="post" action="\#(sessionPath)""#))
        // The form is usable again: the next card works.
        #expect(try server.submit(sessionPath, TestServer.payment(), token: page.csrfToken).status == 303)
        let paid = try server.list("/v1/checkout/sessions")
        #expect(paid.count == 1)
        #expect(paid.first?["paymentStatus"] as? String == "paid")
        #expect(try server.list("/v1/transactions").count == 1)
    }

    @Test func invalidFormIs422WithAMessagePerField() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let path = server.path(of: link["url"])
        let response = try server.submit(path, ["email": "", "name": "Typed Name", "card_number": "4242424242424241",
                                                "card_expiry": "01/20", "card_cvc": "12345"])
        #expect(response.status == 422)
        let page = FormPage(response: response)
        #expect(page.fieldErrors.count == 4)
        #expect(response.text.contains(#"aria-describedby="email-error""#))
        #expect(response.text.contains("This card has expired."))
        #expect(response.text.contains("check for a typo"))
        #expect(page.value(ofInput: "name") == "Typed Name")
        #expect(page.value(ofInput: "card_expiry") == "01/20")
        #expect(page.value(ofInput: "card_cvc") == nil)
        #expect(!response.text.contains("4242424242424241"))
        #expect(try server.list("/v1/checkout/sessions").isEmpty)
    }

    @Test(arguments: [nil, "", "garbage", "123.abc"] as [String?])
    func missingOrWrongCSRFTokenIs403AndRecordsNothing(token: String?) throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let path = server.path(of: link["url"])
        var fields = TestServer.payment()
        if let token { fields["csrf_token"] = token }
        let response = token == nil
            ? try server.request("POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                 body: Array("email=a%40b.co&name=A&card_number=4242424242424242&card_expiry=12%2F39&card_cvc=123".utf8))
            : try server.submit(path, fields)
        #expect(response.status == 403)
        #expect(try server.list("/v1/checkout/sessions").isEmpty)
    }

    @Test func aTokenOfAnotherPageIsRefused() throws {
        let server = try TestServer()
        defer { server.stop() }
        let one = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let two = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let token = try server.open(server.path(of: one["url"])).csrfToken
        #expect(try server.submit(server.path(of: two["url"]), TestServer.payment(), token: token).status == 403)
        #expect(try server.submit(server.path(of: one["url"]), TestServer.payment(), token: token).status == 303)
    }

    @Test func completedSessionShowsItsReceiptAndASecondSubmitChangesNothing() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":1500}"#)
        let path = server.path(of: session["url"])
        let token = try server.open(path).csrfToken
        #expect(try server.submit(path, TestServer.payment(), token: token).status == 303)
        let again = try server.submit(path, TestServer.payment(card: "5555555555554444"), token: token)
        #expect(again.status == 303)
        #expect(again.header("Location") == path)
        #expect(try server.list("/v1/transactions").count == 1)
        let receipt = try server.request("GET", path)
        #expect(receipt.status == 200)
        #expect(receipt.text.contains("Visa ending in 4242"))
        #expect(receipt.text.contains("₦15.00"))
    }

    @Test func twoConcurrentSubmitsCompleteASessionOnce() async throws {
        let server = try TestServer()
        defer { server.stop() }
        for _ in 0..<5 {
            let session = try server.create("/v1/checkout/sessions", #"{"amount":1500}"#)
            let path = server.path(of: session["url"])
            let token = try server.open(path).csrfToken
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for card in ["4242424242424242", "5555555555554444"] {
                    group.addTask { try server.submit(path, TestServer.payment(card: card), token: token).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == [303, 303])
        }
        #expect(try server.list("/v1/transactions?limit=100").count == 5)
        #expect(try server.list("/v1/checkout/sessions?limit=100").allSatisfy { $0["status"] as? String == "complete" })
    }

    @Test func expiredAndInactiveCheckoutsAre410ForGetAndPost() throws {
        let server = try TestServer()
        defer { server.stop() }
        let expiring = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm", "expires_in_seconds": 300}"#)
        let expiringPath = server.path(of: expiring["url"])
        let token = try server.open(expiringPath).csrfToken
        #expect(try server.request("GET", expiringPath).status == 200)
        server.clock.advance(301)
        let gone = try server.request("GET", expiringPath)
        #expect(gone.status == 410)
        #expect(gone.text.contains("expired"))
        #expect(try server.submit(expiringPath, TestServer.payment(), token: token).status == 410)

        let plan = try server.monthlyPlan()
        let link = try server.create("/v1/payment-links", #"{"planId":"\#(plan)","slug":"paused"}"#)
        _ = try server.api("POST", "/v1/plans/\(plan)", json: #"{"active":false}"#)
        #expect(try server.request("GET", server.path(of: link["slugUrl"])).status == 410)
        _ = try server.api("POST", "/v1/plans/\(plan)", json: #"{"active":true}"#)
        #expect(try server.request("GET", server.path(of: link["slugUrl"])).status == 200)

        let session = try server.create("/v1/checkout/sessions", #"{"amount":100}"#)
        let sessionPath = server.path(of: session["url"])
        let sessionToken = try server.open(sessionPath).csrfToken
        server.clock.advance(24 * 3600)
        #expect(try server.request("GET", sessionPath).status == 410)
        #expect(try server.submit(sessionPath, TestServer.payment(), token: sessionToken).status == 410)
        #expect(try server.list("/v1/transactions").isEmpty)
    }

    @Test func liveModeWithoutAProcessorDeclinesWithoutCharging() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#, key: server.liveKey)
        let response = try server.submit(server.path(of: link["url"]), TestServer.payment())
        #expect(response.status == 402)
        #expect(FormPage(response: response).alert?.contains("cannot take live payments") == true)
        #expect(try server.list("/v1/transactions", key: server.liveKey).isEmpty)
    }

    /// Card numbers must not cross a network in clear: live payments need an https public URL,
    /// unless the operator allowed plain http for loopback tests.
    @Test(arguments: [false, true])
    func livePaymentsAreRefusedOnAPlainHTTPPublicURL(allowInsecure: Bool) throws {
        let server = try TestServer {
            $0.liveProcessor = AlwaysSucceeds()
            $0.allowInsecureLive = allowInsecure
        }
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#, key: server.liveKey)
        let response = try server.submit(server.path(of: link["url"]), TestServer.payment())
        if allowInsecure {
            #expect(response.status == 303)
            #expect(try server.list("/v1/transactions", key: server.liveKey).count == 1)
        } else {
            #expect(response.status == 402)
            #expect(FormPage(response: response).alert?.contains("not served over a secure connection") == true)
            #expect(try server.list("/v1/transactions", key: server.liveKey).isEmpty)
        }
    }

    @Test func nonFormBodiesAre415() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let response = try server.request("POST", server.path(of: link["url"]), headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        #expect(response.status == 415)
    }
}

/// A live processor that takes every charge (the plug-in point of `liveProcessor`).
struct AlwaysSucceeds: PaymentProcessor {
    var name: String { "always" }
    func charge(_ request: ChargeRequest, card: PaymentCard, journal: ChargeJournal) -> ChargeResult {
        .succeeded(reference: "ch_\(request.idempotencyKey)")
    }
    func status(of request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus { .notFound }
    func cancel(_ request: ChargeRequest, reference: String?, note: String?) -> ChargeStatus { .notFound }
    func refund(_ request: RefundRequest) -> RefundResult { .succeeded(reference: "re_\(request.idempotencyKey)") }
    func status(of request: RefundRequest) -> RefundResult { .failed(reason: "not found") }
}
