import Foundation
import GRDB

/// Something that happened that a merchant may want to know: written in the same transaction as the
/// change itself (an outbox), so an event exists exactly when its change does.
public struct Event: Sendable {
    /// The kinds of event.
    public enum Kind: String, Sendable, CaseIterable {
        case checkoutSessionCompleted = "checkout.session.completed"
        case checkoutSessionExpired = "checkout.session.expired"
        case paymentLinkDeactivated = "payment_link.deactivated"
        case checkoutLinkDeactivated = "checkout_link.deactivated"
        case promoCodeExhausted = "promo_code.exhausted"
        case subscriptionCreated = "subscription.created"
        case refundCreated = "refund.created"
        case refundFailed = "refund.failed"
    }

    /// `evt_…`
    public let id: String
    /// The scope it belongs to.
    public let scope: Scope
    /// What happened.
    public let type: String
    /// When.
    public let createdAt: Date
    /// The whole event as delivered and listed (JSON), rendered once when it was recorded.
    public let body: [UInt8]
}

extension Ledger {
    /// Records an event. `render` makes the event's JSON from its id and time (the resource as the
    /// API shows it at this moment). Webhook deliveries are not written here: the event log itself
    /// is the outbox, and the dispatcher claims new events for each endpoint (`claimNewEvents`), so a
    /// payment's transaction carries no per-endpoint rows.
    @discardableResult
    public func recordEvent(_ kind: Event.Kind, in scope: Scope, now: Date,
                            render: (_ id: String, _ created: Date) -> [UInt8]) throws -> Event {
        let created = now.truncatedToSeconds
        let id = Identifier.make("evt")
        let event = Event(id: id, scope: scope, type: kind.rawValue, createdAt: created, body: render(id, created))
        try execute("INSERT INTO event (id, organization_id, livemode, type, created_at, body) VALUES (?, ?, ?, ?, ?, ?)",
                    arguments: [id, scope.organizationID, scope.livemode, kind.rawValue, created.unixSeconds, Data(event.body)])
        return event
    }

    /// The event `id` of `scope`.
    public func event(id: String, in scope: Scope) throws -> Event {
        try scopedRow(in: "event", id: id, scope: scope, kind: "event") { Event(row: $0) }
    }

    /// Events of `scope`, newest first, of one type when `type` is given.
    public func events(in scope: Scope, type: String?, _ request: PageRequest) throws -> Page<Event> {
        try page(of: "event", in: scope, request, filter: type.map { ("type = ?", [$0]) }, decode: Event.init(row:))
    }
}

extension Event {
    init(row: Row) {
        self.init(id: row["id"], scope: row.scope, type: row["type"], createdAt: Date(unixSeconds: row["created_at"]),
                  body: [UInt8](row["body"] as Data))
    }
}
