import Billing
import Foundation
import Synchronization

/// Rendered link pages, reused while nothing was written and nothing they show has expired.
///
/// A link page is the same bytes for every visitor within an hour (its form token changes hourly),
/// so rendering it once per hour instead of once per visit is what lets a link shared to thousands
/// of people be served at nginx's pace. An entry is valid while the store's write generation is
/// the one it was rendered at (any committed write, by anyone in this process, invalidates all) and
/// `now` is before its `validUntil` (the next token rotation or the link's expiry).
final class PageCache: Sendable {
    private struct Entry {
        let response: Response
        let scope: Scope
        let generation: UInt64
        let validUntil: Date
    }

    /// Entries kept at most; past this the cache starts over (pages are cheap to render again).
    static let capacity = 4096

    private let entries = Mutex<[String: Entry]>([:])

    /// The cached response for `path`, if still valid. An entry whose organization has since set a
    /// test clock is not: its page shows availability at another time.
    func response(for path: String, generation: UInt64, time: BillingTime) -> Response? {
        entries.withLock { entries in
            guard let entry = entries[path] else { return nil }
            guard entry.generation == generation, time.wall.now() < entry.validUntil, !time.isAdjusted(entry.scope) else {
                entries[path] = nil
                return nil
            }
            return entry.response
        }
    }

    /// Keeps `response` for `path`. `generation` must have been read before the data was.
    func store(_ response: Response, for path: String, scope: Scope, generation: UInt64, validUntil: Date) {
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[path] = Entry(response: response, scope: scope, generation: generation, validUntil: validUntil)
        }
    }
}
