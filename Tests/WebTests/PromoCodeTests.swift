import Foundation
import Testing

extension TestServer {
    func promo(_ json: String, key: String? = nil) throws -> [String: Any] {
        try create("/v1/promo-codes", json, key: key)
    }

    /// Posts the promo form of `path` (`action=apply_promo`).
    func apply(_ code: String, at path: String) throws -> HTTPResponse {
        try submit(path, ["action": "apply_promo", "promo_code": code])
    }
}

@Suite struct PromoCodesAPITests {
    @Test func createReturnsTheDocumentedFields() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        let expires = Date.ISO8601FormatStyle().format(Date().addingTimeInterval(86_400))
        let promo = try server.promo(#"{"code":"launch50","planId":"\#(plan)","discountType":"percentage","discountValue":50,"duration":"repeating","durationCycles":3,"maxRedemptions":10,"expiresAt":"\#(expires)"}"#)
        #expect((promo["id"] as? String)?.hasPrefix("promo_") == true)
        #expect(promo["code"] as? String == "LAUNCH50")
        #expect(promo["discountType"] as? String == "percentage")
        #expect(promo["discountValue"] as? Int == 50)
        #expect(promo["duration"] as? String == "repeating")
        #expect(promo["durationCycles"] as? Int == 3)
        #expect(promo["redeemedCount"] as? Int == 0)
        #expect(promo["remaining"] as? Int == 10)
        #expect(promo["maxRedemptions"] as? Int == 10)
        #expect(promo["active"] as? Bool == true)
        #expect(promo["expiresAt"] as? String == expires)
        #expect(promo["planId"] as? String == plan)
        #expect(promo["livemode"] as? Bool == false)
        #expect((promo["createdAt"] as? String)?.hasSuffix("Z") == true)

        let unlimited = try server.promo(#"{"code":"TENOFF","discountType":"fixed","discountValue":1000}"#)
        #expect(unlimited["remaining"] is NSNull)
        #expect(unlimited["duration"] as? String == "once")
        #expect(unlimited["currency"] as? String == "NGN")
        #expect(unlimited["expiresAt"] is NSNull)
    }

    @Test func codesAreUniqueCaseInsensitivelyPerScope() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.promo(#"{"code":"SAVE10","discountType":"percentage","discountValue":10}"#)
        let taken = try server.api("POST", "/v1/promo-codes", json: #"{"code":"save10","discountType":"percentage","discountValue":20}"#)
        #expect(taken.status == 409)
        #expect(taken.errorCode == "code_taken")
        #expect(taken.errorParam == "code")
        // Live mode has its own codes.
        _ = try server.promo(#"{"code":"save10","discountType":"percentage","discountValue":10}"#, key: server.liveKey)
    }

    @Test(arguments: [
        (#"{"discountType":"percentage","discountValue":10}"#, "code"),
        (#"{"code":"AB","discountType":"percentage","discountValue":10}"#, "code"),
        (#"{"code":"HAS SPACE","discountType":"percentage","discountValue":10}"#, "code"),
        (#"{"code":"\#(String(repeating: "A", count: 41))","discountType":"percentage","discountValue":10}"#, "code"),
        (#"{"code":"OKAY","discountValue":10}"#, "discountType"),
        (#"{"code":"OKAY","discountType":"bogof","discountValue":10}"#, "discountType"),
        (#"{"code":"OKAY","discountType":"percentage"}"#, "discountValue"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":0}"#, "discountValue"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":101}"#, "discountValue"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":12.5}"#, "discountValue"),
        (#"{"code":"OKAY","discountType":"fixed","discountValue":0}"#, "discountValue"),
        (#"{"code":"OKAY","discountType":"fixed","discountValue":100,"currency":"XXX1"}"#, "currency"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"duration":"sometimes"}"#, "duration"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"duration":"repeating"}"#, "durationCycles"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"duration":"repeating","durationCycles":0}"#, "durationCycles"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"duration":"once","durationCycles":2}"#, "durationCycles"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"durationCycles":2}"#, "durationCycles"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"maxRedemptions":0}"#, "maxRedemptions"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"expiresAt":"2001-01-01T00:00:00Z"}"#, "expiresAt"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"expiresAt":"soon"}"#, "expiresAt"),
        (#"{"code":"OKAY","discountType":"percentage","discountValue":10,"planId":"plan_nope"}"#, "planId"),
    ] as [(String, String)])
    func invalidCodesAreRefusedNamingTheField(json: String, param: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/promo-codes", json: json)
        #expect(response.status == 400 || response.status == 404, "\(response.text)")
        #expect(response.errorParam == param)
    }

    @Test func updateChangesActiveLimitAndExpiry() throws {
        let server = try TestServer()
        defer { server.stop() }
        let promo = try server.promo(#"{"code":"ONCE","discountType":"percentage","discountValue":10,"maxRedemptions":1}"#)
        let id = try #require(promo["id"] as? String)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        var fields = TestServer.payment()
        fields["promo_code"] = "ONCE"
        #expect(try server.submit(server.path(of: link["url"]), fields).status == 303)
        let below = try server.api("POST", "/v1/promo-codes/\(id)", json: #"{"maxRedemptions":0}"#)
        #expect(below.status == 400)
        #expect(below.errorParam == "maxRedemptions")
        let expires = Date.ISO8601FormatStyle().format(Date().addingTimeInterval(3600))
        let updated = try server.api("POST", "/v1/promo-codes/\(id)", json: #"{"maxRedemptions":3,"active":false,"expiresAt":"\#(expires)"}"#)
        #expect(updated.status == 200)
        #expect(updated.json["maxRedemptions"] as? Int == 3)
        #expect(updated.json["redeemedCount"] as? Int == 1)
        #expect(updated.json["remaining"] as? Int == 2)
        #expect(updated.json["active"] as? Bool == false)
        #expect(updated.json["expiresAt"] as? String == expires)
        #expect(try server.list("/v1/promo-codes").count == 1)
        #expect(try server.api("GET", "/v1/promo-codes/\(id)", key: server.liveKey).status == 404)
    }
}

@Suite struct PromoCodePageTests {
    @Test func applyingShowsTheDiscountLineAndTheNewTotal() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        _ = try server.promo(#"{"code":"HALF","discountType":"percentage","discountValue":50}"#)
        let link = try server.create("/v1/payment-links", #"{"planId":"\#(plan)","slug":"pro"}"#)
        let path = server.path(of: link["url"])
        #expect(try server.request("GET", path).text.contains(#"name="promo_code""#))
        let applied = try server.apply("half", at: path)
        #expect(applied.status == 200)
        #expect(applied.text.contains("Discount (HALF)"))
        #expect(applied.text.contains("−₦750.00"))
        #expect(applied.text.contains(">Subscribe for ₦750.00</button>"))
        #expect(FormPage(response: applied).value(ofInput: "promo_code") == "HALF")
        #expect(applied.text.contains(#"<input type="hidden" name="quoted_promo_code" value="HALF">"#))
        #expect(try server.list("/v1/checkout/sessions").isEmpty, "applying a code writes nothing")
    }

    @Test(arguments: [
        ("NOPE", "does not exist"), ("OFF", "no longer active"), ("OLD", "has expired"), ("GONE", "used up"),
        ("OTHERPLAN", "not valid for this purchase"), ("EURO", "another currency"),
    ])
    func rejectedCodesSayWhy(code: String, reason: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let otherPlan = try server.monthlyPlan()
        _ = try server.promo(#"{"code":"OFF","discountType":"percentage","discountValue":10}"#)
        _ = try server.api("POST", "/v1/promo-codes/\(try server.list("/v1/promo-codes")[0]["id"] as! String)", json: #"{"active":false}"#)
        let soon = Date.ISO8601FormatStyle().format(server.clock.now.addingTimeInterval(60))
        _ = try server.promo(#"{"code":"OLD","discountType":"percentage","discountValue":10,"expiresAt":"\#(soon)"}"#)
        _ = try server.promo(#"{"code":"GONE","discountType":"percentage","discountValue":10,"maxRedemptions":1}"#)
        _ = try server.promo(#"{"code":"OTHERPLAN","discountType":"percentage","discountValue":10,"planId":"\#(otherPlan)"}"#)
        _ = try server.promo(#"{"code":"EURO","discountType":"fixed","discountValue":100,"currency":"EUR"}"#)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let path = server.path(of: link["url"])
        var fields = TestServer.payment()
        fields["promo_code"] = "GONE"
        #expect(try server.submit(path, fields).status == 303)
        server.clock.advance(61)
        let response = try server.apply(code, at: path)
        #expect(response.status == 422)
        #expect(FormPage(response: response).fieldErrors.first?.contains(reason) == true)
        #expect(response.text.contains(#"aria-describedby="promo_code-error""#))
        #expect(response.text.contains(">Pay $10.00</button>"))
    }

    @Test func payingWithACodeRecordsTheDiscountEverywhere() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.monthlyPlan()
        _ = try server.promo(#"{"code":"THREEMONTHS","discountType":"percentage","discountValue":25,"duration":"repeating","durationCycles":3}"#)
        let session = try server.create("/v1/checkout/sessions", #"{"planId":"\#(plan)"}"#)
        var fields = TestServer.payment()
        fields["promo_code"] = "threemonths"
        let paid = try server.submit(server.path(of: session["url"]), fields)
        #expect(paid.status == 303)
        let completed = try server.api("GET", "/v1/checkout/sessions/\(session["id"] as! String)").json
        #expect(completed["promoCode"] as? String == "THREEMONTHS")
        #expect(completed["discountAmount"] as? Int == 37_500)
        #expect(completed["amountTotal"] as? Int == 112_500)
        #expect(completed["amount"] as? Int == 150_000)
        let transaction = try server.api("GET", "/v1/transactions/\(completed["transactionId"] as! String)").json
        #expect(transaction["amount"] as? Int == 112_500)
        #expect(transaction["promoCode"] as? String == "THREEMONTHS")
        #expect(transaction["discountAmount"] as? Int == 37_500)
        let subscription = try server.api("GET", "/v1/subscriptions/\(completed["subscriptionId"] as! String)").json
        let discount = try #require(subscription["discount"] as? [String: Any])
        #expect(discount["duration"] as? String == "repeating")
        #expect(discount["cycles"] as? Int == 3)
        #expect(discount["cyclesRemaining"] as? Int == 2)
        #expect(discount["discountValue"] as? Int == 25)
        let receipt = try server.request("GET", server.path(of: session["url"]))
        #expect(receipt.text.contains("Discount (THREEMONTHS)"))
        #expect(receipt.text.contains("−₦375.00"))
        #expect(receipt.text.contains("₦1,125.00"))
        let promo = try server.list("/v1/promo-codes")[0]
        #expect(promo["redeemedCount"] as? Int == 1)
    }

    @Test func aZeroTotalCompletesWithoutACardAndIsRecorded() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.promo(#"{"code":"FREE","discountType":"fixed","discountValue":999999,"currency":"USD"}"#)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let path = server.path(of: link["url"])
        let applied = try server.apply("FREE", at: path)
        #expect(applied.text.contains(">Complete order</button>"))
        #expect(!applied.text.contains(#"name="card_number""#))
        let paid = try server.submit(path, ["email": "zero@example.com", "name": "Zero", "promo_code": "FREE"])
        #expect(paid.status == 303)
        let transaction = try #require(try server.list("/v1/transactions").first)
        #expect(transaction["amount"] as? Int == 0)
        #expect(transaction["discountAmount"] as? Int == 1000)
        #expect(transaction["cardLast4"] is NSNull)
    }

    @Test func checkoutLinksTakeCodesOnlyWhenAllowed() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.promo(#"{"code":"TENPC","discountType":"percentage","discountValue":10}"#)
        let closed = try server.checkoutLink(checkoutLinkJSON())
        let closedPath = server.path(of: closed["url"])
        #expect(!(try server.request("GET", closedPath).text.contains(#"name="promo_code""#)))
        var fields = TestServer.payment()
        fields["promo_code"] = "TENPC"
        let refused = try server.submit(closedPath, fields)
        #expect(refused.status == 409)
        #expect(try server.list("/v1/transactions").isEmpty)

        let open = try server.checkoutLink(checkoutLinkJSON(#""allow_promotion_codes":true"#))
        let openPath = server.path(of: open["url"])
        #expect(try server.request("GET", openPath).text.contains(#"name="promo_code""#))
        #expect(try server.apply("TENPC", at: openPath).text.contains("<td class=\"num total\">$45.00</td>"))
        #expect(try server.submit(openPath, fields).status == 303)
        #expect(try server.list("/v1/transactions").first?["amount"] as? Int == 4500)
    }

    @Test func aCodeThatRanOutBetweenApplyingAndPayingIs409AndNotCharged() throws {
        let server = try TestServer()
        defer { server.stop() }
        _ = try server.promo(#"{"code":"LAST","discountType":"percentage","discountValue":50,"maxRedemptions":1}"#)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let path = server.path(of: link["url"])
        let applied = FormPage(response: try server.apply("LAST", at: path))
        #expect(applied.response.text.contains(">Pay $5.00</button>"))
        // Someone else uses the last redemption…
        var other = TestServer.payment(email: "first@example.com")
        other["promo_code"] = "LAST"
        #expect(try server.submit(path, other).status == 303)
        // …then this customer pays with the form they were shown.
        var mine = TestServer.payment(email: "second@example.com", name: "Second")
        mine["promo_code"] = "LAST"
        let response = try server.submit(path, mine, token: applied.csrfToken)
        #expect(response.status == 409)
        let page = FormPage(response: response)
        #expect(page.alert?.contains("used up") == true)
        #expect(page.alert?.contains("not been charged") == true)
        #expect(response.text.contains(">Pay $10.00</button>"))
        #expect(page.value(ofInput: "email") == "second@example.com")
        #expect(try server.list("/v1/transactions").count == 1)
    }

    @Test func redemptionsNeverOvershootUnderConcurrency() async throws {
        let server = try TestServer()
        defer { server.stop() }
        let promo = try server.promo(#"{"code":"TWICE","discountType":"percentage","discountValue":20,"maxRedemptions":2}"#)
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 10, "payment_method_id": "pm"}"#)
        let path = server.path(of: link["url"])
        let token = try #require(try server.open(path).csrfToken)
        var fields = TestServer.payment()
        fields["promo_code"] = "TWICE"
        fields["csrf_token"] = token
        let body = Array(fields.map { "\(TestServer.formEncode($0.key))=\(TestServer.formEncode($0.value))" }.joined(separator: "&").utf8)
        let request = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        let connections = try (0..<30).map { _ in try server.connect() }
        for connection in connections { try connection.send(Array(request.dropLast())) }
        let responses = try await withThrowingTaskGroup(of: HTTPResponse.self) { group in
            for connection in connections {
                group.addTask {
                    try connection.send([request.last!])
                    return try #require(try connection.receive())
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(responses.filter { $0.status == 303 }.count == 2)
        let refused = responses.filter { $0.status == 409 }
        #expect(refused.count == 28)
        #expect(refused.allSatisfy { FormPage(response: $0).alert?.contains("not been charged") == true })
        let state = try server.api("GET", "/v1/promo-codes/\(promo["id"] as! String)").json
        #expect(state["redeemedCount"] as? Int == 2)
        #expect(state["remaining"] as? Int == 0)
        let transactions = try server.list("/v1/transactions?limit=100")
        #expect(transactions.count == 2)
        #expect(transactions.allSatisfy { $0["amount"] as? Int == 800 })
    }
}
