import Foundation
import GRDB

/// A merchant's URL that receives events, signed with its secret.
public struct WebhookEndpoint: Hashable, Sendable {
    /// `we_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// Absolute http(s).
    public var url: String
    /// Event types it receives, or `["*"]` for all.
    public var enabledEvents: [String]
    /// The merchant's note.
    public var description: String?
    /// `whsec_…`: signs every delivery.
    public let secret: String
    /// Whether it receives events.
    public var enabled: Bool
    /// When it was made.
    public let createdAt: Date

    /// Whether it receives events of `type`.
    public func listens(to type: String) -> Bool {
        enabledEvents.contains("*") || enabledEvents.contains(type)
    }
}

/// A webhook endpoint as asked for.
public struct WebhookEndpointDraft: Sendable {
    /// `url`: absolute http(s).
    public var url: String
    /// `enabled_events`: types, or `"*"`.
    public var enabledEvents: [String]
    /// `description`, ≤ 500 characters.
    public var description: String?

    /// A draft.
    public init(url: String, enabledEvents: [String], description: String? = nil) {
        self.url = url
        self.enabledEvents = enabledEvents
        self.description = description
    }
}

extension WebhookEndpoint {
    /// Longest description.
    public static let maximumDescriptionLength = 500

    static func validEvents(_ events: [String]) throws -> [String] {
        guard !events.isEmpty else { throw BillingError.invalid("enabled_events", "enabled_events needs at least one type, or \"*\".") }
        for (index, type) in events.enumerated() where type != "*" && Event.Kind(rawValue: type) == nil {
            throw BillingError.invalid("enabled_events[\(index)]",
                                       "'\(type)' is not an event type; use \"*\" or one of \(Event.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        return Array(Set(events)).sorted()
    }

    /// A signing secret: `given` when it has the shape of a generated one (`whsec_` and 16 to 128
    /// letters and digits), 32 random characters after `whsec_` otherwise.
    static func secret(given: String?) throws -> String {
        guard let given else { return "whsec_" + Identifier.random(32) }
        let rest = given.utf8.dropFirst(6)
        guard given.hasPrefix("whsec_"), Identifier.isRandomPart(rest, length: 16...128) else {
            throw BillingError.invalid("secret", "secret must be 'whsec_' followed by 16 to 128 letters and digits.")
        }
        return given
    }

    static func validURL(_ url: String) throws -> String {
        guard RedirectURL.isValid(url) else { throw BillingError.invalid("url", "url must be an absolute http or https URL.") }
        return url
    }
}

extension Ledger {
    /// Stores a new endpoint with a fresh secret (or the given one).
    public func createWebhookEndpoint(_ draft: WebhookEndpointDraft, in scope: Scope, now: Date,
                                      identity: GivenIdentity = .generated) throws -> WebhookEndpoint {
        if let description = draft.description, description.codePointCount > WebhookEndpoint.maximumDescriptionLength {
            throw BillingError.invalid("description", "description can be at most \(WebhookEndpoint.maximumDescriptionLength) characters.")
        }
        let endpoint = WebhookEndpoint(
            id: try newIdentifier(identity.id, prefix: "we", table: "webhook_endpoint"), scope: scope, url: try WebhookEndpoint.validURL(draft.url),
            enabledEvents: try WebhookEndpoint.validEvents(draft.enabledEvents), description: draft.description,
            secret: try WebhookEndpoint.secret(given: identity.secret), enabled: true, createdAt: now.truncatedToSeconds)
        try execute("""
            INSERT INTO webhook_endpoint (id, organization_id, livemode, url, enabled_events, description, secret, status,
                                          created_at, delivered_through)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'enabled', ?, (SELECT COALESCE(MAX(seq), 0) FROM event))
            """, arguments: [endpoint.id, scope.organizationID, scope.livemode, endpoint.url,
                             endpoint.enabledEvents.joined(separator: ","), endpoint.description, endpoint.secret,
                             endpoint.createdAt.unixSeconds])
        return endpoint
    }

    /// The endpoint `id` of `scope` (not deleted).
    public func webhookEndpoint(id: String, in scope: Scope) throws -> WebhookEndpoint {
        guard let endpoint = try fetchRow("SELECT * FROM webhook_endpoint WHERE id = ? AND organization_id = ? AND livemode = ? AND deleted = 0",
                                          arguments: [id, scope.organizationID, scope.livemode], WebhookEndpoint.init(row:))
        else { throw BillingError.notFound("webhook endpoint", id) }
        return endpoint
    }

    /// Endpoints of `scope`, newest first.
    public func webhookEndpoints(in scope: Scope, _ request: PageRequest) throws -> Page<WebhookEndpoint> {
        try page(of: "webhook_endpoint", in: scope, request, filter: ("deleted = 0", []), decode: WebhookEndpoint.init(row:))
    }

    /// Enabled endpoints of `scope` that receive `type`.
    func webhookEndpoints(in scope: Scope, listeningTo type: String) throws -> [WebhookEndpoint] {
        try fetchRows("SELECT * FROM webhook_endpoint WHERE organization_id = ? AND livemode = ? AND status = 'enabled' AND deleted = 0",
                      arguments: [scope.organizationID, scope.livemode], WebhookEndpoint.init(row:))
            .filter { $0.listens(to: type) }
    }

    /// Changes `url`, `enabled_events`, `description` or `disabled`.
    public func updateWebhookEndpoint(id: String, in scope: Scope, url: String?, enabledEvents: [String]?,
                                      description: String??, disabled: Bool?) throws -> WebhookEndpoint {
        var endpoint = try webhookEndpoint(id: id, in: scope)
        if let url { endpoint.url = try WebhookEndpoint.validURL(url) }
        if let enabledEvents { endpoint.enabledEvents = try WebhookEndpoint.validEvents(enabledEvents) }
        if let description {
            if let text = description, text.codePointCount > WebhookEndpoint.maximumDescriptionLength {
                throw BillingError.invalid("description", "description can be at most \(WebhookEndpoint.maximumDescriptionLength) characters.")
            }
            endpoint.description = description
        }
        let reenabled = disabled == false && !endpoint.enabled
        if let disabled { endpoint.enabled = !disabled }
        try execute("UPDATE webhook_endpoint SET url = ?, enabled_events = ?, description = ?, status = ? WHERE id = ?",
                    arguments: [endpoint.url, endpoint.enabledEvents.joined(separator: ","), endpoint.description,
                                endpoint.enabled ? "enabled" : "disabled", endpoint.id])
        if reenabled {
            // A disabled endpoint receives nothing: it starts again from the events after now.
            try execute("UPDATE webhook_endpoint SET delivered_through = (SELECT COALESCE(MAX(seq), 0) FROM event) WHERE id = ?",
                        arguments: [endpoint.id])
        }
        return endpoint
    }

    /// Deletes an endpoint: it receives nothing more, and its pending deliveries are dropped.
    public func deleteWebhookEndpoint(id: String, in scope: Scope) throws {
        let endpoint = try webhookEndpoint(id: id, in: scope)
        try execute("UPDATE webhook_endpoint SET deleted = 1, status = 'disabled' WHERE id = ?", arguments: [endpoint.id])
        try execute("UPDATE webhook_delivery SET status = 'failed', completed_at = created_at WHERE endpoint_id = ? AND status = 'pending'",
                    arguments: [endpoint.id])
    }
}

extension WebhookEndpoint {
    init(row: Row) {
        let events: String = row["enabled_events"]
        self.init(id: row["id"], scope: row.scope, url: row["url"], enabledEvents: events.split(separator: ",").map(String.init),
                  description: row["description"], secret: row["secret"], enabled: row["status"] == "enabled",
                  createdAt: Date(unixSeconds: row["created_at"]))
    }
}
