import ArgumentParser
import Billing
import Foundation

/// `checkout org create`: a new organization and its first keys.
struct Org: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organizations.", subcommands: [Create.self, Processor.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an organization; prints {\"id\",\"handle\",\"test_key\",\"live_key\"} as JSON. The keys are shown only now.")

        @Argument(help: "Unique handle: lowercase letters, digits and single hyphens.")
        var handle: String

        @Option(help: "Display name shown to customers (default: the handle).")
        var name: String?

        @Option(help: "SQLite database file.")
        var db = "./data/checkout.sqlite"

        func run() throws {
            let store = try Store(path: db)
            defer { try? store.close() }
            let created = try store.write { try $0.createOrganization(handle: handle, name: name, now: Date()) }
            try printJSON([
                "id": created.organization.id,
                "handle": created.organization.handle,
                "test_key": created.testKey.secret,
                "live_key": created.liveKey.secret,
            ])
        }
    }
}

extension Org {
    /// `checkout org processor`: connect Stripe for an organization and mode, or disconnect it.
    struct Processor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Connect a payment processor (Stripe) for an organization and mode, or disconnect it (--none). A running server uses it from its next payment.")

        @Argument(help: "The organization's handle.")
        var handle: String

        @Option(help: "test or live.")
        var mode: Mode

        @Flag(name: .customLong("stripe-secret-key-stdin"), help: "Read the Stripe secret key (sk_… or rk_…) from standard input.")
        var stripeSecretKeyStdin = false

        @Option(name: .customLong("stripe-api-base"), help: "Stripe's API base URL (default https://api.stripe.com; a local fake in tests).")
        var stripeAPIBase = ProcessorAccount.stripeAPIBase

        @Flag(help: "Disconnect the processor of this mode.")
        var none = false

        @Option(name: .customLong("master-key-file"), help: "The master key file (default: master.key beside the database).")
        var masterKeyFile: String?

        @Option(help: "SQLite database file.")
        var db = "./data/checkout.sqlite"

        func validate() throws {
            guard stripeSecretKeyStdin != none else {
                throw ValidationError("Give exactly one of --stripe-secret-key-stdin and --none.")
            }
            guard db != ":memory:" else { throw ValidationError("--db must be a database file.") }
        }

        func run() throws {
            let store = try Store(path: db)
            defer { try? store.close() }
            if none {
                let removed = try store.write { try $0.disconnectProcessor(handle: handle, mode: mode) }
                try printJSON(["handle": handle, "mode": mode.rawValue, "processor": "none",
                               "was_connected": removed ? "true" : "false"])
                return
            }
            // The key is read from standard input, never from the command line, where it would
            // stay in the shell's history and in every process listing.
            guard let line = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces), !line.isEmpty else {
                throw ValidationError("No Stripe secret key on standard input.")
            }
            let prefixes = mode == .live ? ["sk_live_", "rk_live_"] : ["sk_test_", "rk_test_"]
            guard prefixes.contains(where: line.hasPrefix) else {
                throw ValidationError("A \(mode.rawValue) Stripe secret key starts with \(prefixes.joined(separator: " or ")).")
            }
            let secrets = try SecretBox.masterKey(at: masterKeyFile ?? SecretBox.defaultPath(forDatabase: db))
            let account = try store.write { ledger in
                try ledger.connectProcessor(handle: handle, mode: mode, kind: .stripe, sealedSecret: try secrets.seal(line),
                                            apiBase: stripeAPIBase, now: Date())
            }
            try printJSON(["handle": handle, "mode": mode.rawValue, "processor": account.kind.rawValue,
                           "api_base": account.apiBase, "secret_key": "sk_…" + String(line.suffix(4))])
        }
    }
}

/// `checkout keys roll`: replace a mode's key, revoking the old one at once.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API keys.", subcommands: [Roll.self])

    struct Roll: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a new secret key for a mode and revoke the previous one; prints the new key as JSON.")

        @Argument(help: "The organization's handle.")
        var handle: String

        @Option(help: "test or live.")
        var mode: Mode

        @Option(help: "SQLite database file.")
        var db = "./data/checkout.sqlite"

        func run() throws {
            let store = try Store(path: db)
            defer { try? store.close() }
            let key = try store.write { try $0.rollKey(handle: handle, mode: mode, now: Date()) }
            try printJSON(["handle": handle, "mode": key.mode.rawValue, "key": key.secret])
        }
    }
}

extension Mode: ExpressibleByArgument {}

func printJSON(_ object: [String: String]) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(object), as: UTF8.self))
}

extension BillingError: LocalizedError {
    public var errorDescription: String? { message }
}
