import ArgumentParser

/// The developer and device CLI.
@main
struct Tessera: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "Tessera's developer and device tool.",
        subcommands: [Resize.self, Inspect.self, Send.self, Local.self])
}
