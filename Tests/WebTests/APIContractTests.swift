import Foundation
import Testing

/// The limits the OpenAPI document states, at their edges: requests Schemathesis found the server
/// accepting although the document refuses them (or refusing although it allows them), and the
/// rules the document and the server now share: amounts up to `Money.maximumMinorUnits`, lengths in
/// code points counted before trimming, no NUL in strings, currencies in one letter case.
@Suite struct APIContractTests {
    /// `count` characters of "e" + combining acute accent: `count` Swift characters, twice as many
    /// code points (what JSON Schema's `maxLength` counts).
    static func combining(_ count: Int) -> String { String(repeating: "e\\u0301", count: count) }

    /// The param of a metadata key of 21 such characters (42 code points).
    static let longKeyParam = "metadata[" + String(repeating: "e\u{301}", count: 21) + "]"

    static let link = #"{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"Ticket","unit_amount":100}}],"title":"T""#

    @Test(arguments: [
        // Amounts past 99,999,999,999 minor units.
        ("/v1/plans", #"{"name":"x","amount":100000000000}"#, "amount"),
        ("/v1/checkout/sessions", #"{"amount":100000000000}"#, "amount"),
        ("/v1/prices", #"{"currency":"usd","unit_amount":100000000000,"product":"x"}"#, "unit_amount"),
        ("/v1/checkout_links", #"{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"x","unit_amount":100000000000}}],"title":"T"}"#,
         "line_items[0][price_data][unit_amount]"),
        ("/v1/promo-codes", #"{"code":"BIG","discountType":"fixed","discountValue":100000000000}"#, "discountValue"),
        ("/v1/payment-links", #"{"amount_usd":1000000000.00,"payment_method_id":"pm"}"#, "amount_usd"),
        // Numbers beyond Decimal's range are valid JSON, and still no amount.
        ("/v1/payment-links", #"{"amount_usd":1e300,"payment_method_id":"pm"}"#, "amount_usd"),
        ("/v1/plans", #"{"name":"x","amount":1e300}"#, "amount"),
        ("/v1/plans", #"{"name":"x","amount":-1.5e-300}"#, "amount"),
        // NUL, which SQLite would cut the string at.
        ("/v1/plans", #"{"name":"a\u0000b","amount":1}"#, "name"),
        ("/v1/plans", #"{"name":"x","amount":1,"metadata":{"k":"a\u0000"}}"#, "metadata[k]"),
        ("/v1/webhook_endpoints", #"{"url":"https://shop.example/hooks","enabled_events":["*\u0000"]}"#, "enabled_events[0]"),
        // Lengths in code points, as sent (before trimming).
        ("/v1/plans", #"{"name":"\#(combining(126))","amount":1}"#, "name"),
        ("/v1/plans", #"{"name":" \#(String(repeating: "a", count: 250))","amount":1}"#, "name"),
        ("/v1/prices", #"{"currency":"usd","unit_amount":1,"product":"\#(combining(126))"}"#, "product"),
        ("/v1/checkout_links", #"{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"x","unit_amount":1}}],"title":"\#(combining(16))"}"#, "title"),
        ("/v1/plans", #"{"name":"x","amount":1,"metadata":{"\#(combining(21))":"v"}}"#, longKeyParam),
        // Currencies: upper or lower case, ASCII.
        ("/v1/plans", #"{"name":"x","amount":1,"currency":"Usd"}"#, "currency"),
        ("/v1/prices", #"{"currency":"ınr","unit_amount":1,"product":"x"}"#, "currency"),
        // Promo codes exactly as sent, ASCII only.
        ("/v1/promo-codes", #"{"code":" ABC","discountType":"percentage","discountValue":5}"#, "code"),
        ("/v1/promo-codes", #"{"code":"ıııı","discountType":"percentage","discountValue":5}"#, "code"),
        // A given email must be one; phones are ASCII digits and + - ( ) and spaces.
        ("/v1/checkout/sessions", #"{"amount":100,"customerEmail":""}"#, "customerEmail"),
        ("/v1/checkout/sessions", #"{"amount":100,"customerPhone":"½"}"#, "customerPhone"),
        ("/v1/checkout/sessions", #"{"amount":100,"customerPhone":"1\u0301"}"#, "customerPhone"),
        // URLs without controls or spaces, which Foundation's parser lets through in a path.
        ("/v1/checkout/sessions", #"{"amount":100,"successUrl":"https://shop.example/\u0007"}"#, "successUrl"),
        ("/v1/webhook_endpoints", #"{"url":"https://shop.example/\u001c","enabled_events":["*"]}"#, "url"),
        ("/v1/webhook_endpoints", #"{"url":"https://shop.example/\u0085","enabled_events":["*"]}"#, "url"),
        // after_completion: the member the type does not use is still checked.
        ("/v1/checkout_links", link + #","after_completion":{"type":"hosted_confirmation","redirect":[null]}}"#, "after_completion[redirect]"),
        ("/v1/checkout_links", link + #","after_completion":{"type":"redirect","redirect":{"url":"https://a.example"},"hosted_confirmation":7}}"#,
         "after_completion[hosted_confirmation]"),
    ])
    func refusedWith400NamingTheField(path: String, json: String, param: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", path, json: json, headers: [("Idempotency-Key", UUID().uuidString)])
        #expect(response.status == 400, "\(response.text)")
        #expect(response.errorParam == param)
        #expect(response.errorCode == "parameter_invalid")
    }

    @Test func theEdgesThemselvesAreAccepted() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.create("/v1/plans", #"{"name":"\#(Self.combining(125))","amount":99999999999,"metadata":{"\#(Self.combining(20))":"v"}}"#)
        #expect(plan["amount"] as? Int == 99_999_999_999)
        #expect((plan["name"] as? String)?.unicodeScalars.count == 250)
        let precomposed = try server.create("/v1/plans", #"{"name":"\#(String(repeating: "é", count: 250))","amount":1}"#)
        #expect((precomposed["name"] as? String)?.count == 250)
        let link = try server.create("/v1/payment-links", #"{"amount_usd":999999999.99,"payment_method_id":"pm"}"#)
        #expect(link["amount_usd"] as? Double == 999_999_999.99)
        let price = try server.create("/v1/prices", #"{"currency":"USD","unit_amount":99999999999,"product":"x"}"#)
        #expect(price["currency"] as? String == "usd")
    }

    /// Numbers `Decimal` cannot hold used to make the whole body "not valid JSON", even in fields
    /// the server ignores.
    @Test func numbersBeyondDecimalAreValidJSON() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.create("/v1/plans", #"{"name":"x","amount":1,"unknown":[1.7976931348623157e+308,-2.2e-308],"metadata":{"big":1e300}}"#)
        #expect(plan["metadata"] as? [String: String] == ["big": "1e+300"])
    }

    /// No body is "no changes"; a body that is only white space is not JSON.
    @Test(arguments: [("", 200), ("\r", 400), (" \n", 400), ("{}", 200)])
    func aBodyOfWhiteSpaceIsNotJSON(body: String, status: Int) throws {
        let server = try TestServer()
        defer { server.stop() }
        let id = try #require(try server.create("/v1/plans", #"{"name":"x","amount":1}"#)["id"] as? String)
        let response = try server.api("POST", "/v1/plans/\(id)", json: body)
        #expect(response.status == status)
        if status == 400 { #expect(response.errorCode == "invalid_json") }
    }

    @Test func anEmptyEventTypeIsNotATypeOfEvent() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("GET", "/v1/events?type=")
        #expect(response.status == 400)
        #expect(response.errorParam == "type")
    }
}
