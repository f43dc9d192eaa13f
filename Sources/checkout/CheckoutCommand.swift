import ArgumentParser

/// The `checkout` command: `serve`, `org create`, `keys roll`.
@main
struct CheckoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout",
        abstract: "A self-hostable hosted checkout server.",
        subcommands: [Serve.self, Org.self, Keys.self],
        defaultSubcommand: Serve.self)
}
