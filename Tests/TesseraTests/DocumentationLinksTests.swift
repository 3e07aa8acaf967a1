import Foundation
import Testing

/// The README is the front door and docs/ holds the reference: every relative link and image in them
/// must name a file that exists (and, with `#anchor`, a heading in it), or the door opens on nothing.
struct DocumentationLinksTests {
    static let root = LocalTemplateTests.root

    static var pages: [URL] {
        let docs = root.appendingPathComponent("docs")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: docs.path)) ?? []
        return [root.appendingPathComponent("README.md")]
            + names.filter { $0.hasSuffix(".md") }.sorted().map { docs.appendingPathComponent($0) }
    }

    /// GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`.
    static func anchor(_ heading: String) -> String {
        String(heading.lowercased().unicodeScalars.compactMap { scalar -> Character? in
            if scalar == " " { return "-" }
            if CharacterSet.alphanumerics.contains(scalar) || scalar == "-" || scalar == "_" { return Character(scalar) }
            return nil
        })
    }

    static func anchors(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("#") else { return nil }
            return anchor(line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces))
        })
    }

    @Test func everyRelativeLinkNamesAFileThatExists() throws {
        #expect(Self.pages.count > 5, "docs/ holds the reference")
        let link = try NSRegularExpression(pattern: #"\]\(([^)\s]+)\)"#)
        for page in Self.pages {
            let text = try String(contentsOf: page, encoding: .utf8)
            // Code blocks hold shell and Mermaid, not links.
            let prose = text.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 0 }.map(\.element).joined()
            for match in link.matches(in: prose, range: NSRange(prose.startIndex..., in: prose)) {
                let target = String(prose[Range(match.range(at: 1), in: prose)!])
                if target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("mailto:") { continue }
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let file = parts[0].isEmpty ? page : page.deletingLastPathComponent().appendingPathComponent(parts[0]).standardized
                // The product's reference lives beside the repository, not in it.
                guard file.path.hasPrefix(Self.root.standardized.path + "/") else { continue }
                #expect(FileManager.default.fileExists(atPath: file.path),
                        "\(page.lastPathComponent) links to \(target), which does not exist")
                if parts.count == 2, file.pathExtension == "md", let linked = try? String(contentsOf: file, encoding: .utf8) {
                    #expect(Self.anchors(linked).contains(parts[1]), "\(page.lastPathComponent) links to \(target): no such heading")
                }
            }
        }
    }
}
