import GRDB

extension Row {
    /// The scope of a row that has `organization_id` and `livemode` columns.
    var scope: Scope {
        Scope(organizationID: self["organization_id"], mode: self["livemode"] ? .live : .test)
    }

    /// The money of a row: `amountColumn` minor units of the `currency` column's currency. A code
    /// this build does not know means the file was written by something else: `invalidState`.
    func money(_ amountColumn: String) throws -> Money {
        Money(minorUnits: self[amountColumn], currency: try currency())
    }

    /// The `currency` column's currency.
    func currency() throws -> Currency {
        let code: String = self["currency"]
        guard let currency = Currency(code: code) else {
            throw BillingError(.invalidState, "A stored amount has the unknown currency '\(code)'.")
        }
        return currency
    }
}
