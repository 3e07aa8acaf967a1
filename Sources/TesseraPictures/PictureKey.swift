import TesseraSupport

/// A picture's name (DESIGN.md "Pictures and keys"): a collection and a name, and where its original
/// lives in the originals bucket.
public struct PictureKey: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let collection: String
    public let name: String
    /// The original's S3 key.
    public let key: String

    /// The rule the API and devices are held to; names derived from keys dropped into the bucket keep
    /// their characters.
    public static let safeRule = "1 to 128 characters of A-Z a-z 0-9 . _ - and not starting with '.'"

    /// The picture a device or the API names: its original goes to `<collection>/<name>.jpg`.
    public init(collection: String, name: String) {
        self.collection = collection
        self.name = name
        key = "\(collection)/\(name).jpg"
    }

    /// The picture an object of the originals bucket is, whatever its key: the collection is the key
    /// up to its last `/` (`-` when there is none), the name the last segment less `.jpg`/`.jpeg`.
    public init(objectKey: String) {
        key = objectKey
        let slash = objectKey.lastIndex(of: "/")
        let folder = slash.map { String(objectKey[..<$0]) } ?? ""
        var last = slash.map { String(objectKey[objectKey.index(after: $0)...]) } ?? objectKey
        for suffix in [".jpeg", ".jpg"] {
            let bytes = Array(last.utf8)
            guard bytes.count > suffix.utf8.count,
                  bytes.suffix(suffix.utf8.count).map(asciiLower).elementsEqual(suffix.utf8) else { continue }
            last = String(decoding: bytes.dropLast(suffix.utf8.count), as: UTF8.self)
            break
        }
        collection = folder.isEmpty ? "-" : folder
        name = last.isEmpty ? "-" : last
    }

    /// Whether `text` keeps to the safe set.
    public static func isSafe(_ text: String) -> Bool {
        (1...128).contains(text.utf8.count) && !text.hasPrefix(".")
            && text.utf8.allSatisfy { PercentEncoding.isUnreserved($0) && $0 != UInt8(ascii: "~") }
    }

    public var description: String { "\(collection)/\(name)" }
}
