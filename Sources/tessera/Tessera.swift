import ArgumentParser

/// The developer and device CLI.
@main
struct Tessera: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "Tessera's developer and device tool.",
        subcommands: [Send.self, Local.self])
}
