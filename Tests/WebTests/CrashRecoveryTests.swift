import Foundation
import GRDB
import Testing

/// `kill -9` of a real `checkout serve` while charges are in flight through a slow test
/// processor, then a restart on the same database file: every acknowledged payment is there, the
/// recovery pass leaves no attempt holding places, counts equal completions, and every charge the
/// processor took belongs to exactly one completed session.
@Suite struct CrashRecoveryTests {
    typealias ServeProcess = CommandLineTests.ServeProcess

    /// Seconds into a 1-second charge at which the process dies: before the test processor has
    /// recorded the charge (nothing moved), and after it has but before the answer came back (the
    /// money moved, the payment was not recorded yet).
    @Test(arguments: [0.25, 0.75])
    func killNineDuringChargesLosesNothingAndChargesNothingTwice(killAfter: Double) throws {
        let db = try CommandLineTests.temporaryDatabase()
        let first = try ServeProcess(arguments: ["--db", db, "--demo", "--test-processor-latency", "1"])
        var key: String?
        while key == nil {
            let line = try first.readLine()
            if line.contains("test key:") { key = line.split(separator: " ").last.map(String.init) }
        }
        let basic = Data("\(try #require(key)):".utf8).base64EncodedString()
        let created = try Self.request(first.port, "POST", "/v1/checkout_links", headers: [
            ("Authorization", "Basic \(basic)"), ("Content-Type", "application/json"), ("Idempotency-Key", UUID().uuidString),
        ], body: Array(checkoutLinkJSON(#""restrictions":{"completed_sessions":{"limit":6}}"#).utf8))
        let linkID = try #require(created.json["id"] as? String)
        let path = "/\(linkID)"

        // One payment acknowledged before the crash.
        let before = try Self.pay(port: first.port, path: path, count: 1)
        #expect(before.first?.status == 303)
        let acknowledged = before.compactMap { $0.header("Location") }

        // Eight customers at once: five hold the remaining places and are being charged when the
        // process dies; three were told at once that every place is being paid for.
        let connections = try Self.submitTogether(port: first.port, path: path, count: 8)
        Thread.sleep(forTimeInterval: killAfter)
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        var answers: [Int] = []
        for connection in connections {
            if let response = try? connection.receive() { answers.append(response.status) }
        }
        #expect(answers.filter { $0 == 409 } .count == 3, "answers before the crash: \(answers)")
        #expect(!answers.contains(303), "nothing of the in-flight charges was acknowledged")

        let second = try ServeProcess(arguments: ["--db", db, "--recovery-interval", "0.2"])
        defer { _ = second.terminate() }
        let database = try DatabaseQueue(path: db)
        let deadline = Date().addingTimeInterval(15)
        while try database.read({ try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM reservation WHERE state IN ('charging', 'requires_action')") }) != 0 {
            guard Date() < deadline else { Issue.record("attempts still holding places after the recovery pass"); return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        try database.read { db in
            let succeeded = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM test_charge WHERE status = 'succeeded'") ?? -1
            let payments = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM payment") ?? -1
            let completed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM checkout_session WHERE status = 'complete'") ?? -1
            let link = try #require(try Row.fetchOne(db, sql: "SELECT * FROM checkout_link WHERE id = ?", arguments: [linkID]))
            // Before the processor recorded the charges nothing moved; after, all five did.
            #expect(succeeded == (killAfter < 0.5 ? 1 : 6))
            #expect(payments == succeeded && completed == succeeded)
            #expect(link["completed_sessions_count"] as Int64 == Int64(succeeded))
            #expect(link["reserved_sessions_count"] as Int64 == 0)
            let unrecorded = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM test_charge t WHERE t.status = 'succeeded'
                AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.processor_reference = t.id)
                """)
            #expect(unrecorded == 0, "a charge taken without its payment")
            let doubled = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM (SELECT processor_reference FROM payment GROUP BY processor_reference HAVING COUNT(*) > 1)
                """)
            #expect(doubled == 0, "a charge recorded twice")
            let holdingPromo = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM promo_code WHERE reserved_count != 0")
            #expect(holdingPromo == 0)
        }
        for location in acknowledged {
            #expect(try Self.request(second.port, "GET", location).text.contains("Payment received"))
        }
        if killAfter < 0.5 {
            // The places came back: the link sells again.
            #expect(try Self.pay(port: second.port, path: path, count: 1).first?.status == 303)
        }
    }

    /// One request on its own connection to `port`.
    static func request(_ port: UInt16, _ method: String, _ path: String, headers: [(String, String)] = [],
                        body: [UInt8] = []) throws -> HTTPResponse {
        let connection = try HTTPConnection(port: port)
        try connection.send(method, path, headers: headers, body: body)
        return try #require(try connection.receive())
    }

    /// `count` submits of the form at `path` with `fields` (a paying customer by default),
    /// complete at the same moment; their connections, unanswered yet.
    static func submitTogether(port: UInt16, path: String, fields: [String: String] = TestServer.payment(),
                               count: Int) throws -> [HTTPConnection] {
        var all = fields
        all["csrf_token"] = try #require(FormPage(response: try request(port, "GET", path)).csrfToken)
        let body = Array(all.map { "\(TestServer.formEncode($0.key))=\(TestServer.formEncode($0.value))" }.joined(separator: "&").utf8)
        let request = Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
        return try HTTPConnection.together(request, port: port, count: count)
    }

    /// `count` paying customers at once, with their answers.
    static func pay(port: UInt16, path: String, count: Int) throws -> [HTTPResponse] {
        try submitTogether(port: port, path: path, count: count).map { try #require(try $0.receive()) }
    }
}
