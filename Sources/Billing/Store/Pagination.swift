import GRDB

/// One page of a list, newest first.
public struct Page<Item: Sendable>: Sendable {
    /// The objects of this page.
    public let items: [Item]
    /// Whether older objects remain after the last one.
    public let hasMore: Bool
}

/// How to ask for a page: at most `limit` objects, older than the object `startingAfter` when given.
public struct PageRequest: Sendable {
    /// Default page size.
    public static let defaultLimit = 10
    /// Largest page size allowed.
    public static let maximumLimit = 100

    /// Objects per page (1…100).
    public let limit: Int
    /// Id of the last object of the previous page.
    public let startingAfter: String?

    /// Validates the size; `param` names come from the query string.
    public init(limit: Int = PageRequest.defaultLimit, startingAfter: String? = nil) throws {
        guard (1...Self.maximumLimit).contains(limit) else {
            throw BillingError.invalid("limit", "limit must be between 1 and \(Self.maximumLimit).")
        }
        self.limit = limit
        self.startingAfter = startingAfter
    }
}

extension Ledger {
    /// A page of the objects of `table` in `scope`, newest first. Every listed table has a
    /// monotonically increasing `seq` and `id`, `organization_id`, `livemode` columns; `filter` adds
    /// conditions of the caller's (a fixed SQL fragment with its own arguments).
    func page<Item>(
        of table: String, in scope: Scope, _ request: PageRequest,
        filter: (sql: String, arguments: StatementArguments)? = nil,
        decode: (Row) throws -> Item
    ) throws -> Page<Item> {
        var sql = "SELECT * FROM \(table) WHERE organization_id = ? AND livemode = ?"
        var arguments: StatementArguments = [scope.organizationID, scope.livemode]
        if let filter {
            sql += " AND \(filter.sql)"
            arguments += filter.arguments
        }
        if let cursor = request.startingAfter {
            guard let seq = try fetchValue(Int64.self, "SELECT seq FROM \(table) WHERE id = ? AND organization_id = ? AND livemode = ?",
                                               arguments: [cursor, scope.organizationID, scope.livemode])
            else {
                throw BillingError.invalid("starting_after", "No object with id '\(cursor)' to start after.")
            }
            sql += " AND seq < ?"
            arguments += [seq]
        }
        sql += " ORDER BY seq DESC LIMIT ?"
        arguments += [request.limit + 1]
        let items = try fetchRows(sql, arguments: arguments, decode)
        return Page(items: Array(items.prefix(request.limit)), hasMore: items.count > request.limit)
    }
}
