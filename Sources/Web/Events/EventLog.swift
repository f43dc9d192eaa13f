import Billing
import Foundation

/// Writes the events of the API's changes, in the transaction of the change. Each event carries the
/// resource as the API shows it at that moment: `{id, object: "event", type, created, livemode,
/// data: {object, reason?}}`.
enum EventLog {
    /// Records one event.
    static func record(_ kind: Event.Kind, object: JSON, reason: String? = nil, scope: Scope, in ledger: Ledger,
                       now: Date) throws {
        try ledger.recordEvent(kind, in: scope, now: now) { id, created in
            var data: [(String, JSON)] = [("object", object)]
            if let reason { data.append(("reason", .string(reason))) }
            return JSON.object([
                ("id", .string(id)),
                ("object", .string("event")),
                ("type", .string(kind.rawValue)),
                ("created", .int(created.unixSeconds)),
                ("livemode", .bool(scope.livemode)),
                ("data", .object(data)),
            ]).serialized()
        }
    }

    /// The events of a completion: the session, and whatever else it started, sold out or used up.
    static func completion(_ session: CheckoutSession, _ effects: CompletionEffects, _ representation: Representation,
                           in ledger: Ledger, now: Date) throws {
        try record(.checkoutSessionCompleted, object: CheckoutSessionsEndpoints.json(session, representation),
                   scope: session.scope, in: ledger, now: now)
        if let subscription = effects.subscription {
            try record(.subscriptionCreated, object: RecordsEndpoints.json(subscription), scope: session.scope, in: ledger, now: now)
        }
        if let link = effects.deactivatedCheckoutLink {
            try record(.checkoutLinkDeactivated, object: CheckoutLinksEndpoints.json(link, publicURL: representation.publicURL),
                       reason: "limit_reached", scope: session.scope, in: ledger, now: now)
        }
        if let promo = effects.exhaustedPromoCode {
            try record(.promoCodeExhausted, object: PromoCodesEndpoints.json(promo), scope: session.scope, in: ledger, now: now)
        }
    }

    /// The events of an expiry sweep.
    static func expiries(_ expired: ExpiredObjects, publicURL: String, in ledger: Ledger, now: Date) throws {
        let representation = Representation(publicURL: publicURL, now: now, handle: "")
        for session in expired.sessions {
            try record(.checkoutSessionExpired, object: CheckoutSessionsEndpoints.json(session, representation),
                       scope: session.scope, in: ledger, now: now)
        }
        for link in expired.paymentLinks {
            let handle = try ledger.organization(id: link.scope.organizationID)?.handle ?? ""
            try record(.paymentLinkDeactivated, object: PaymentLinksEndpoints.json(link, Representation(publicURL: publicURL, now: now, handle: handle)), reason: "expired",
                       scope: link.scope, in: ledger, now: now)
        }
    }
}
