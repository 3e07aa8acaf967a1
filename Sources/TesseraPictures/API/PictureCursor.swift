import TesseraEvents
import TesseraSupport

/// The opaque `cursor` of a pictures listing: where the next page starts, with an HMAC so a client
/// can carry it but not forge one (a made-up cursor would start a query at a key of its choosing),
/// and the name encrypted: in a private gallery the key a page stopped at can be another user's
/// picture, whose name the caller must not learn.
///
/// Layout before base64url: version 2, the collection's length (2 bytes), the collection, a 16-byte
/// nonce, the last name looked at XORed with a keystream (HMAC-SHA256 of the nonce and a block
/// counter under a key derived from the configured one), then a 16-byte HMAC-SHA256 of all that.
public struct PictureCursor: Sendable, Equatable {
    public let collection: String
    public let name: String

    static let macBytes = 16
    public static let nonceBytes = 16
    /// Far above any real cursor (two 1024-byte keys); refused before any decoding work.
    static let maxTextLength = 4096

    public init(collection: String, name: String) {
        self.collection = collection
        self.name = name
    }

    /// The cursor's text.
    public func encoded(key: [UInt8], nonce: [UInt8] = randomBytes(nonceBytes)) -> String {
        var payload: [UInt8] = [2, UInt8(collection.utf8.count >> 8), UInt8(collection.utf8.count & 0xFF)]
        payload += collection.utf8
        payload += nonce
        payload += Self.xor(Array(name.utf8), key: key, nonce: nonce)
        payload += hmacSHA256(key: key, message: payload).prefix(Self.macBytes)
        return Base64URL.encode(payload)
    }

    /// The bytes XORed with the keystream of `nonce` (its own inverse).
    static func xor(_ bytes: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8] {
        let streamKey = hmacSHA256(key: key, message: Array("tessera cursor names".utf8))
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var block: UInt32 = 0
        while out.count < bytes.count {
            let counter = [UInt8(block >> 24), UInt8(block >> 16 & 0xFF), UInt8(block >> 8 & 0xFF), UInt8(block & 0xFF)]
            for byte in hmacSHA256(key: streamKey, message: nonce + counter) where out.count < bytes.count {
                out.append(bytes[out.count] ^ byte)
            }
            block += 1
        }
        return out
    }

    /// The cursor a client sent back, for a listing of `collection`; a 400 for anything else.
    /// The text's bytes before their MAC, once the MAC is found to be this deployment's (compared in
    /// constant time); a 400 that says so for anything shorter than `minimumPayload` or forged.
    static func authenticated(_ text: String, key: [UInt8], minimumPayload: Int) throws(APIError) -> [UInt8] {
        guard text.utf8.count <= maxTextLength, let bytes = Base64URL.decode(text), bytes.count >= minimumPayload + macBytes else {
            throw forged
        }
        let payload = Array(bytes.dropLast(macBytes))
        let expected = hmacSHA256(key: key, message: payload).prefix(macBytes)
        // Constant time: how many leading bytes match must not show in the timing.
        var difference: UInt8 = 0
        for (a, b) in zip(expected, bytes.suffix(macBytes)) { difference |= a ^ b }
        guard difference == 0 else { throw forged }
        return payload
    }

    static let forged = APIError.invalid("InvalidCursor",
        "cursor is not one this API handed out (it was changed, cut, or made by another deployment); "
        + "start again without a cursor")

    public static func decode(_ text: String, key: [UInt8], collection: String) throws(APIError) -> PictureCursor {
        let payload = try authenticated(text, key: key, minimumPayload: 3)
        guard payload[0] == 2 else {
            throw APIError.invalid("InvalidCursor", "cursor belongs to another listing (recent pictures or collections), not \(jsonQuoted(collection))'s")
        }
        let length = Int(payload[1]) << 8 | Int(payload[2])
        guard 3 + length + nonceBytes <= payload.count,
              let cursorCollection = String(validating: payload[3..<3 + length], as: UTF8.self) else { throw forged }
        let nonce = Array(payload[(3 + length)..<(3 + length + nonceBytes)])
        let plain = xor(Array(payload[(3 + length + nonceBytes)...]), key: key, nonce: nonce)
        guard let name = String(validating: plain, as: UTF8.self) else { throw forged }
        // Bytes, not String ==: canonically equivalent names (é as one or two scalars) are different keys.
        guard cursorCollection.utf8.elementsEqual(collection.utf8) else {
            throw APIError.invalid("InvalidCursor", "cursor belongs to a listing of another collection, not \(jsonQuoted(collection))")
        }
        return PictureCursor(collection: cursorCollection, name: name)
    }
}
