import Foundation
import Testing
@testable import Web

/// The one form of a checkout page, as a browser fills and sends it: the promo code inside it,
/// what survives applying a code, where a POST may come from, and what a paid page still says.
@Suite struct CheckoutFormTests {
    /// A checkout link that takes codes and asks for a billing address, and a 10 % code.
    private static func promoLinkWithAddress(on server: TestServer) throws -> String {
        _ = try server.promo(#"{"code":"TENOFF","discountType":"percentage","discountValue":10}"#)
        let link = try server.checkoutLink(#"""
            {"title":"Members club","currency":"usd","allow_promotion_codes":true,"billing_address_collection":"required",
             "line_items":[{"price_data":{"currency":"usd","unit_amount":5000,"product":"Annual pass"},"quantity":2}]}
            """#)
        return server.path(of: link["url"])
    }

    /// Everything a customer types before applying a code, as the page's form sends it.
    private static func typed(token: String, quoted: String = "") -> [String: String] {
        var fields = TestServer.payment()
        fields.merge(["csrf_token": token, "quoted_promo_code": quoted, "address_line1": "1 Marina Road",
                      "address_line2": "Flat 2", "address_city": "Lagos", "address_postal_code": "101241",
                      "address_country": "NG"]) { $1 }
        return fields
    }

    @Test func everyCheckoutPageHasExactlyOneFormHoldingThePromoField() throws {
        let server = try TestServer()
        defer { server.stop() }
        let promoLink = try Self.promoLinkWithAddress(on: server)
        let plainLink = server.path(of: try server.checkoutLink(#"""
            {"title":"No codes","currency":"usd","line_items":[{"price_data":{"currency":"usd","unit_amount":500,"product":"Pin"},"quantity":1}]}
            """#)["url"])
        let paymentLink = server.path(of: try server.create("/v1/payment-links", #"{"amount_usd": 29.99, "payment_method_id": "pm"}"#)["url"])
        let session = server.path(of: try server.create("/v1/checkout/sessions", #"{"amount":2500}"#)["url"])
        for path in [promoLink, plainLink, paymentLink, session] {
            let html = try server.request("GET", path).text
            #expect(html.components(separatedBy: "<form").count == 2, "\(path): one form")
            #expect(html.components(separatedBy: #"<form method="post" action="\#(path)""#).count == 2, "\(path)")
            #expect(html.components(separatedBy: #"name="csrf_token""#).count == 2, "\(path): one token")
            #expect(html.contains(#"name="email""#) && html.contains(#"value="pay""#))
        }
        for path in [promoLink, paymentLink, session] {
            let html = try server.request("GET", path).text
            let form = try #require(html.range(of: "<form")).lowerBound
            let end = try #require(html.range(of: "</form>")).lowerBound
            let promo = try #require(html.range(of: #"name="promo_code""#), "\(path): promo field")
            let apply = try #require(html.range(of: #"<button type="submit" name="action" value="apply_promo" class="secondary-button" formnovalidate>"#),
                                     "\(path): Apply button")
            #expect(form < promo.lowerBound && promo.upperBound < end, "\(path): promo field inside the form")
            #expect(form < apply.lowerBound && apply.upperBound < end, "\(path): Apply inside the form")
            #expect(html.components(separatedBy: #"name="promo_code""#).count == 2, "\(path): one promo field")
        }
        #expect(!(try server.request("GET", plainLink).text.contains(#"name="promo_code""#)))
    }

    @Test func applyingACodeKeepsEverythingTypedButTheCardNumberAndCVC() throws {
        let server = try TestServer()
        defer { server.stop() }
        let path = try Self.promoLinkWithAddress(on: server)
        let token = try #require(try server.open(path).csrfToken)
        var fields = Self.typed(token: token)
        fields["promo_code"] = "tenoff"
        fields["action"] = "apply_promo"
        let applied = try server.submit(path, fields)
        #expect(applied.status == 200)
        let page = FormPage(response: applied)
        #expect(page.value(ofInput: "email") == "ada@example.com")
        #expect(page.value(ofInput: "name") == "Ada Lovelace")
        #expect(page.value(ofInput: "card_expiry") == "12/39")
        #expect(page.value(ofInput: "address_line1") == "1 Marina Road")
        #expect(page.value(ofInput: "address_line2") == "Flat 2")
        #expect(page.value(ofInput: "address_city") == "Lagos")
        #expect(page.value(ofInput: "address_postal_code") == "101241")
        #expect(applied.text.contains(#"<option value="NG" selected>"#))
        #expect(page.value(ofInput: "card_number") == nil, "the card number is never sent back")
        #expect(page.value(ofInput: "card_cvc") == nil, "the CVC is never sent back")
        #expect(!applied.text.contains(#"value="4242"#) && !applied.text.contains(#"value="123""#), "in no field at all")
        #expect(page.value(ofInput: "promo_code") == "TENOFF")
        #expect(page.value(ofInput: "quoted_promo_code") == "TENOFF")
        #expect(applied.text.contains(">Pay $90.00</button>"))
        #expect(try server.list("/v1/checkout/sessions").isEmpty, "applying a code writes nothing")

        // A validation error keeps the same fields too.
        var broken = Self.typed(token: token, quoted: "TENOFF")
        broken["promo_code"] = "TENOFF"
        broken["card_expiry"] = "13/39"
        let rejected = try server.submit(path, broken)
        #expect(rejected.status == 422)
        let again = FormPage(response: rejected)
        #expect(again.value(ofInput: "address_city") == "Lagos")
        #expect(again.value(ofInput: "email") == "ada@example.com")
        #expect(again.value(ofInput: "promo_code") == "TENOFF")
        #expect(again.value(ofInput: "card_number") == nil)

        // Then paying the quoted total charges it.
        var pay = Self.typed(token: token, quoted: "TENOFF")
        pay["promo_code"] = "TENOFF"
        pay["action"] = "pay"
        let paid = try server.submit(path, pay)
        #expect(paid.status == 303)
        let session = try #require(try server.list("/v1/checkout/sessions").first)
        #expect(session["amountTotal"] as? Int == 9000)
    }

    /// Enter in the promo field presses the form's first button, which pays: the code the page did
    /// not quote is applied and shown first; nothing is charged until the customer sees the total.
    @Test(arguments: [("", "TENOFF", "TENOFF is applied: the total is now $90.00."),
                      ("TENOFF", "", "Without a promo code the total is $100.00.")])
    func payingWithACodeThePageDidNotQuoteShowsTheNewTotalFirst(quoted: String, typed: String, notice: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let path = try Self.promoLinkWithAddress(on: server)
        let token = try #require(try server.open(path).csrfToken)
        var fields = Self.typed(token: token, quoted: quoted)
        fields["promo_code"] = typed
        let response = try server.submit(path, fields)
        #expect(response.status == 200)
        #expect(response.text.contains(#"role="status" id="form-notice">\#(notice) Check it, then pay.</div>"#))
        #expect(try server.list("/v1/checkout/sessions").isEmpty, "nothing charged")
        #expect(FormPage(response: response).value(ofInput: "address_city") == "Lagos")
    }

    /// Where a form POST comes from, as browsers say it: Fetch Metadata, else Origin.
    @Test(arguments: [
        ([("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")], false),
        ([("Sec-Fetch-Site", "same-site"), ("Origin", "https://shop.127.0.0.1")], false),
        ([("Sec-Fetch-Site", "cross-site")], false),
        ([("Origin", "https://evil.example")], false),
        ([("Origin", "http://127.0.0.1:1")], false),
        // A browser's own POST under Referrer-Policy: no-referrer says Origin: null.
        ([("Sec-Fetch-Site", "same-origin"), ("Origin", "null")], true),
        ([("Sec-Fetch-Site", "none")], true),
        ([("Origin", "null")], true),
        ([], true),
    ] as [([(String, String)], Bool)])
    func crossSitePostsAreRefusedBeforeAnythingIsRecorded(headers: [(String, String)], allowed: Bool) throws {
        let server = try TestServer()
        defer { server.stop() }
        let path = server.path(of: try server.create("/v1/payment-links", #"{"amount_usd": 29.99, "payment_method_id": "pm"}"#)["url"])
        let token = try #require(try server.open(path).csrfToken)
        var fields = TestServer.payment()
        fields["csrf_token"] = token
        let body = fields.map { "\(TestServer.formEncode($0.key))=\(TestServer.formEncode($0.value))" }.joined(separator: "&")
        let before = server.application.store.writeGeneration
        let response = try server.request("POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                                          body: Array(body.utf8))
        if allowed {
            #expect(response.status == 303)
            #expect(try server.list("/v1/checkout/sessions").count == 1)
        } else {
            #expect(response.status == 403)
            #expect(response.header("Content-Type") == "text/html; charset=utf-8")
            #expect(response.text.contains("<h1>This form came from another site</h1>"))
            #expect(server.application.store.writeGeneration == before, "nothing recorded")
            #expect(try server.list("/v1/checkout/sessions").isEmpty)
        }
    }

    @Test func ourOwnOriginIsAllowedWithoutFetchMetadata() throws {
        let server = try TestServer()
        defer { server.stop() }
        let path = server.path(of: try server.create("/v1/payment-links", #"{"amount_usd": 5, "payment_method_id": "pm"}"#)["url"])
        let token = try #require(try server.open(path).csrfToken)
        var fields = TestServer.payment()
        fields["csrf_token"] = token
        let body = fields.map { "\(TestServer.formEncode($0.key))=\(TestServer.formEncode($0.value))" }.joined(separator: "&")
        let response = try server.request("POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded"),
                                                                   ("Origin", server.url)], body: Array(body.utf8))
        #expect(response.status == 303)
    }

    @Test func theOriginComparisonFollowsBrowsers() {
        #expect(CrossSitePolicy.origin(of: "HTTPS://Pay.Example.com:443/c/x") == "https://pay.example.com")
        #expect(CrossSitePolicy.origin(of: "http://127.0.0.1:80") == "http://127.0.0.1")
        #expect(CrossSitePolicy.origin(of: "http://127.0.0.1:8080/") == "http://127.0.0.1:8080")
        #expect(CrossSitePolicy.origin(of: "ftp://example.com") == nil)
        #expect(CrossSitePolicy.allows(HTTPHeaders([("Origin", "https://pay.example.com")]), publicURL: "https://pay.example.com:443"))
        #expect(!CrossSitePolicy.allows(HTTPHeaders([("Origin", "http://pay.example.com")]), publicURL: "https://pay.example.com"))
        #expect(!CrossSitePolicy.allows(HTTPHeaders([("Origin", "garbage")]), publicURL: "https://pay.example.com"))
    }

    @Test func aPaidPageShowsNoPaymentHintButKeepsTheTestBanner() throws {
        let server = try TestServer()
        defer { server.stop() }
        let session = try server.create("/v1/checkout/sessions", #"{"amount":2500}"#)
        let path = server.path(of: session["url"])
        let form = try server.request("GET", path).text
        #expect(form.contains("Pay with card 4242 4242 4242 4242."), "the form page names the test card")
        #expect(try server.submit(path, TestServer.payment()).status == 303)
        let receipt = try server.request("GET", path)
        #expect(receipt.status == 200)
        #expect(receipt.text.contains("<strong>Test mode</strong>"))
        #expect(!receipt.text.contains("4242 4242"), "no payment hint on a paid page")
        #expect(!receipt.text.contains("Pay with card"))
    }
}
