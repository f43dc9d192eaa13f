import ArgumentParser
import Billing
import Foundation

/// `checkout org create`: a new organization and its first keys.
struct Org: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage organizations.", subcommands: [Create.self])

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
