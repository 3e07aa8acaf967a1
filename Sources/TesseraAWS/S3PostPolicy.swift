import TesseraSupport

/// A POST policy for browser uploads straight to S3: the conditions S3 enforces on the form, signed
/// with SigV4 so the browser never holds credentials.
public struct S3PostPolicy: Sendable, Equatable {
    /// One condition of the policy document.
    public enum Condition: Sendable, Equatable {
        /// The form field must equal the value (`{"key": "a/b.jpg"}`).
        case equals(String, String)
        /// The form field must start with the value (`["starts-with", "$key", "a/"]`).
        case startsWith(String, String)
        /// The uploaded file's size in bytes must lie in the range.
        case contentLengthRange(Int, Int)

        var json: String {
            switch self {
            case let .equals(field, value): "{\(jsonQuoted(field)): \(jsonQuoted(value))}"
            case let .startsWith(field, prefix): "[\"starts-with\", \(jsonQuoted("$" + field)), \(jsonQuoted(prefix))]"
            case let .contentLengthRange(low, high): "[\"content-length-range\", \(low), \(high)]"
            }
        }
    }

    /// The instant after which S3 refuses the form, as the policy writes it (`2015-12-30T12:00:00.000Z`).
    public var expiration: String
    public var conditions: [Condition]

    public init(expiration: String, conditions: [Condition]) {
        self.expiration = expiration
        self.conditions = conditions
    }

    /// The policy document's JSON text.
    public var document: String {
        "{\"expiration\": \(jsonQuoted(expiration)), \"conditions\": ["
            + conditions.map(\.json).joined(separator: ", ") + "]}"
    }

    /// The `policy` form field (base64 of the document's bytes, exactly as signed) and its signature.
    public static func sign(document: [UInt8], signer: SigV4Signer, date: AmzDate) -> (policy: String, signature: String) {
        let policy = StrictBase64.encode(document)
        return (policy, signer.signature(of: policy, day: date.day))
    }
}
