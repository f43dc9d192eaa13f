import Foundation
import Testing
@testable import Web

/// Request bodies are RFC 8259 JSON or a `400 invalid_json`: every case of the JSONTestSuite
/// (Tests/WebTests/Fixtures/JSONTestSuite) as data, and the common mistakes over real HTTP.
@Suite struct StrictJSONTests {
    static let suite = TestServer.packageRoot.appendingPathComponent("Tests/WebTests/Fixtures/JSONTestSuite")

    /// The suite's files whose names start with `prefix`, with their bytes.
    static func cases(_ prefix: String) throws -> [(name: String, bytes: [UInt8])] {
        try FileManager.default.contentsOfDirectory(atPath: suite.path)
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }.sorted()
            .map { ($0, Array(try Data(contentsOf: suite.appendingPathComponent($0)))) }
    }

    @Test func everyNotJSONCaseIsRefused() throws {
        let cases = try Self.cases("n_")
        #expect(cases.count == 188)
        let accepted = cases.filter { JSON.parse($0.bytes) != nil }.map(\.name)
        #expect(accepted.isEmpty, "accepted: \(accepted)")
    }

    @Test func everyJSONCaseParses() throws {
        let cases = try Self.cases("y_")
        #expect(cases.count == 95)
        let refused = cases.filter { JSON.parse($0.bytes) == nil }.map(\.name)
        #expect(refused.isEmpty, "refused: \(refused)")
    }

    /// What RFC 8259 leaves to the parser: numbers past Decimal's range are JSON (and no field
    /// takes them); 500 levels of nesting are within the 512 allowed; a byte-order mark, invalid
    /// UTF-8, lone surrogates and other encodings are refused, since a Swift String cannot hold
    /// them as sent.
    @Test func implementationDefinedCasesAreDecidedAsDocumented() throws {
        let cases = try Self.cases("i_")
        #expect(cases.count == 35)
        for (name, bytes) in cases {
            let accepted = name.hasPrefix("i_number_") || name == "i_structure_500_nested_arrays.json"
            #expect((JSON.parse(bytes) != nil) == accepted, "\(name): expected \(accepted ? "accepted" : "refused")")
        }
    }

    @Test func numbersStayExactAndKeysKeepTheirOrder() throws {
        let parsed = try #require(JSON.parse(Array(#" {"b": 29.99, "a": [-0, 1E2, 12345678901234567890], "c": "\u00e9\ud83d\ude00\n", "b": 1} "#.utf8)))
        guard case .object(let pairs) = parsed else { Issue.record("not an object"); return }
        #expect(pairs.map(\.0) == ["b", "a", "c", "b"])
        #expect(parsed["b"] == .number(Decimal(string: "29.99")!))
        #expect(parsed["a"] == .array([.number(0), .number(100), .number(Decimal(string: "12345678901234567890")!)]))
        #expect(parsed["c"] == .string("é😀\n"))
        #expect(JSON.parse(Array("1e400".utf8)) == .outOfRangeNumber(.infinity))
        if case .outOfRangeNumber = JSON.parse(Array("1e-400".utf8)) {} else { Issue.record("1e-400 became a Decimal") }
        #expect(JSON.parse(Array("0e-400".utf8)) == .number(0))
    }

    @Test func syntaxErrorsSayWhere() {
        do {
            _ = try JSONParser.parse(Array("{\n  \"a\": 1,\n}".utf8))
            Issue.record("a trailing comma was accepted")
        } catch {
            #expect(error.line == 3 && error.column == 1, "\(error)")
            #expect(error.description.hasPrefix("line 3, column 1: "))
        }
    }

    /// What senders get wrong most, each as a plan's body: 400 `invalid_json`, and nothing created.
    @Test(arguments: [
        #"{"name": "x", "amount": 100,}"#, #"{"name": "x", "amount": [100,]}"#,
        #"{"name": "x", "amount": 100} // note"#, #"{"name": "x", /* note */ "amount": 100}"#,
        "{'name': 'x', 'amount': 100}", #"{"name": "x", "amount": NaN}"#, #"{"name": "x", "amount": Infinity}"#,
        #"{name: "x", "amount": 100}"#, #"{"name": "x", "amount": 0100}"#, "{\"name\": \"x\ty\", \"amount\": 100}",
        "{\"name\": \"x\ny\", \"amount\": 100}", "{\"name\": \"x\u{01}\", \"amount\": 100}", #"{"name": "x", "amount": +100}"#,
        #"{"name": "x", "amount": .5}"#, #"{"name": "x", "amount": 1.}"#, #"{"name": "x", "amount": 0x64}"#,
        #"{"name": "x", "amount": 100}}"#, #"{"name": "x" "amount": 100}"#, "\u{FEFF}{\"name\": \"x\", \"amount\": 100}",
        #"{"name": "\ud800", "amount": 100}"#, #"{"name": "x\q", "amount": 100}"#,
    ])
    func invalidBodiesAre400InvalidJSON(body: String) throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.api("POST", "/v1/plans", json: body)
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_json")
        #expect(try server.list("/v1/plans").isEmpty)
    }

    @Test func invalidUTF8IsRefused() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = Array(#"{"name": ""#.utf8) + [0xC3, 0x28] + Array(#"", "amount": 100}"#.utf8)
        let response = try server.request("POST", "/v1/plans", headers: [("Authorization", "Bearer \(server.testKey)"),
                                                                         ("Content-Type", "application/json")], body: body)
        #expect(response.status == 400)
        #expect(response.errorCode == "invalid_json")
    }

    @Test func validBodiesStillCreate() throws {
        let server = try TestServer()
        defer { server.stop() }
        let plan = try server.create("/v1/plans", "\r\n\t {\"name\": \"Caf\\u00e9 \\\"Pro\\\"\", \"amount\": 2999, \"metadata\": {\"tier\": \"\\ud83d\\ude00\"}} \n")
        #expect(plan["name"] as? String == "Café \"Pro\"")
        #expect(plan["amount"] as? Int == 2999)
        #expect((plan["metadata"] as? [String: String])?["tier"] == "😀")
        let link = try server.create("/v1/payment-links", #"{"amount_usd": 29.99, "payment_method_id": "pm"}"#)
        #expect((link["amount_usd"] as? NSNumber)?.decimalValue == Decimal(string: "29.99"))
    }
}
