import Foundation
import Synchronization
import Testing
@testable import Web

/// Stopping the HTTP server while it is busy: keep-alive connections open, requests being
/// answered, clients hammering it and new connections arriving. libmicrohttpd aborts the whole
/// process (`MHD_PANIC`) when its listening socket is taken out of a worker's epoll set twice or
/// after it was closed, so this runs many stops against the real daemon: one abort ends the test
/// process, which is the failure this guards against.
@Suite struct ServerStopTests {
    /// How many start/stop rounds. Each one is a real daemon on a free port of 127.0.0.1.
    static let rounds = 300

    @Test func stoppingABusyServerReturnsAndAnswersEveryRequestInFlight() throws {
        var answeredInFlight = 0
        for round in 0..<Self.rounds {
            answeredInFlight += try Self.stopWhileBusy(round: round)
        }
        // Every round had two slow requests in flight at the moment of the stop.
        #expect(answeredInFlight == 2 * Self.rounds)
    }

    /// One round: two slow requests in flight, two idle keep-alive connections, two clients sending
    /// quick requests back to back on keep-alive connections and one opening new connections, then
    /// `stop()`. Returns how many of the slow requests were answered with their 200.
    private static func stopWhileBusy(round: Int) throws -> Int {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.threads = 4
        configuration.connectionTimeout = 60
        configuration.shutdownGracePeriod = 10
        let slowStarted = Atomic(0)
        let server = HTTPServer(
            configuration: configuration,
            errors: ProtocolErrorResponses(payloadTooLarge: { _ in Response(status: 413) },
                                           badRequest: { _, _ in Response(status: 400) }),
            accessLog: { _, _, _, _, _ in },
            handler: { request in
                if request.path == "/slow" {
                    slowStarted.add(1, ordering: .relaxed)
                    usleep(40_000)
                }
                return .response(Response(status: 200, body: Array("ok".utf8)))
            })
        try server.start()
        let port = server.port

        let idle = try (0..<2).map { _ in try HTTPConnection(port: port) }
        for connection in idle {
            try connection.send("GET", "/quick")
            #expect(try connection.receive()?.status == 200)
        }

        let stopping = Atomic(false)
        let clientFailures = Mutex<[String]>([])
        let group = DispatchGroup()
        // Clients that keep the workers looping while the stop happens: each quick request is
        // either answered in full with its 200 or met by a closed connection, never a partial or
        // garbled answer.
        for _ in 0..<2 {
            DispatchQueue.global().async(group: group) {
                do {
                    var connection = try HTTPConnection(port: port)
                    while true {
                        try connection.send("GET", "/quick")
                        guard let response = try connection.receive() else {
                            if stopping.load(ordering: .acquiring) { return }
                            connection = try HTTPConnection(port: port)
                            continue
                        }
                        if response.status != 200 { clientFailures.withLock { $0.append("quick got \(response.status)") } }
                        if stopping.load(ordering: .acquiring), response.header("Connection")?.lowercased() == "close" { return }
                    }
                } catch {
                    // A connection refused or reset once the stop began is what a stopping
                    // server does; before it, it is a failure.
                    if !stopping.load(ordering: .acquiring) { clientFailures.withLock { $0.append("quick: \(error)") } }
                }
            }
        }
        DispatchQueue.global().async(group: group) {
            while !stopping.load(ordering: .acquiring) {
                guard let connection = try? HTTPConnection(port: port) else { continue }
                _ = try? connection.send("GET", "/quick")
                _ = try? connection.receive()
            }
        }

        let slow = try (0..<2).map { _ in try HTTPConnection(port: port) }
        for connection in slow { try connection.send("GET", "/slow") }
        // The slow requests are in flight once the handler has them.
        let deadline = Date().addingTimeInterval(10)
        while slowStarted.load(ordering: .relaxed) < 2, Date() < deadline { usleep(200) }

        stopping.store(true, ordering: .releasing)
        server.stop()

        var answered = 0
        for connection in slow {
            if let response = try connection.receive(), response.status == 200, response.text == "ok" { answered += 1 }
        }
        // Once stopped, the idle connections are closed. (Whether the port still accepts is not
        // asked: another test's server may have been given the same free port meanwhile.)
        for connection in idle { #expect(connection.isClosedByPeer(), "round \(round): an idle connection outlived the stop") }
        group.wait()
        let failures = clientFailures.withLock { $0 }
        #expect(failures.isEmpty, "round \(round): \(failures)")
        return answered
    }
}
