import TesseraAWS
import TesseraEvents
import TesseraSupport

/// A pictures-table item as the API shows it: plain JSON, without the table's bookkeeping.
enum ItemJSON {
    /// Attributes that order writes and notifications; not part of what a picture is.
    static let internalAttributes: Set<String> = ["version", "notified"]

    /// The item's members as `"name":value` texts, sorted by name so responses are stable.
    static func members(_ item: Item) -> [String] {
        item.keys.filter { !internalAttributes.contains($0) }.sorted().map { jsonQuoted($0) + ":" + json(item[$0]!) }
    }

    static func json(_ value: AttributeValue) -> String {
        switch value {
        case let .s(text): jsonQuoted(text)
        case let .n(number): number
        case let .b(bytes): jsonQuoted(StrictBase64.encode(bytes))
        case let .bool(flag): String(flag)
        case .null: "null"
        case let .m(map): "{" + map.keys.sorted().map { jsonQuoted($0) + ":" + json(map[$0]!) }.joined(separator: ",") + "}"
        case let .l(list): "[" + list.map(json).joined(separator: ",") + "]"
        case let .ss(texts): "[" + texts.map(jsonQuoted).joined(separator: ",") + "]"
        case let .ns(numbers): "[" + numbers.joined(separator: ",") + "]"
        case let .bs(list): "[" + list.map { jsonQuoted(StrictBase64.encode($0)) }.joined(separator: ",") + "]"
        }
    }
}
