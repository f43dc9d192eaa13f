import Billing
import Foundation

// The test bank (`/test-bank/<test_ch_…>`): what a customer paying with the 3-D Secure test card
// 4000 0027 6000 3184 is sent to. One form, Approve or Fail, no script; either answer sends the
// customer back (303) to the checkout, which asks the test processor and settles or releases.

extension Pages {
    /// Answers `/test-bank/<id>`.
    func testBank(_ request: Request) -> Response {
        let segments = request.pathSegments
        guard segments.count == 2, Identifier.looksLike(String(segments[1]), prefix: "test_ch") else { return notFound() }
        do {
            guard let charge = try store.read({ try $0.testCharge(id: String(segments[1])) }) else { return notFound() }
            switch request.method {
            case "GET", "HEAD":
                return bankPage(charge, path: request.path)
            case "POST":
                return try decide(charge, request: request)
            default:
                var response = message(status: 405, heading: "Method not allowed", text: "This address can only be opened in a browser.")
                response.headers.add("Allow", "GET, HEAD, POST")
                return response
            }
        } catch {
            return failure(error, request: request)
        }
    }

    private func bankPage(_ charge: TestCharge, path: String) -> Response {
        let page = TestBankPage(chrome: PageChrome(title: "Test bank · confirm the payment", assetVersion: renderer.assetVersion),
                                testMode: true, amount: MoneyText.format(charge.amount), action: path,
                                csrfToken: signer.token(for: path, at: time.wall.now()),
                                decided: charge.status != .requiresAction)
        return renderer.response(status: 200, template: "test-bank", page: page)
    }

    private func decide(_ charge: TestCharge, request: Request) throws -> Response {
        guard CrossSitePolicy.allows(request.headers, publicURL: publicURL.value) else {
            return message(status: 403, heading: "This form came from another site", testMode: true,
                           text: "Nothing was confirmed. Go back to the checkout and start again.")
        }
        let form = FormData(request.body)
        guard signer.isValid(form["csrf_token"], for: request.path, at: time.wall.now()) else {
            return message(status: 403, heading: "Please reload the page", testMode: true,
                           text: "This form has expired or did not come from this page. Reload it and answer again.")
        }
        let approve: Bool
        switch form["decision"] {
        case "approve": approve = true
        case "fail": approve = false
        default:
            return message(status: 400, heading: "Choose Approve or Fail", testMode: true,
                           text: "The form did not say whether the bank approves the payment. Go back and press one of the two buttons.")
        }
        // A second answer (the back button, a double press) keeps the first one.
        let decided = try store.write { try $0.decideTestCharge(id: charge.id, approve: approve) } ?? charge
        return redirect(to: decided.returnURL)
    }
}
