import Billing
import Foundation
import Logging
import Synchronization

/// How the whole application is set up.
public struct ApplicationConfiguration: Sendable {
    /// Socket, threads and limits.
    public var server = ServerConfiguration()
    /// SQLite file, or `:memory:`.
    public var databasePath = "./data/checkout.sqlite"
    /// Base URL customers reach the pages on; defaults to `http://HOST:PORT` once bound.
    public var publicURL: String?
    /// Folder holding `Templates/`, `Public/` and `OpenAPI/`.
    public var resourcesDirectory = Application.defaultResourcesDirectory()
    /// Seconds every test-card charge takes (`--test-processor-latency`), like a real
    /// processor's round trip: for load tests and merchants' tests of slow payments.
    public var testProcessorLatency: TimeInterval = 0
    /// Live mode's processor for organizations that connected none (a plug-in point for tests and
    /// embedders); without either, live payments are refused.
    public var liveProcessor: (any PaymentProcessor)?
    /// The file of the master key that seals processors' secret keys; nil: `master.key` beside
    /// the database (created 0600 on first need), or a key in memory for `:memory:`.
    public var masterKeyFile: String?
    /// Take live payments although the public URL is not https (loopback tests only).
    public var allowInsecureLive = false
    /// Seconds a request to Stripe may take, connecting included, before its answer counts as lost.
    public var stripeTimeout: TimeInterval = 30
    /// For tests: wraps test mode's processor (to slow, fail or count its charges).
    public var testProcessorWrapper: (@Sendable (any PaymentProcessor) -> any PaymentProcessor)?
    /// Charges running at once (`--charge-concurrency`); more wait their turn.
    public var chargeConcurrency = 64
    /// How often attempts left between charge and settle are resolved with their processor.
    public var recoveryInterval: TimeInterval = 60
    /// When failed webhook deliveries are tried again.
    public var webhookRetry = RetryPolicy.standard
    /// Seconds a webhook endpoint has to answer 2xx (connecting included) before the attempt fails.
    public var webhookTimeout: TimeInterval = 10
    /// How often open sessions and links past their expiry are expired (with their events).
    public var sweepInterval: TimeInterval = 60
    /// A fixture file (JSON) whose organizations and objects are created at start, all or none.
    public var fixturesFile: String?

    /// The defaults.
    public init() {}
}

/// The checkout server: the store, the API, the pages and the HTTP server, wired together.
public final class Application: Sendable {
    /// The database.
    public let store: Store
    private let server: HTTPServer
    private let baseURL: PublicURL
    private let logger: Logger
    /// The API, reachable by tests of this module.
    let api: API
    private let dispatcher: WebhookDispatcher
    private let sweeper: ExpirySweeper
    private let workers: ChargeWorkers
    /// Resolves attempts whose charge's answer was lost; reachable by tests of this module.
    let recovery: RecoveryPass
    /// Which `now` each organization's objects see (test clocks).
    public let time: BillingTime

    /// Opens the store (migrating it) and prepares every component; nothing listens yet.
    public init(configuration: ApplicationConfiguration, clock: Clock = .system, logger: Logger) throws {
        self.logger = logger
        let time = BillingTime(wall: clock)
        self.time = time
        store = try Store(path: configuration.databasePath)
        let secrets = try Application.secretBox(configuration)
        if let fixtures = configuration.fixturesFile {
            try Fixtures.load(file: fixtures, into: store, secrets: secrets, now: clock.now())
        }
        let resources = URL(fileURLWithPath: configuration.resourcesDirectory)
        let staticFiles = try StaticFiles(directory: resources.appendingPathComponent("Public").path)
        let renderer = try PageRenderer(directory: resources.appendingPathComponent("Templates").path,
                                        assetVersion: staticFiles.version)
        let baseURL = PublicURL(configuration.publicURL)
        self.baseURL = baseURL
        let dispatcher = WebhookDispatcher(store: store, policy: configuration.webhookRetry,
                                           timeout: configuration.webhookTimeout, logger: logger)
        self.dispatcher = dispatcher
        sweeper = ExpirySweeper(store: store, time: time, interval: configuration.sweepInterval, publicURL: baseURL,
                                logger: logger, afterSweep: dispatcher.wake)
        let testCards = TestCardProcessor(store: store, latency: configuration.testProcessorLatency) { id in
            baseURL.value + "/test-bank/" + id
        }
        let processors = ProcessorDirectory(
            store: store, testCards: configuration.testProcessorWrapper?(testCards) ?? testCards, live: configuration.liveProcessor,
            secrets: secrets, publicURL: baseURL, allowInsecureLive: configuration.allowInsecureLive,
            stripeTimeout: configuration.stripeTimeout, logger: logger)
        let flow = PaymentFlow(store: store, time: time, processors: processors, publicURL: baseURL, logger: logger,
                               onCompletion: dispatcher.wake)
        workers = ChargeWorkers(limit: configuration.chargeConcurrency)
        recovery = RecoveryPass(store: store, flow: flow, interval: configuration.recoveryInterval, logger: logger)
        let api = API(store: store, time: time, publicURL: baseURL, logger: logger,
                      document: try OpenAPIDocument(resourcesDirectory: resources.path), flow: flow, afterWrite: dispatcher.wake)
        self.api = api
        let pages = try Pages(renderer: renderer, store: store, time: time, flow: flow, workers: workers,
                              publicURL: baseURL, onCompletion: dispatcher.wake)
        let router = TopLevelRouter(store: store, api: api, pages: pages, staticFiles: staticFiles, workers: workers)
        let limit = configuration.server.maximumBodySize
        let errors = ProtocolErrorResponses(
            payloadTooLarge: { request in
                request.isAPI ? APIError.payloadTooLarge(limit: limit).response
                    : pages.message(status: 413, heading: "Request too large", text: "The form sent more than \(limit / 1024) KiB.")
            },
            badRequest: { request, reason in
                request.isAPI ? APIError(status: 400, code: "bad_request", message: reason).response
                    : pages.message(status: 400, heading: "Bad request", text: reason)
            },
            stillWorking: { _ in
                pages.message(status: 503, heading: "This payment is still being processed",
                              text: "The server is restarting. Your payment will be completed or released without you; reopen the checkout in a minute to see how it ended. You will not be charged twice.")
            })
        server = HTTPServer(configuration: configuration.server, errors: errors, accessLog: { method, path, status, micros, id in
            logger.info("\(method) \(path) \(status) \(micros)µs", metadata: ["request_id": "\(id)"])
        }, handler: router.handle)
    }

    /// Binds the socket and starts serving. Returns the URL it listens on.
    @discardableResult
    public func start() throws -> String {
        try server.start()
        dispatcher.start()
        sweeper.start()
        recovery.start()
        let url = "http://\(server.configuration.host.contains(":") ? "[\(server.configuration.host)]" : server.configuration.host):\(server.port)"
        baseURL.setDefault(url)
        return url
    }

    /// Runs one expiry pass now, on the calling thread (as the sweeper's own thread does every
    /// interval).
    func sweepNow() {
        sweeper.sweep()
    }

    /// The bound port.
    public var port: UInt16 { server.port }

    /// Base URL of the hosted pages.
    public var publicURL: String { baseURL.value }

    /// Stops accepting, finishes requests in flight, closes the database.
    public func stop() {
        server.stop()
        // Charges still running finish and settle before the database closes; any that cannot
        // within the time are resolved by the recovery pass at the next start.
        workers.stop(timeout: 10)
        recovery.stop()
        sweeper.stop()
        dispatcher.stop()
        do {
            try store.close()
        } catch {
            logger.error("closing the database failed: \(error)")
        }
    }

    /// The master key's box: the configured file, else `master.key` beside the database, else
    /// (`:memory:`) a key that lives and dies with the process.
    public static func secretBox(_ configuration: ApplicationConfiguration) throws -> SecretBox {
        if let file = configuration.masterKeyFile { return try SecretBox.masterKey(at: file) }
        if configuration.databasePath == ":memory:" { return SecretBox.ephemeral() }
        return try SecretBox.masterKey(at: SecretBox.defaultPath(forDatabase: configuration.databasePath))
    }

    /// Where `Templates/`, `Public/` and `OpenAPI/` are looked for when not configured: `$CHECKOUT_RESOURCES`,
    /// the working directory, or the package root above a `.build/<config>/checkout` binary.
    public static func defaultResourcesDirectory() -> String {
        if let configured = ProcessInfo.processInfo.environment["CHECKOUT_RESOURCES"] { return configured }
        let fileManager = FileManager.default
        let candidates = [
            fileManager.currentDirectoryPath,
            URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
                .deletingLastPathComponent().appendingPathComponent("../../..").standardizedFileURL.path,
            URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
                .deletingLastPathComponent().appendingPathComponent("../../../..").standardizedFileURL.path,
        ]
        return candidates.first { fileManager.fileExists(atPath: "\($0)/Templates") } ?? fileManager.currentDirectoryPath
    }
}

/// The public base URL, known only once the port is bound when none was configured.
final class PublicURL: Sendable {
    private let state: Mutex<(configured: String?, value: String)>

    init(_ configured: String?) {
        let trimmed = configured.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        state = Mutex((trimmed, trimmed ?? ""))
    }

    /// Uses `url` unless one was configured.
    func setDefault(_ url: String) {
        state.withLock { if $0.configured == nil { $0.value = url } }
    }

    /// The URL, without trailing slash.
    var value: String { state.withLock { $0.value } }
}

/// Sends each request to the part of the application that owns its path.
struct TopLevelRouter: Sendable {
    let store: Store
    let api: API
    let pages: Pages
    let staticFiles: StaticFiles
    /// Where API requests that wait for a processor run (a refund), as the page's charges do.
    let workers: ChargeWorkers

    /// The answer to `request`, sent only once everything it could have read is on disk.
    func handle(_ request: Request) -> Reply {
        // With group commit another request's commit is visible a moment before it is flushed.
        // Waiting for every commit so far keeps an answer from showing a payment that a power
        // cut could still undo; when nothing is being written it costs a lock and a comparison.
        // The wait does not hold the worker thread: the connection is suspended until the flush
        // that covers the answer, and the thread serves other requests meanwhile, whose commits
        // then share the next flush.
        // A health check and a static file read nothing from the database: nothing to wait for,
        // whatever is being written (a load balancer's probe stays fast under any load).
        if request.path == "/healthz" || request.path.hasPrefix("/static/") { return route(request) }
        switch route(request) {
        case .response(let response):
            // Nothing unflushed to wait for (most reads): answered on this thread at once.
            if store.isDurable { return .response(response) }
            return .later { [store] answer in
                store.whenDurable { answer(response) }
            }
        case .later(let work):
            return .later { [store] answer in
                work { response in
                    store.whenDurable { answer(response) }
                }
            }
        }
    }

    private func route(_ request: Request) -> Reply {
        let path = request.path
        if path == "/healthz" {
            guard request.method == "GET" || request.method == "HEAD" else {
                return .response(APIError.methodNotAllowed(request.method, allowed: ["GET", "HEAD"]).response)
            }
            return .response(.json(200, Self.healthy))
        }
        if request.isAPI {
            // A refund is a round trip to the processor that took the payment (seconds, at
            // Stripe): it runs on a charge worker, the connection suspended, so the HTTP worker
            // goes on serving others meanwhile.
            if api.waitsForProcessor(request) {
                return .later { [api, workers] answer in workers.run { answer(api.handle(request)) } }
            }
            return .response(api.handle(request))
        }
        if path.hasPrefix("/static/") {
            let name = String(path.dropFirst("/static/".count))
            guard request.method == "GET" || request.method == "HEAD" else {
                var response = pages.message(status: 405, heading: "Method not allowed", text: "Static files can only be read.")
                response.headers.add("Allow", "GET, HEAD")
                return .response(response)
            }
            return .response(staticFiles.response(for: request, name: name) ?? pages.notFound())
        }
        if path.hasPrefix("/test-bank/") {
            return .response(pages.testBank(request))
        }
        return pages.handle(request)
    }

    private static let healthy = JSON.object([("status", .string("ok"))]).serialized()
}

extension Request {
    /// Whether the request is for the merchant API (answered in JSON, errors included).
    var isAPI: Bool { path == "/v1" || path.hasPrefix("/v1/") }

    /// The media type of the body, lowercased, without its parameters (`text/html; charset=…`
    /// gives `text/html`); nil without a `Content-Type`.
    var mediaType: String? {
        headers["Content-Type"]?.split(separator: ";").first?.trimmingWhitespace(newlines: false).lowercased()
    }
}
