import PackagePlugin

/// Embeds the web page (web/index.html, web/page.css, web/page.js) into the target it is applied to, as
/// a generated Swift source, at every build that finds one of those files changed; the CSP hashes of the
/// inlined style and script are computed then, from the bytes that are served.
@main
struct EmbedWebPage: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let web = context.package.directoryURL.appending(path: "web")
        let output = context.pluginWorkDirectoryURL.appending(path: "WebPage.swift")
        return [.buildCommand(
            displayName: "Embedding the web page into \(target.name)",
            executable: try context.tool(named: "embed-web-page").url,
            arguments: [web.path(percentEncoded: false), output.path(percentEncoded: false)],
            inputFiles: ["index.html", "page.css", "page.js"].map { web.appending(path: $0) },
            outputFiles: [output])]
    }
}
