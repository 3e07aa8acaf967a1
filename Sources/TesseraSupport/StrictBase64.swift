/// Standard base64 (RFC 4648, section 4) read strictly: exactly one text decodes to given bytes.
///
/// Foundation's decoder is lax (it accepts `"===="`, `"AA=A"`, `"AAAA===="` and non-zero unused
/// bits), so two different texts could stand for one piece and the first write would win; this one
/// accepts only the canonical form:
/// - only `A-Z a-z 0-9 + /` and `=`: no whitespace, no line breaks, not the URL-safe `-` and `_`;
/// - the length is a multiple of 4;
/// - `=` only as padding: the last character, or the last two;
/// - the unused low bits of the last character before the padding are zero.
public enum StrictBase64 {
    /// Why a text is not canonical base64; `description` names the rule and the offset (from 0).
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case length(Int)
        case character(offset: Int, byte: UInt8)
        case misplacedPadding(offset: Int)
        case nonCanonical(offset: Int, character: UInt8, canonical: UInt8)

        public var description: String {
            switch self {
            case let .length(count):
                "its length, \(count) characters, is not a multiple of 4"
            case let .character(offset, byte):
                "\(describe(byte)) at offset \(offset) is not in the alphabet"
                    + (byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                        ? " (that is the URL-safe alphabet's, not standard base64's)" : "")
            case let .misplacedPadding(offset):
                "'=' at offset \(offset) is not padding: '=' may only be the last character or the last two"
            case let .nonCanonical(offset, character, canonical):
                "'\(Character(Unicode.Scalar(character)))' at offset \(offset) leaves non-zero unused bits "
                    + "(the canonical form has '\(Character(Unicode.Scalar(canonical)))')"
            }
        }

        private func describe(_ byte: UInt8) -> String {
            switch byte {
            case 0x20: "a space"
            case 0x09, 0x0A, 0x0D: "whitespace (0x\(hex(byte)))"
            case 0x21...0x7E: "'\(Character(Unicode.Scalar(byte)))'"
            default: "byte 0x\(hex(byte))"
            }
        }

        private func hex(_ byte: UInt8) -> String {
            let digits = Array("0123456789ABCDEF")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
        }
    }

    /// The most characters `decodedBytes` bytes can take (padded to a whole quantum).
    public static func encodedLength(ofDecoded decodedBytes: Int) -> Int { (decodedBytes + 2) / 3 * 4 }

    /// The bytes a canonical base64 text stands for; throws `Failure` naming the first broken rule.
    public static func decode<Text: Collection>(_ text: Text) throws(Failure) -> [UInt8] where Text.Element == UInt8 {
        // The alphabet first (the most telling problem), then the length, then padding and bits.
        var position = 0
        for byte in text {
            guard byte == UInt8(ascii: "=") || sextet(byte) != nil else { throw .character(offset: position, byte: byte) }
            position += 1
        }
        let count = position
        guard count % 4 == 0 else { throw .length(count) }
        var out = [UInt8]()
        out.reserveCapacity(count / 4 * 3)
        var quantum: UInt32 = 0
        var filled = 0
        var padding = 0
        var offset = 0
        var lastDataByte: UInt8 = 0
        for byte in text {
            if byte == UInt8(ascii: "=") {
                // Padding: only at offsets count-2 (then count-1 must be '=' too) and count-1.
                guard offset >= count - 2, offset == count - 1 || padding == 0 && filled == 2 else {
                    throw .misplacedPadding(offset: offset)
                }
                padding += 1
            } else {
                guard padding == 0 else { throw .misplacedPadding(offset: offset - 1) }
                let value = sextet(byte)!
                quantum = quantum << 6 | UInt32(value)
                filled += 1
                lastDataByte = byte
                if filled == 4 {
                    out.append(UInt8(truncatingIfNeeded: quantum >> 16))
                    out.append(UInt8(truncatingIfNeeded: quantum >> 8))
                    out.append(UInt8(truncatingIfNeeded: quantum))
                    quantum = 0
                    filled = 0
                }
            }
            offset += 1
        }
        switch padding {
        case 0:
            break
        case 1:
            // Three characters carry 18 bits for 2 bytes: the low 2 bits are unused and must be zero.
            guard quantum & 0x3 == 0 else {
                throw .nonCanonical(offset: count - 2, character: lastDataByte,
                                    canonical: alphabet[Int(sextet(lastDataByte)! & ~0x3)])
            }
            out.append(UInt8(truncatingIfNeeded: quantum >> 10))
            out.append(UInt8(truncatingIfNeeded: quantum >> 2))
        default:
            // Two characters carry 12 bits for 1 byte: the low 4 bits are unused and must be zero.
            guard filled == 2 else { throw .misplacedPadding(offset: count - 2) }
            guard quantum & 0xF == 0 else {
                throw .nonCanonical(offset: count - 3, character: lastDataByte,
                                    canonical: alphabet[Int(sextet(lastDataByte)! & ~0xF)])
            }
            out.append(UInt8(truncatingIfNeeded: quantum >> 4))
        }
        return out
    }

    /// The canonical text of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(encodedLength(ofDecoded: bytes.count))
        var index = 0
        while index + 3 <= bytes.count {
            let q = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out.append(alphabet[Int(q >> 18)])
            out.append(alphabet[Int(q >> 12 & 63)])
            out.append(alphabet[Int(q >> 6 & 63)])
            out.append(alphabet[Int(q & 63)])
            index += 3
        }
        switch bytes.count - index {
        case 1:
            let q = UInt32(bytes[index]) << 16
            out += [alphabet[Int(q >> 18)], alphabet[Int(q >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        case 2:
            let q = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            out += [alphabet[Int(q >> 18)], alphabet[Int(q >> 12 & 63)], alphabet[Int(q >> 6 & 63)], UInt8(ascii: "=")]
        default:
            break
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    @inline(__always)
    private static func sextet(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
