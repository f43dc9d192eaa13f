import ArgumentParser
import Billing
import Dispatch
import Foundation
import Logging
import Web

/// `checkout serve`: runs the server until SIGINT or SIGTERM.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the API and the hosted pages.")

    @Option(help: "Numeric address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one.")
    var port: UInt16 = 8080

    @Option(help: "SQLite database file, or :memory: for a throwaway one.")
    var db = "./data/checkout.sqlite"

    @Option(name: .customLong("public-url"), help: "Base URL customers reach the pages on (default http://HOST:PORT).")
    var publicURL: String?

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Option(name: .customLong("connection-timeout"), help: "Seconds an idle connection is kept.")
    var connectionTimeout: UInt32 = 30

    @Option(name: .customLong("per-ip-connections"), help: "Connections one client address may hold open.")
    var perIPConnections: UInt32 = 256

    @Option(name: .customLong("max-body"), help: "Largest request body in bytes.")
    var maxBody = 64 * 1024

    @Option(name: .customLong("sweep-interval"), help: "Seconds between passes that expire sessions and links past their time.")
    var sweepInterval: Double = 60

    @Option(name: .customLong("webhook-retry-base"), help: "Seconds before the first webhook retry; doubles after each failure.")
    var webhookRetryBase: Double = 10

    @Option(name: .customLong("webhook-retry-cap"), help: "Longest wait between webhook attempts, in seconds.")
    var webhookRetryCap: Double = 3600

    @Option(name: .customLong("webhook-retry-horizon"), help: "Seconds after an event during which its delivery is retried.")
    var webhookRetryHorizon: Double = 3 * 86400

    @Option(name: .customLong("webhook-timeout"), help: "Seconds a webhook endpoint has to answer 2xx, connecting included.")
    var webhookTimeout: Double = 10

    @Option(name: .customLong("charge-concurrency"), help: "Charges run at once, off the HTTP threads; more wait their turn.")
    var chargeConcurrency = 64

    @Option(name: .customLong("test-processor-latency"), help: "Seconds every test-card charge takes, like a real processor's round trip.")
    var testProcessorLatency: Double = 0

    @Option(name: .customLong("recovery-interval"), help: "Seconds between passes that resolve payments left between charge and settle.")
    var recoveryInterval: Double = 60

    @Option(name: .customLong("master-key-file"), help: "The master key that seals processors' secret keys (default: master.key beside the database; in memory for :memory:).")
    var masterKeyFile: String?

    @Flag(name: .customLong("allow-insecure-live"), help: "Take live payments although the public URL is not https (loopback tests only).")
    var allowInsecureLive = false

    @Option(name: .customLong("stripe-timeout"), help: "Seconds a request to Stripe may take before its answer counts as lost.")
    var stripeTimeout: Double = 30

    @Option(help: "JSON file of organizations (with their keys) and objects to create at start; all or nothing.")
    var fixtures: String?

    @Option(help: "Folder holding Templates/ and Public/.")
    var resources: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Flag(help: "Create a 'demo' organization on first start and print its test key.")
    var demo = false

    func validate() throws {
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be between 1 and 256.") }
        if maxBody < 1024 { throw ValidationError("--max-body must be at least 1024 bytes.") }
        if !(0.1...300).contains(webhookTimeout) { throw ValidationError("--webhook-timeout must be between 0.1 and 300 seconds.") }
        if sweepInterval < 0.05 { throw ValidationError("--sweep-interval must be at least 0.05 seconds.") }
        if !(1...1024).contains(chargeConcurrency) { throw ValidationError("--charge-concurrency must be between 1 and 1024.") }
        if !(0...60).contains(testProcessorLatency) { throw ValidationError("--test-processor-latency must be between 0 and 60 seconds.") }
        if recoveryInterval < 0.05 { throw ValidationError("--recovery-interval must be at least 0.05 seconds.") }
        if !(1...300).contains(stripeTimeout) { throw ValidationError("--stripe-timeout must be between 1 and 300 seconds.") }
        if webhookRetryBase <= 0 || webhookRetryCap < webhookRetryBase || webhookRetryHorizon <= 0 {
            throw ValidationError("webhook retries need 0 < --webhook-retry-base ≤ --webhook-retry-cap and a positive --webhook-retry-horizon.")
        }
        if let publicURL, URL(string: publicURL)?.scheme?.hasPrefix("http") != true {
            throw ValidationError("--public-url must be an absolute http or https URL.")
        }
    }

    func run() throws {
        let logLevel = self.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardOutput(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "checkout")
        var configuration = ApplicationConfiguration()
        configuration.server.host = host
        configuration.server.port = port
        configuration.server.connectionTimeout = connectionTimeout
        configuration.server.perIPConnectionLimit = perIPConnections
        configuration.server.maximumBodySize = maxBody
        if let threads { configuration.server.threads = threads }
        configuration.databasePath = db
        configuration.publicURL = publicURL
        if let resources { configuration.resourcesDirectory = resources }
        configuration.fixturesFile = fixtures
        configuration.sweepInterval = sweepInterval
        configuration.chargeConcurrency = chargeConcurrency
        configuration.testProcessorLatency = testProcessorLatency
        configuration.recoveryInterval = recoveryInterval
        configuration.masterKeyFile = masterKeyFile
        configuration.allowInsecureLive = allowInsecureLive
        configuration.stripeTimeout = stripeTimeout
        configuration.webhookTimeout = webhookTimeout
        configuration.webhookRetry = RetryPolicy(base: webhookRetryBase, cap: webhookRetryCap, horizon: webhookRetryHorizon)

        // Signals are taken from the default handlers before the server starts, so that a SIGTERM
        // arriving during start-up still ends in a graceful stop.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let stopRequested = DispatchSemaphore(value: 0)
        let sources = [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { stopRequested.signal() }
            source.resume()
            return source
        }

        let application = try Application(configuration: configuration, logger: logger)
        let url = try application.start()
        say("listening on \(url)")
        if demo { try DemoOrganization.ensure(in: application) }
        stopRequested.wait()
        logger.info("stopping: finishing requests in flight")
        application.stop()
        sources.forEach { $0.cancel() }
        logger.info("stopped")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// The demo organization `make run` creates on a new database.
enum DemoOrganization {
    static func ensure(in application: Application) throws {
        let store = application.store
        if try store.read({ try $0.organization(handle: "demo") }) != nil {
            say("demo organization exists; its test key was printed when it was created (new one: checkout keys roll demo --mode test --db \(store.path))")
            return
        }
        let created = try store.write { try $0.createOrganization(handle: "demo", name: "Demo Store", now: Date()) }
        let plan = try store.write { ledger in
            try ledger.createPlan(PlanDraft(name: "Pro plan", amount: 150_000, currency: "NGN", interval: "month",
                                            description: "Everything in Pro, billed monthly."),
                                  in: Scope(organizationID: created.organization.id, mode: .test), now: Date())
        }
        say("demo organization created")
        say("  test key: \(created.testKey.secret)")
        say("  sample plan: \(plan.id)")
        say("  try: curl -s \(application.publicURL)/v1/plans -H 'Authorization: Bearer \(created.testKey.secret)'")
    }
}

/// Writes a line to standard output at once, unbuffered, so a process reading the pipe (a test,
/// `make run`) sees it immediately.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
