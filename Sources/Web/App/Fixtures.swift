import Billing
import Foundation
import Yams

/// A fixture file (JSON, or YAML when it ends in `.yaml`/`.yml`): organizations and their objects, created when the server starts, so that a
/// merchant's end-to-end test can hard-code keys, ids, slugs, tokens and webhook secrets.
///
/// ```json
/// {"organizations": [{
///     "handle": "acme", "name": "Acme", "test_key": "sk_test_…",
///     "plans": [{"id": "plan_…", "name": "Pro", "amount": 150000, "currency": "NGN", "interval": "month"}],
///     "payment_links": [{"id": "pl_…", "planId": "plan_…", "slug": "pro"}],
///     "webhook_endpoints": [{"id": "we_…", "url": "http://127.0.0.1:9000/hooks", "enabled_events": ["*"], "secret": "whsec_…"}]
/// }]}
/// ```
///
/// Each object has the fields its API create request takes, read by the same code, plus `id` (and
/// `token` for sessions, `secret` for webhook endpoints) and `livemode` (default false). Objects
/// are created in the order plans, prices, promo codes, payment links, checkout links, checkout
/// sessions, webhook endpoints, so later kinds may name earlier ones. Everything is created in one
/// transaction: a file with one fault creates nothing, and the fault is reported with the file,
/// the path inside it and the problem.
enum Fixtures {
    /// Creates one object from its entry with the endpoint's own reading of the fields.
    typealias Creator = @Sendable (_ object: Body, _ identity: GivenIdentity, _ ledger: Ledger, _ scope: Scope, _ now: Date) throws -> Void

    /// The lists an organization may hold, in creation order, each with how its objects are made.
    static let kinds: [(name: String, create: Creator)] = [
        ("plans", { object, identity, ledger, scope, now in
            _ = try ledger.createPlan(PlansEndpoints.draft(object), in: scope, now: now, identity: identity)
        }),
        ("prices", { object, identity, ledger, scope, now in
            _ = try ledger.createPrice(CheckoutLinksEndpoints.priceDraft(object), in: scope, now: now, identity: identity)
        }),
        ("promo_codes", { object, identity, ledger, scope, now in
            _ = try ledger.createPromoCode(PromoCodesEndpoints.draft(object), in: scope, now: now, identity: identity)
        }),
        ("payment_links", { object, identity, ledger, scope, now in
            _ = try PaymentLinksEndpoints.create(PaymentLinksEndpoints.draft(object), in: ledger, scope: scope, now: now,
                                                 identity: identity)
        }),
        ("checkout_links", { object, identity, ledger, scope, now in
            _ = try ledger.createCheckoutLink(CheckoutLinksEndpoints.draft(object), in: scope, now: now, identity: identity)
        }),
        ("checkout_sessions", { object, identity, ledger, scope, now in
            _ = try ledger.createSession(CheckoutSessionsEndpoints.draft(object), in: scope, now: now, identity: identity)
        }),
        ("webhook_endpoints", { object, identity, ledger, scope, now in
            _ = try ledger.createWebhookEndpoint(EventsEndpoints.endpointDraft(object), in: scope, now: now, identity: identity)
        }),
    ]
    /// The fields of an organization entry.
    static let organizationFields = ["handle", "name", "test_key", "live_key", "processors"] + kinds.map(\.name)

    /// Reads `file` and creates everything it holds in `store`, at `now`, all or nothing.
    static func load(file: String, into store: Store, secrets: SecretBox, now: Date) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ServerError(description: "fixtures file '\(file)': cannot be read (\(error.localizedDescription))")
        }
        let root: JSON
        if file.hasSuffix(".yaml") || file.hasSuffix(".yml") {
            do {
                root = try YAMLFixture.json(String(decoding: data, as: UTF8.self))
            } catch {
                throw ServerError(description: "fixtures file '\(file)': not valid YAML (\(error))")
            }
        } else {
            do {
                root = try JSONParser.parse(Array(data))
            } catch {
                throw ServerError(description: "fixtures file '\(file)': not valid JSON (\(error))")
            }
        }
        do {
            try store.write { ledger in try create(root, in: ledger, secrets: secrets, now: now) }
        } catch let fault as Fault {
            throw ServerError(description: "fixtures file '\(file)': at \(fault.path): \(fault.problem)")
        }
    }

    /// A fault in the file: where and what.
    private struct Fault: Error {
        let path: String
        let problem: String
    }

    private static func create(_ root: JSON, in ledger: Ledger, secrets: SecretBox, now: Date) throws {
        guard case .object(let pairs) = root else { throw Fault(path: "(top level)", problem: "must be an object with an \"organizations\" array.") }
        let top = Body(fields: Dictionary(pairs, uniquingKeysWith: { first, _ in first }))
        try rejectUnknownFields(of: top, allowed: ["organizations"], at: "(top level)")
        let organizations = try fault(at: "organizations") { try top.objects("organizations") }
        guard let organizations, !organizations.isEmpty else {
            throw Fault(path: "organizations", problem: "must be a non-empty array of organizations.")
        }
        for (index, entry) in organizations.enumerated() {
            try createOrganization(entry, path: "organizations[\(index)]", in: ledger, secrets: secrets, now: now)
        }
    }

    private static func createOrganization(_ entry: Body, path: String, in ledger: Ledger, secrets: SecretBox, now: Date) throws {
        try rejectUnknownFields(of: entry, allowed: organizationFields, at: path)
        let created = try fault(at: path) {
            try ledger.createOrganization(
                handle: try entry.requiredString("handle"), name: try entry.string("name"), now: now,
                testKey: try entry.string("test_key"), liveKey: try entry.string("live_key"))
        }
        let organization = created.organization
        try connectProcessors(entry, handle: organization.handle, path: path, in: ledger, secrets: secrets, now: now)
        for kind in kinds {
            guard let objects = try fault(at: path, { try entry.objects(kind.name) }) else { continue }
            for object in objects {
                try fault(at: object.prefix) {
                    let scope = Scope(organizationID: organization.id, mode: try object.bool("livemode") == true ? .live : .test)
                    let identity = GivenIdentity(id: try object.string("id"), token: try object.string("token"),
                                                 secret: try object.string("secret"))
                    try kind.create(object, identity, ledger, scope, now)
                }
            }
        }
    }

    /// `"processors": {"live": {"stripe": {"secret_key": "sk_…", "api_base": "…"}}, "test": …}`:
    /// the Stripe account of each mode, its key sealed with the master key as `org processor` does.
    private static func connectProcessors(_ entry: Body, handle: String, path: String, in ledger: Ledger,
                                          secrets: SecretBox, now: Date) throws {
        guard let processors = try fault(at: path, { try entry.object("processors") }) else { return }
        try rejectUnknownFields(of: processors, allowed: Mode.allCases.map(\.rawValue), at: processors.prefix)
        for mode in Mode.allCases {
            guard let account = try fault(at: processors.prefix, { try processors.object(mode.rawValue) }) else { continue }
            try rejectUnknownFields(of: account, allowed: ["stripe"], at: account.prefix)
            guard let stripe = try fault(at: account.prefix, { try account.object("stripe") }) else { continue }
            try rejectUnknownFields(of: stripe, allowed: ["secret_key", "api_base"], at: stripe.prefix)
            try fault(at: stripe.prefix) {
                let key = try stripe.requiredString("secret_key", maxLength: 255)
                let expected = mode == .live ? "sk_live_" : "sk_test_"
                guard key.hasPrefix(expected) || key.hasPrefix(mode == .live ? "rk_live_" : "rk_test_") else {
                    throw APIError.invalid(stripe.name("secret_key"), "\(stripe.name("secret_key")) must be a \(mode.rawValue) key (\(expected)…).")
                }
                _ = try ledger.connectProcessor(handle: handle, mode: mode, kind: .stripe, sealedSecret: try secrets.seal(key),
                                                apiBase: try stripe.string("api_base") ?? ProcessorAccount.stripeAPIBase, now: now)
            }
        }
    }

    /// Runs `body`, turning the API's and the domain's errors into a `Fault` at `path`: field
    /// errors carry the request-wide name of their field, domain errors a name relative to the
    /// object at `path`.
    @discardableResult
    private static func fault<T>(at path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as Fault {
            throw error
        } catch let error as APIError {
            throw Fault(path: error.param ?? path, problem: error.message)
        } catch let error as BillingError {
            throw Fault(path: error.param.map { nested($0, in: path) } ?? path, problem: error.message)
        }
    }

    /// `amount` within `organizations[0][plans][1]` is `organizations[0][plans][1][amount]`;
    /// `restrictions[completed_sessions][limit]` keeps its own brackets.
    private static func nested(_ param: String, in path: String) -> String {
        guard let bracket = param.firstIndex(of: "[") else { return "\(path)[\(param)]" }
        return "\(path)[\(param[..<bracket])]\(param[bracket...])"
    }

    private static func rejectUnknownFields(of body: Body, allowed: [String], at path: String) throws {
        if let unknown = body.fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Fault(path: path, problem: "unknown field \"\(unknown)\"; expected \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")).")
        }
    }
}

/// A YAML fixture file read into the same JSON values a JSON file gives, through Yams' composed
/// node tree rather than its `Any` values: numbers keep the exact digits written (`29.99` stays
/// 29.99, never a binary fraction), as the API's JSON numbers do.
enum YAMLFixture {
    /// The document's value; an empty document is an empty object. What the JSON shape cannot
    /// hold (non-string keys, infinities) is refused with its line and column.
    static func json(_ text: String) throws -> JSON {
        guard let root = try Yams.compose(yaml: text) else { return .object([]) }
        return try json(root)
    }

    private static func json(_ node: Node) throws -> JSON {
        let at = node.mark.map { " at line \($0.line), column \($0.column)" } ?? ""
        switch node {
        case .scalar(let scalar):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue:
                return .null
            case Tag.Name.bool.rawValue:
                guard let flag = node.bool else { throw ServerError(description: "'\(scalar.string)'\(at) is not a boolean") }
                return .bool(flag)
            case Tag.Name.int.rawValue:
                guard let integer = node.int else { throw ServerError(description: "'\(scalar.string)'\(at) is not a 64-bit integer") }
                return .int(integer)
            case Tag.Name.float.rawValue:
                // Decimal(string:) reads a valid prefix of anything (".inf" as 0): check the whole first.
                guard scalar.string.wholeMatch(of: /[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/) != nil,
                      let number = Decimal(string: scalar.string, locale: Locale(identifier: "en_US_POSIX")) else {
                    throw ServerError(description: "'\(scalar.string)'\(at) is not a finite decimal number")
                }
                return .number(number)
            default:
                return .string(scalar.string)
            }
        case .mapping(let mapping):
            return .object(try mapping.map { pair in
                guard case .scalar(let key) = pair.key else { throw ServerError(description: "a mapping key\(at) is not a string") }
                return (key.string, try json(pair.value))
            })
        case .sequence(let sequence):
            return .array(try sequence.map(json))
        case .alias:
            throw ServerError(description: "an alias\(at) could not be resolved")
        }
    }
}
