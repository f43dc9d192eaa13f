import Foundation
import GRDB
import Synchronization
import Testing
@testable import Web

@Suite struct CheckoutLinkPageTests {
    @Test func pageShowsTitleDescriptionEachLineAndTheTotal() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(#"""
            {"line_items":[{"quantity":2,"price_data":{"currency":"usd","product":"Ticket","unit_amount":2500}},
                           {"quantity":1,"price_data":{"currency":"usd","product":"Workshop <b>","unit_amount":14900}}],
             "title":"SwiftConf","description":"Two days of talks"}
            """#)
        let page = try server.request("GET", server.path(of: link["url"]))
        #expect(page.status == 200)
        let html = page.text
        #expect(html.contains("<h1 id=\"item-title\">SwiftConf</h1>"))
        #expect(html.contains("Two days of talks"))
        #expect(html.contains("<tr><td>Ticket</td><td class=\"num\">2</td><td class=\"num\">$25.00</td><td class=\"num\">$50.00</td></tr>"))
        #expect(html.contains("<tr><td>Workshop &lt;b&gt;</td><td class=\"num\">1</td><td class=\"num\">$149.00</td><td class=\"num\">$149.00</td></tr>"))
        #expect(html.contains("<td class=\"num total\">$199.00</td>"))
        #expect(!html.contains("address_line1"))
        #expect(html.contains(">Pay $199.00</button>"))
    }

    @Test(arguments: [(nil, "Pay"), ("auto", "Pay"), ("pay", "Pay"), ("book", "Book"), ("donate", "Donate")] as [(String?, String)])
    func buttonFollowsSubmitType(submitType: String?, word: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(submitType.map { #""submit_type":"\#($0)""# } ?? ""))
        let html = try server.request("GET", server.path(of: link["url"])).text
        #expect(html.range(of: #"class="pay-button">\#(word) "#) != nil)
    }

    @Test func requiredAddressIsCollectedAndValidated() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""billing_address_collection":"required""#))
        let path = server.path(of: link["url"])
        let html = try server.request("GET", path).text
        for field in ["address_line1", "address_line2", "address_city", "address_postal_code", "address_country"] {
            #expect(html.contains(#"name="\#(field)""#), "field \(field)")
        }
        #expect(html.contains(#"<option value="NG">Nigeria</option>"#))

        let missing = try server.submit(path, TestServer.payment().merging(["address_line1": "", "address_city": "Lagos", "address_country": "XX"]) { $1 })
        #expect(missing.status == 422)
        let errors = FormPage(response: missing)
        #expect(errors.fieldErrors.count == 3)
        #expect(missing.text.contains(#"aria-describedby="address_line1-error""#))
        #expect(missing.text.contains(#"aria-describedby="address_postal_code-error""#))
        #expect(missing.text.contains(#"aria-describedby="address_country-error""#))
        #expect(errors.value(ofInput: "address_city") == "Lagos")

        let paid = try server.submit(path, TestServer.payment().merging(TestServer.address) { $1 }.merging(["address_line2": "Flat 4", "address_country": "ng"]) { $1 })
        #expect(paid.status == 303)
        let session = try #require(try server.list("/v1/checkout/sessions?checkoutLinkId=\(link["id"] as! String)").first)
        let address = try #require(session["billingAddress"] as? [String: Any])
        #expect(address["line1"] as? String == "1 Marina Road")
        #expect(address["line2"] as? String == "Flat 4")
        #expect(address["city"] as? String == "Lagos")
        #expect(address["postalCode"] as? String == "101001")
        #expect(address["country"] as? String == "NG")
        #expect(session["amount"] as? Int == 5000)
        #expect(session["currency"] as? String == "USD")
    }

    @Test func redirectAfterCompletionReplacesTheSessionID() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""after_completion":{"type":"redirect","redirect":{"url":"http://127.0.0.1:9/done?cs={CHECKOUT_SESSION_ID}&x=1"}}"#))
        let path = server.path(of: link["url"])
        #expect(try server.request("GET", path).header("Content-Security-Policy")?.contains("form-action 'self' http://127.0.0.1:9;") == true)
        let response = try server.submit(path, TestServer.payment())
        #expect(response.status == 303)
        let session = try #require(try server.list("/v1/checkout/sessions").first)
        #expect(response.header("Location") == "http://127.0.0.1:9/done?cs=\(session["id"] as! String)&x=1")
    }

    @Test func hostedConfirmationShowsTheMessageEscapedWithItsLineBreaksAndTheReceipt() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""after_completion":{"type":"hosted_confirmation","hosted_confirmation":{"custom_message":"Thanks!\nSee you <b>soon</b>."}}"#))
        let response = try server.submit(server.path(of: link["url"]), TestServer.payment())
        #expect(response.status == 303)
        let page = try server.request("GET", try #require(response.header("Location")))
        #expect(page.status == 200)
        #expect(page.text.contains("<p class=\"confirmation-message\">Thanks!\nSee you &lt;b&gt;soon&lt;/b&gt;.</p>"))
        #expect(page.text.contains("Visa ending in 4242"))
        #expect(page.text.contains("$50.00"))
        let css = try server.request("GET", "/static/checkout.css").text
        #expect(css.contains(".confirmation-message { white-space: pre-line;"))
    }

    @Test func theNthCompletionDeactivatesTheLinkAndLaterAttemptsAre410() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":2}},"inactive_message":"All seats are taken.""#))
        let id = try #require(link["id"] as? String)
        let path = "/\(id)"
        let token = try server.open(path).csrfToken
        #expect(try server.submit(path, TestServer.payment(), token: token).status == 303)
        var state = try server.api("GET", "/v1/checkout_links/\(id)").json
        #expect(state["active"] as? Bool == true)
        #expect(try server.submit(path, TestServer.payment(), token: token).status == 303)
        state = try server.api("GET", "/v1/checkout_links/\(id)").json
        #expect(state["active"] as? Bool == false)
        #expect(((state["restrictions"] as? [String: Any])?["completed_sessions"] as? [String: Any])?["count"] as? Int == 2)
        let late = try server.submit(path, TestServer.payment(), token: token)
        #expect(late.status == 410)
        #expect(late.text.contains("All seats are taken."))
        #expect(try server.request("GET", path).status == 410)
        #expect(try server.list("/v1/transactions").count == 2)

        // Turning it on without room is refused; raising the limit reopens it.
        let refused = try server.api("POST", "/v1/checkout_links/\(id)", json: #"{"active":true}"#)
        #expect(refused.status == 400)
        #expect(refused.errorParam == "active")
        let below = try server.api("POST", "/v1/checkout_links/\(id)", json: #"{"restrictions":{"completed_sessions":{"limit":1}}}"#)
        #expect(below.status == 400)
        let raised = try server.api("POST", "/v1/checkout_links/\(id)", json: #"{"restrictions":{"completed_sessions":{"limit":3}}}"#)
        #expect(raised.json["active"] as? Bool == true)
        #expect(try server.submit(path, TestServer.payment(), token: token).status == 303)
        #expect(try server.submit(path, TestServer.payment(), token: token).status == 410)
        // Removing the limit reopens it for good.
        let unlimited = try server.api("POST", "/v1/checkout_links/\(id)", json: #"{"restrictions":null}"#)
        #expect(unlimited.json["active"] as? Bool == true)
        #expect(try server.submit(path, TestServer.payment(), token: token).status == 303)
    }

    @Test func aLinkDeactivatedByAPIShowsTheDefaultMessageWhenThereIsNone() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON())
        _ = try server.api("POST", "/v1/checkout_links/\(link["id"] as! String)", json: #"{"active":false}"#)
        let page = try server.request("GET", server.path(of: link["url"]))
        #expect(page.status == 410)
        #expect(page.text.contains("is not taking payments through this link any more"))
    }

    @Test(arguments: [3, 1])
    func simultaneousCompletionsNeverOversell(limit: Int) throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":\#(limit)}},"inactive_message":"Gone.""#))
        let id = try #require(link["id"] as? String)
        // 40 submits complete at the same moment.
        let statuses = try PaymentPipelineTests.simultaneousSubmits(server, path: "/\(id)", fields: TestServer.payment(), count: 40)
        #expect(statuses.filter { $0.status == 303 }.count == limit)
        // The others were refused without a charge: sold out (410), or, while the last places
        // were being paid for by others, every remaining place held (409).
        #expect(statuses.filter { $0.status == 410 || $0.status == 409 }.count == 40 - limit)
        #expect(statuses.filter { $0.status == 409 }.allSatisfy { $0.text.contains("Every remaining place is being paid for right now.") })
        #expect(!statuses.contains { $0.status >= 500 })
        #expect(statuses.filter { $0.status == 410 }.allSatisfy { $0.text.contains("Gone.") })
        #expect(!statuses.contains { $0.text.contains("database is locked") })
        let state = try server.api("GET", "/v1/checkout_links/\(id)").json
        #expect(state["active"] as? Bool == false)
        #expect(((state["restrictions"] as? [String: Any])?["completed_sessions"] as? [String: Any])?["count"] as? Int == limit)
        #expect(try server.list("/v1/transactions?limit=100").count == limit)
        #expect(try server.list("/v1/checkout/sessions?limit=100").count == limit)
    }

    /// If the decision read the count in a deferred transaction, a writer committing between that
    /// read and the completion's own write would go unseen: the completion would then either fail
    /// with SQLITE_BUSY (a 500) or, worse, sell past the limit. Under BEGIN IMMEDIATE the completion
    /// waits for the other writer and decides on what it committed.
    @Test func theDecisionWaitsForOtherWritersAndSeesWhatTheyCommitted() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":1}}"#))
        let id = try #require(link["id"] as? String)
        let token = try server.open("/\(id)").csrfToken
        let status = Mutex<Int?>(nil)
        let answered = DispatchSemaphore(value: 0)
        // Another process holds the write lock and sells the last seat while a customer submits.
        let other = try DatabaseQueue(path: server.databasePath)
        try other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            try db.execute(sql: "UPDATE checkout_link SET completed_sessions_count = 1, active = 0, deactivation_reason = 'limit_reached' WHERE id = ?", arguments: [id])
            Thread.detachNewThread {
                let code = try? server.submit("/\(id)", TestServer.payment(), token: token).status
                status.withLock { $0 = code }
                answered.signal()
            }
            Thread.sleep(forTimeInterval: 0.4)
            #expect(status.withLock { $0 } == nil, "the completion must wait for the other writer")
            try db.execute(sql: "COMMIT")
        }
        #expect(answered.wait(timeout: .now() + 10) == .success)
        #expect(status.withLock { $0 } == 410)
        #expect(try server.list("/v1/transactions").isEmpty)
        try other.close()
    }
}
