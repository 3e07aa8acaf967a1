import TesseraAWS
import TesseraEvents
import TesseraSupport

/// The opaque `cursor` of a listing read from the `recent` index (GET /pictures without a collection,
/// GET /collections): the last picture looked at, by its index key (processedAt) and its table key.
/// PictureCursor's rules: an HMAC so it cannot be forged, and everything encrypted, the collection too,
/// since across collections the picture a page stopped at can be another user's.
///
/// Layout before base64url: version 3, the listing (1 byte), a 16-byte nonce, then XORed with the
/// nonce's keystream: processedAt, the collection and the name, each after its length (2 bytes), zeros
/// up to a multiple of `paddingBlock`; then a 16-byte HMAC-SHA256 of all that. The padding keeps the
/// cursor's length from telling how long the names of the (maybe another user's) picture are.
public struct IndexCursor: Sendable, Equatable {
    /// Which listing handed the cursor out: a cursor of one is refused by the other.
    public enum Listing: UInt8, Sendable {
        case pictures = 1, collections = 2
    }

    /// Encrypted text is padded to a multiple of this: any picture of safe names (two of 128) fits one block.
    static let paddingBlock = 512

    public let listing: Listing
    public let processedAt: String
    public let collection: String
    public let name: String

    public init(listing: Listing, processedAt: String, collection: String, name: String) {
        self.listing = listing
        self.processedAt = processedAt
        self.collection = collection
        self.name = name
    }

    /// The index key a query resumes after (the index's key and the table's).
    var startKey: Item {
        ["status": .s("ready"), "processedAt": .s(processedAt), "collection": .s(collection), "name": .s(name)]
    }

    public func encoded(key: [UInt8], nonce: [UInt8] = randomBytes(PictureCursor.nonceBytes)) -> String {
        var plain: [UInt8] = []
        for text in [processedAt, collection, name] {
            plain += [UInt8(text.utf8.count >> 8), UInt8(text.utf8.count & 0xFF)] + Array(text.utf8)
        }
        plain += [UInt8](repeating: 0, count: (Self.paddingBlock - plain.count % Self.paddingBlock) % Self.paddingBlock)
        var payload: [UInt8] = [3, listing.rawValue] + nonce
        payload += PictureCursor.xor(plain, key: key, nonce: nonce)
        payload += hmacSHA256(key: key, message: payload).prefix(PictureCursor.macBytes)
        return Base64URL.encode(payload)
    }

    /// The cursor a client sent back to `listing`; a 400 for anything else.
    public static func decode(_ text: String, key: [UInt8], listing: Listing) throws(APIError) -> IndexCursor {
        let forged = PictureCursor.forged
        let header = 2 + PictureCursor.nonceBytes
        let payload = try PictureCursor.authenticated(text, key: key, minimumPayload: header)
        guard payload[0] == 3, payload[1] == listing.rawValue else {
            throw APIError.invalid("InvalidCursor", "cursor belongs to another listing (\(payload[0] == 2 ? "a collection's" : "another route's")); "
                                   + "use it with the request that handed it out")
        }
        let plain = PictureCursor.xor(Array(payload[header...]), key: key, nonce: Array(payload[2..<header]))
        var offset = 0, texts: [String] = []
        for _ in 0..<3 {
            guard offset + 2 <= plain.count else { throw forged }
            let length = Int(plain[offset]) << 8 | Int(plain[offset + 1])
            guard offset + 2 + length <= plain.count, let text = String(validating: plain[offset + 2..<offset + 2 + length], as: UTF8.self)
            else { throw forged }
            texts.append(text)
            offset += 2 + length
        }
        return IndexCursor(listing: listing, processedAt: texts[0], collection: texts[1], name: texts[2])
    }
}
