import Foundation
import GRDB
import Testing

extension TestServer {
    /// Creates a checkout link with Basic auth and a fresh Idempotency-Key, as the reference does.
    func checkoutLink(_ json: String, key: String? = nil) throws -> [String: Any] {
        let basic = Data("\(key ?? testKey):".utf8).base64EncodedString()
        let response = try request("POST", "/v1/checkout_links", headers: [
            ("Authorization", "Basic \(basic)"), ("Content-Type", "application/json"), ("Idempotency-Key", UUID().uuidString),
        ], body: Array(json.utf8))
        guard response.status == 201 else { throw TestFailure("checkout link → \(response.status): \(response.text)") }
        return response.json
    }

    /// The address fields of a customer in Lagos.
    static let address = ["address_line1": "1 Marina Road", "address_city": "Lagos", "address_postal_code": "101001", "address_country": "NG"]
}

/// A one-item USD checkout link body with `extra` fields spliced in.
func checkoutLinkJSON(_ extra: String = "", unitAmount: Int = 2500, quantity: Int = 2) -> String {
    #"{"line_items":[{"quantity":\#(quantity),"price_data":{"currency":"usd","product":"Ticket","unit_amount":\#(unitAmount)}}],"title":"Meetup"\#(extra.isEmpty ? "" : "," + extra)}"#
}

@Suite struct CheckoutLinksAPITests {
    @Test func createReturnsTheReferenceObjectWithDefaultsFilledIn() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON())
        let id = try #require(link["id"] as? String)
        #expect(id.hasPrefix("cl_"))
        #expect(link["object"] as? String == "checkout_link")
        #expect(link["active"] as? Bool == true)
        #expect(link["mode"] as? String == "payment")
        #expect(link["url"] as? String == "\(server.url)/\(id)")
        #expect(link["title"] as? String == "Meetup")
        #expect(link["currency"] as? String == "usd")
        #expect(link["livemode"] as? Bool == false)
        #expect((link["created"] as? Int).map { abs($0 - Int(Date().timeIntervalSince1970)) < 60 } == true)
        #expect(link["description"] is NSNull)
        let after = try #require(link["after_completion"] as? [String: Any])
        #expect(after["type"] as? String == "hosted_confirmation")
        #expect(link["billing_address_collection"] as? String == "auto")
        #expect((link["metadata"] as? [String: Any])?.isEmpty == true)
        #expect((link["custom_fields"] as? [Any])?.isEmpty == true)
        #expect((link["custom_text"] as? [String: Any])?.isEmpty == true)
        #expect(link["inactive_message"] is NSNull)
        #expect(link["payment_method_types"] as? [String] == ["card"])
        #expect(link["allow_promotion_codes"] as? Bool == false)
        let completed = (link["restrictions"] as? [String: Any])?["completed_sessions"] as? [String: Any]
        #expect(completed?["limit"] is NSNull)
        #expect(completed?["count"] as? Int == 0)
        #expect(link["submit_type"] as? String == "auto")
        #expect(link["amount_total"] as? Int == 5000)
    }

    @Test func everyFieldRoundTrips() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#"""
            "mode":"order","description":"Bring a friend","currency":"USD",
            "after_completion":{"type":"redirect","redirect":{"url":"https://shop.example/done?cs={CHECKOUT_SESSION_ID}"}},
            "billing_address_collection":"required","metadata":{"event":"42"},"inactive_message":"Sold out, sorry.",
            "payment_method_types":["card"],"allow_promotion_codes":true,
            "restrictions":{"completed_sessions":{"limit":2}},"submit_type":"book"
            """#))
        #expect(link["mode"] as? String == "order")
        #expect(link["description"] as? String == "Bring a friend")
        let after = try #require(link["after_completion"] as? [String: Any])
        #expect(after["type"] as? String == "redirect")
        #expect((after["redirect"] as? [String: Any])?["url"] as? String == "https://shop.example/done?cs={CHECKOUT_SESSION_ID}")
        #expect(link["billing_address_collection"] as? String == "required")
        #expect(link["metadata"] as? [String: String] == ["event": "42"])
        #expect(link["inactive_message"] as? String == "Sold out, sorry.")
        #expect(link["allow_promotion_codes"] as? Bool == true)
        #expect(((link["restrictions"] as? [String: Any])?["completed_sessions"] as? [String: Any])?["limit"] as? Int == 2)
        #expect(link["submit_type"] as? String == "book")
        let fetched = try server.api("GET", "/v1/checkout_links/\(link["id"] as! String)")
        #expect(fetched.status == 200)
        #expect(fetched.json["title"] as? String == "Meetup")
        #expect(try server.list("/v1/checkout_links").count == 1)
    }

    @Test func idempotencyKeyIsRequiredAndReplays() throws {
        let server = try TestServer()
        defer { server.stop() }
        let missing = try server.api("POST", "/v1/checkout_links", json: checkoutLinkJSON())
        #expect(missing.status == 400)
        #expect(missing.errorParam == "Idempotency-Key")
        let headers = [("Idempotency-Key", "create-meetup")]
        let first = try server.api("POST", "/v1/checkout_links", json: checkoutLinkJSON(), headers: headers)
        let again = try server.api("POST", "/v1/checkout_links", json: checkoutLinkJSON(), headers: headers)
        #expect(first.status == 201 && again.status == 201)
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(first.json["id"] as? String == again.json["id"] as? String)
        let other = try server.api("POST", "/v1/checkout_links", json: checkoutLinkJSON(quantity: 3), headers: headers)
        #expect(other.status == 409)
        #expect(other.errorCode == "idempotency_key_reused")
        #expect(try server.list("/v1/checkout_links").count == 1)
    }

    @Test func pricesCanBeReferenced() throws {
        let server = try TestServer()
        defer { server.stop() }
        let price = try server.create("/v1/prices", #"{"currency":"usd","unit_amount":1999,"product":"T-shirt"}"#)
        let priceID = try #require(price["id"] as? String)
        #expect(priceID.hasPrefix("price_"))
        #expect(price["object"] as? String == "price")
        #expect(price["unit_amount"] as? Int == 1999)
        let link = try server.checkoutLink(#"{"line_items":[{"quantity":3,"price":"\#(priceID)"}],"title":"Merch"}"#)
        let items = try #require(link["line_items"] as? [[String: Any]])
        #expect(items.first?["price"] as? String == priceID)
        #expect(items.first?["product"] as? String == "T-shirt")
        #expect(link["amount_total"] as? Int == 5997)
        let livePrice = try server.create("/v1/prices", #"{"currency":"usd","unit_amount":1,"product":"x"}"#, key: server.liveKey)
        let crossMode = try server.api("POST", "/v1/checkout_links", json: #"{"line_items":[{"quantity":1,"price":"\#(livePrice["id"] as! String)"}],"title":"x"}"#,
                                       headers: [("Idempotency-Key", "x")])
        #expect(crossMode.status == 404)
        #expect(crossMode.errorParam == "line_items[0][price]")
    }

    static let tooManyItems = "[" + Array(repeating: #"{"quantity":1,"price_data":{"currency":"usd","product":"x","unit_amount":1}}"#, count: 21).joined(separator: ",") + "]"
    static let tooManyKeys = "{" + (0...50).map { #""k\#($0)":"v""# }.joined(separator: ",") + "}"

    @Test(arguments: [
        (#"{"title":"x"}"#, "line_items"),
        (#"{"line_items":[],"title":"x"}"#, "line_items"),
        (#"{"line_items":\#(tooManyItems),"title":"x"}"#, "line_items"),
        (#"{"line_items":[{"quantity":0,"price_data":{"currency":"usd","product":"x","unit_amount":1}}],"title":"x"}"#, "line_items[0][quantity]"),
        (#"{"line_items":[{"price_data":{"currency":"usd","product":"x","unit_amount":1}}],"title":"x"}"#, "line_items[0][quantity]"),
        (#"{"line_items":[{"quantity":1}],"title":"x"}"#, "line_items[0]"),
        (#"{"line_items":[{"quantity":1,"price":"price_x","price_data":{"currency":"usd","product":"x","unit_amount":1}}],"title":"x"}"#, "line_items[0]"),
        (#"{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"x","unit_amount":-1}}],"title":"x"}"#, "line_items[0][price_data][unit_amount]"),
        (#"{"line_items":[{"quantity":1,"price_data":{"currency":"usdx","product":"x","unit_amount":1}}],"title":"x"}"#, "line_items[0][price_data][currency]"),
        (#"{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"x","unit_amount":1,"tax_behavior":"sometimes"}}],"title":"x"}"#, "line_items[0][price_data][tax_behavior]"),
        (#"{"line_items":[{"quantity":1,"price_data":{"currency":"usd","unit_amount":1}}],"title":"x"}"#, "line_items[0][price_data][product]"),
        (checkoutLinkJSON(#""currency":"eur""#), "line_items[0]"),
        (checkoutLinkJSON(#""currency":"US""#), "currency"),
        (#"{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"x","unit_amount":1}}]}"#, "title"),
        (#"{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"x","unit_amount":1}}],"title":"\#(String(repeating: "t", count: 31))"}"#, "title"),
        (checkoutLinkJSON(#""mode":"subscription""#), "mode"),
        (checkoutLinkJSON(#""description":"\#(String(repeating: "d", count: 501))""#), "description"),
        (checkoutLinkJSON(#""after_completion":{"type":"redirect","redirect":{"url":"javascript:alert(1)"}}"#), "after_completion[redirect][url]"),
        (checkoutLinkJSON(#""after_completion":{"type":"redirect"}"#), "after_completion[redirect]"),
        (checkoutLinkJSON(#""after_completion":{"type":"redirect","redirect":{}}"#), "after_completion[redirect][url]"),
        (checkoutLinkJSON(#""after_completion":{"type":"popup"}"#), "after_completion[type]"),
        (checkoutLinkJSON(#""after_completion":{"type":"hosted_confirmation","hosted_confirmation":{"custom_message":"\#(String(repeating: "m", count: 501))"}}"#), "after_completion[hosted_confirmation][custom_message]"),
        (checkoutLinkJSON(#""billing_address_collection":"sometimes""#), "billing_address_collection"),
        (checkoutLinkJSON(#""inactive_message":"\#(String(repeating: "i", count: 501))""#), "inactive_message"),
        (checkoutLinkJSON(#""payment_method_types":["bitcoin"]"#), "payment_method_types[0]"),
        (checkoutLinkJSON(#""payment_method_types":"card""#), "payment_method_types"),
        (checkoutLinkJSON(#""allow_promotion_codes":"yes""#), "allow_promotion_codes"),
        (checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":0}}"#), "restrictions[completed_sessions][limit]"),
        (checkoutLinkJSON(#""restrictions":{"completed_sessions":{}}"#), "restrictions[completed_sessions][limit]"),
        (checkoutLinkJSON(#""submit_type":"buy""#), "submit_type"),
        (checkoutLinkJSON(#""metadata":\#(tooManyKeys)"#), "metadata"),
        (checkoutLinkJSON(#""metadata":{"\#(String(repeating: "k", count: 41))":"v"}"#), "metadata[" + String(repeating: "k", count: 41) + "]"),
        (checkoutLinkJSON(#""metadata":{"k":"\#(String(repeating: "v", count: 501))"}"#), "metadata[k]"),
    ] as [(String, String)])
    func everyStatedLimitIsEnforced(json: String, param: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/checkout_links", json: json, headers: [("Idempotency-Key", UUID().uuidString)])
        #expect(response.status == 400, "\(response.text)")
        #expect(response.errorParam == param)
    }

    @Test func valuesAtTheLimitsAreAccepted() throws {
        let server = try TestServer()
        defer { server.stop() }
        let items = "[" + Array(repeating: #"{"quantity":1,"price_data":{"currency":"usd","product":"x","unit_amount":0}}"#, count: 20).joined(separator: ",") + "]"
        let keys = "{" + (0..<50).map { #""\#(String(repeating: "k", count: 38))\#(String(format: "%02d", $0))":"\#(String(repeating: "v", count: 500))""# }.joined(separator: ",") + "}"
        let link = try server.checkoutLink(#"""
            {"line_items":\#(items),"title":"\#(String(repeating: "t", count: 30))","description":"\#(String(repeating: "d", count: 500))",
             "inactive_message":"\#(String(repeating: "i", count: 500))","metadata":\#(keys),
             "after_completion":{"type":"hosted_confirmation","hosted_confirmation":{"custom_message":"\#(String(repeating: "m", count: 500))"}},
             "restrictions":{"completed_sessions":{"limit":1}}}
            """#)
        #expect((link["line_items"] as? [Any])?.count == 20)
        #expect(link["amount_total"] as? Int == 0)
    }

    @Test func updateDeactivatesReopensAndChangesWhatTheReferenceAllows() throws {
        let server = try TestServer()
        defer { server.stop() }
        let link = try server.checkoutLink(checkoutLinkJSON(#""inactive_message":"Back next week.""#))
        let id = try #require(link["id"] as? String)
        let off = try server.api("POST", "/v1/checkout_links/\(id)", json: #"{"active":false}"#)
        #expect(off.json["active"] as? Bool == false)
        let page = try server.request("GET", "/\(id)")
        #expect(page.status == 410)
        #expect(page.text.contains("Back next week."))
        let changed = try server.api("POST", "/v1/checkout_links/\(id)", json: #"""
            {"active":true,"inactive_message":null,"metadata":{"batch":"2"},
             "after_completion":{"type":"hosted_confirmation","hosted_confirmation":{"custom_message":"Thanks!"}},
             "restrictions":{"completed_sessions":{"limit":5}}}
            """#)
        #expect(changed.status == 200)
        #expect(changed.json["active"] as? Bool == true)
        #expect(changed.json["inactive_message"] is NSNull)
        #expect(changed.json["metadata"] as? [String: String] == ["batch": "2"])
        #expect(((changed.json["after_completion"] as? [String: Any])?["hosted_confirmation"] as? [String: Any])?["custom_message"] as? String == "Thanks!")
        #expect(((changed.json["restrictions"] as? [String: Any])?["completed_sessions"] as? [String: Any])?["limit"] as? Int == 5)
        #expect(try server.request("GET", "/\(id)").status == 200)
        let bad = try server.api("POST", "/v1/checkout_links/\(id)", json: #"{"after_completion":{"type":"redirect","redirect":{"url":"ftp://x"}}}"#)
        #expect(bad.errorParam == "after_completion[redirect][url]")
        #expect(try server.api("POST", "/v1/checkout_links/\(id)", key: server.liveKey, json: #"{"active":false}"#).status == 404)
    }
}
