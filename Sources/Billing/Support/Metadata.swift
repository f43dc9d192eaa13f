/// Merchant-supplied key-value pairs attached to an object. The limits are the strictest any seed
/// states (the checkout-links reference): at most 50 keys, keys up to 40 characters, values up to
/// 500 characters, all strings.
public struct Metadata: Hashable, Sendable {
    /// Most keys one object may carry.
    public static let maximumKeys = 50
    /// Longest key, in characters.
    public static let maximumKeyLength = 40
    /// Longest value, in characters.
    public static let maximumValueLength = 500

    /// The pairs, keyed by the merchant's names.
    public private(set) var values: [String: String]

    /// No pairs.
    public static let empty = Metadata(validated: [:])

    /// Checks the limits; `param` names the request field in errors (`metadata`, `metadata[k]`).
    public init(_ values: [String: String], param: String = "metadata") throws(BillingError) {
        guard values.count <= Self.maximumKeys else {
            throw BillingError.invalid(param, "Metadata can have at most \(Self.maximumKeys) keys.")
        }
        for (key, value) in values {
            guard !key.isEmpty, key.codePointCount <= Self.maximumKeyLength else {
                throw BillingError.invalid("\(param)[\(key)]", "Metadata keys must be 1 to \(Self.maximumKeyLength) characters.")
            }
            guard value.codePointCount <= Self.maximumValueLength else {
                throw BillingError.invalid("\(param)[\(key)]", "Metadata values can be at most \(Self.maximumValueLength) characters.")
            }
        }
        self.values = values
    }

    init(validated values: [String: String]) {
        self.values = values
    }
}
