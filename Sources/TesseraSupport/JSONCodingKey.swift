/// A coding key made up while encoding or decoding JSON: an array index in a coding path, or the
/// `super` key.
public struct JSONCodingKey: CodingKey, Sendable {
    public let stringValue: String
    public let intValue: Int?

    public init(_ string: String) {
        stringValue = string
        intValue = nil
    }

    public init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    public init?(stringValue: String) { self.init(stringValue) }

    public init?(intValue: Int) { self.init(index: intValue) }
}
