import Foundation

/// What a browser does with a hosted page, without a browser: fetch the page, read its form,
/// submit fields by their documented names.
struct FormPage {
    let response: HTTPResponse

    /// The hidden `csrf_token` of the page's form.
    var csrfToken: String? { value(ofInput: "csrf_token") }

    /// The `value` attribute of the input named `name`.
    func value(ofInput name: String) -> String? {
        let html = response.text
        guard let start = html.range(of: "name=\"\(name)\"") else { return nil }
        let tagStart = html[..<start.lowerBound].lastIndex(of: "<") ?? start.lowerBound
        let tagEnd = html[start.upperBound...].firstIndex(of: ">") ?? html.endIndex
        let tag = html[tagStart..<tagEnd]
        guard let valueStart = tag.range(of: "value=\"") else { return nil }
        let rest = tag[valueStart.upperBound...]
        return String(rest[..<(rest.firstIndex(of: "\"") ?? rest.endIndex)])
    }

    /// Texts of every element with `class="field-error"`.
    var fieldErrors: [String] { texts(after: "class=\"field-error\"") }

    /// Text of the `role="alert"` box.
    var alert: String? { texts(after: "role=\"alert\"").first }

    private func texts(after marker: String) -> [String] {
        var result: [String] = []
        var rest = response.text[...]
        while let found = rest.range(of: marker) {
            let afterTag = rest[found.upperBound...].drop { $0 != ">" }.dropFirst()
            result.append(String(afterTag.prefix { $0 != "<" }))
            rest = afterTag
        }
        return result
    }
}

extension TestServer {
    /// Opens a page as a browser does.
    func open(_ path: String) throws -> FormPage {
        FormPage(response: try request("GET", path))
    }

    /// Submits the form at `path` with `fields` (a fresh page load supplies the token unless one is given).
    func submit(_ path: String, _ fields: [String: String], token: String? = nil) throws -> HTTPResponse {
        var all = fields
        if all["csrf_token"] == nil {
            all["csrf_token"] = try token ?? open(path).csrfToken ?? ""
        }
        let body = all.map { "\(Self.formEncode($0.key))=\(Self.formEncode($0.value))" }.joined(separator: "&")
        return try request("POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8))
    }

    /// The fields of a customer paying with `card`.
    static func payment(card: String = "4242 4242 4242 4242", email: String = "ada@example.com",
                        name: String = "Ada Lovelace", expiry: String = "12/39", cvc: String = "123") -> [String: String] {
        ["email": email, "name": name, "card_number": card, "card_expiry": expiry, "card_cvc": cvc]
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text).replacingOccurrences(of: "%20", with: "+")
    }

    /// Creates an object through the API and returns its JSON, failing on anything but 201.
    func create(_ path: String, _ json: String, key: String? = nil) throws -> [String: Any] {
        let response = try api("POST", path, key: key, json: json)
        guard response.status == 201 else { throw TestFailure("POST \(path) → \(response.status): \(response.text)") }
        return response.json
    }

    /// A recurring NGN plan.
    func monthlyPlan(amount: Int = 150_000, key: String? = nil) throws -> String {
        try create("/v1/plans", #"{"name":"Pro","amount":\#(amount),"interval":"month","description":"All features"}"#, key: key)["id"] as! String
    }

    /// The path part of an absolute URL the API returned.
    func path(of url: Any?) -> String {
        String((url as? String ?? "").dropFirst(self.url.count))
    }

    /// Rows of a list endpoint.
    func list(_ path: String, key: String? = nil) throws -> [[String: Any]] {
        try api("GET", path, key: key).json["data"] as? [[String: Any]] ?? []
    }
}
