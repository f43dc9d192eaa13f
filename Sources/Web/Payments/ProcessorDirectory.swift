import Billing
import Foundation
import Logging

/// Which processor charges for each organization and mode, looked up at every payment: the
/// Stripe account its operator connected (`checkout org processor`), else the test cards in test
/// mode and a refusal in live mode. Live payments are also refused while the public URL is not
/// `https://` (card numbers must not cross a network in clear), unless the operator allowed it
/// for loopback tests (`--allow-insecure-live`).
final class ProcessorDirectory: PaymentProcessorDirectory {
    private let store: Store
    private let testCards: any PaymentProcessor
    private let live: (any PaymentProcessor)?
    private let secrets: SecretBox
    private let publicURL: PublicURL
    private let allowInsecureLive: Bool
    private let stripe: StripeClient
    private let logger: Logger

    init(store: Store, testCards: any PaymentProcessor, live: (any PaymentProcessor)?, secrets: SecretBox, publicURL: PublicURL,
         allowInsecureLive: Bool, stripeTimeout: TimeInterval, logger: Logger) {
        self.store = store
        self.testCards = testCards
        self.live = live
        self.secrets = secrets
        self.publicURL = publicURL
        self.allowInsecureLive = allowInsecureLive
        self.stripe = StripeClient(timeout: stripeTimeout)
        self.logger = logger
    }

    /// The refusal of live payments over plain http.
    static let insecure = Decline(code: "live_payments_insecure",
                                  message: "This checkout is not served over a secure connection, so it cannot take live payments. You have not been charged.")

    func processor(for scope: Scope) -> any PaymentProcessor {
        do {
            return try store.read { ledger in processor(for: scope, in: ledger) }
        } catch {
            logger.error("reading a processor account failed", metadata: ["organization": "\(scope.organizationID)", "error": "\(error)"])
            return Self.broken
        }
    }

    func processor(for scope: Scope, in ledger: Ledger) -> any PaymentProcessor {
        let connected = account(for: scope, in: ledger)
        if scope.mode == .live {
            guard connected != nil || live != nil else { return UnavailableProcessor() }
            guard allowInsecureLive || publicURL.value.lowercased().hasPrefix("https://") else {
                return UnavailableProcessor(decline: Self.insecure)
            }
        }
        if let connected { return connected }
        return scope.mode == .test ? testCards : (live ?? UnavailableProcessor())
    }

    func processor(named name: String, for scope: Scope) -> (any PaymentProcessor)? {
        let current = processor(for: scope)
        if current.name == name { return current }
        switch name {
        case "stripe":
            do {
                return try store.read { ledger in account(for: scope, in: ledger) }
            } catch {
                return Self.broken
            }
        case testCards.name where scope.mode == .test: return testCards
        case live?.name where scope.mode == .live: return live
        case "none": return UnavailableProcessor()
        default: return nil
        }
    }

    /// What a connected account that cannot be used answers: it refuses payments rather than
    /// fall back to another processor.
    private static let broken = UnavailableProcessor(decline: Decline(
        code: "processor_unavailable", message: "This merchant's payment processor cannot be reached right now. You have not been charged."))

    /// The Stripe processor of the account connected for `scope`, if any, read in `ledger`.
    /// A connected account that cannot be used (its database row unreadable, its key sealed with
    /// another master key) refuses payments.
    private func account(for scope: Scope, in ledger: Ledger) -> (any PaymentProcessor)? {
        let found: ProcessorAccount?
        do {
            found = try ledger.processorAccount(in: scope)
        } catch {
            logger.error("reading a processor account failed", metadata: ["organization": "\(scope.organizationID)", "error": "\(error)"])
            return Self.broken
        }
        guard let account = found else { return nil }
        do {
            return StripeProcessor(secretKey: try secrets.open(account.sealedSecret), apiBase: account.apiBase, client: stripe,
                                   logger: logger)
        } catch {
            logger.error("a processor's secret key cannot be opened", metadata: ["organization": "\(scope.organizationID)", "error": "\(error)"])
            return Self.broken
        }
    }
}
