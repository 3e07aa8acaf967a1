/// A strict JSON reader (RFC 8259), with messages that say what is wrong and where: events are read
/// with it (TesseraEvents), and the AWS JSON protocols' responses (TesseraAWS).
///
/// Why not Foundation's `JSONDecoder`: it keeps the first of two equal keys where JavaScript and
/// Python keep the last (so one event could mean two things), it reports invalid UTF-8 with its
/// own internal wording, and linking Foundation costs a function start-up time and memory. Here:
/// - the text must be UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF;
/// - a key that appears twice in one object, at any depth, is refused by name;
/// - objects and arrays nest at most `maxDepth` levels (a hostile event cannot exhaust the stack);
/// - numbers follow the JSON grammar (no leading zeros, `+`, `NaN`, hex); a number whose value is a
///   whole number that fits `Int` (`3`, `3.0`, `3e0`) is `.integer`, any other `.number`, and one
///   beyond `Double`'s range is refused;
/// - strings hold no raw control characters, and `\u` escapes pair their surrogates.
///
/// Byte offsets in messages count from 0.
public enum StrictJSON {
    public static let maxDepth = 64

    /// Why a text is not strict JSON; the messages name the document as `subject` does.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// Not UTF-8 (RFC 8259 requires it); `offset` counts bytes from 0.
        case notUTF8(offset: Int, reason: String)
        case notJSON(String)
        /// A key that appears twice in one object (`path` as `a.b[2].c`).
        case duplicateKey(path: String)

        public var description: String {
            switch self {
            case let .notUTF8(offset, reason): "not valid UTF-8 at byte \(offset): \(reason)"
            case let .notJSON(reason): "not valid JSON: \(reason)"
            case let .duplicateKey(path): "field `\(path)` appears more than once"
            }
        }
    }

    /// Parses a whole document; `subject` names it in messages ("the \(subject) ends inside an object").
    public static func parse(_ bytes: [UInt8], subject: String = "event") throws(Failure) -> JSONValue {
        guard !bytes.isEmpty else { throw .notJSON("the \(subject) is empty") }
        try validateUTF8(bytes, subject: subject)
        return try bytes.withUnsafeBufferPointer { buffer throws(Failure) in
            var reader = Reader(bytes: buffer, subject: subject)
            let value = try reader.value()
            reader.skipWhitespace()
            guard reader.index == buffer.count else {
                throw reader.failure("\(reader.describeCurrent()) after the end of the JSON value")
            }
            return value
        }
    }

    /// Throws `.notUTF8` at the first byte that does not start a well-formed UTF-8 sequence.
    static func validateUTF8(_ bytes: [UInt8], subject: String) throws(Failure) {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            // The range the second byte must be in: narrower after E0, ED, F0, F4 (RFC 3629's table).
            var second: ClosedRange<UInt8> = 0x80...0xBF
            var secondProblem = "is not followed by a continuation byte (0x80-0xBF)"
            switch lead {
            case 0x80...0xBF:
                throw .notUTF8(offset: index, reason: "\(hexByte(lead)) is a continuation byte with no lead byte before it")
            case 0xC0, 0xC1:
                throw .notUTF8(offset: index, reason: "\(hexByte(lead)) can only start an overlong encoding")
            case 0xC2...0xDF:
                length = 2
            case 0xE0:
                length = 3
                second = 0xA0...0xBF
                secondProblem = "starts an overlong encoding"
            case 0xED:
                length = 3
                second = 0x80...0x9F
                secondProblem = "starts the encoding of a UTF-16 surrogate"
            case 0xE1...0xEF:
                length = 3
            case 0xF0:
                length = 4
                second = 0x90...0xBF
                secondProblem = "starts an overlong encoding"
            case 0xF4:
                length = 4
                second = 0x80...0x8F
                secondProblem = "starts a code point above U+10FFFF"
            case 0xF1...0xF3:
                length = 4
            default:
                throw .notUTF8(offset: index, reason: "\(hexByte(lead)) never occurs in UTF-8")
            }
            guard index + length <= count else {
                throw .notUTF8(offset: index, reason: "the \(subject) ends inside the \(length)-byte sequence "
                    + "that \(hexByte(lead)) starts")
            }
            let next = bytes[index + 1]
            guard second.contains(next) else {
                let problem = (0x80...0xBF).contains(next) ? secondProblem
                    : "is not followed by a continuation byte (0x80-0xBF)"
                throw .notUTF8(offset: index, reason: "\(hexByte(lead)) \(hexByte(next)) \(problem)")
            }
            for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) {
                throw .notUTF8(offset: index, reason: "\(hexByte(lead)) starts a \(length)-byte sequence but byte "
                    + "\(index + offset) (\(hexByte(bytes[index + offset]))) is not a continuation byte (0x80-0xBF)")
            }
            index += length
        }
    }

    static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "0x" + String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    /// Where a value sits, for naming a duplicate key: `meta.tags[2].id`.
    enum PathComponent {
        case key(String)
        case index(Int)
    }

    struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        let subject: String
        var index = 0
        var depth = 0
        var path: [PathComponent] = []

        init(bytes: UnsafeBufferPointer<UInt8>, subject: String) {
            self.bytes = bytes
            self.subject = subject
        }

        func failure(_ problem: String, at offset: Int? = nil) -> Failure {
            .notJSON("\(problem) at byte \(offset ?? index)")
        }

        /// The byte at `index` for a message: `'x'`, `byte 0xC3`, or the end of the event.
        func describeCurrent() -> String {
            guard index < bytes.count else { return "the end of the \(subject)" }
            let byte = bytes[index]
            if byte == UInt8(ascii: "'") { return "\"'\"" }
            return (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte \(StrictJSON.hexByte(byte))"
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func value() throws(Failure) -> JSONValue {
            skipWhitespace()
            guard index < bytes.count else { throw failure("the \(subject) ends where a value should be") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw failure("\(describeCurrent()) where a value should be")
            }
        }

        mutating func literal(_ word: String) throws(Failure) {
            let start = index
            let text = Array(word.utf8)
            guard index + text.count <= bytes.count, bytes[index..<index + text.count].elementsEqual(text) else {
                throw failure("\(describeCurrent()) where a value should be (not `\(word)`)", at: start)
            }
            index += text.count
        }

        mutating func enter() throws(Failure) {
            depth += 1
            guard depth <= StrictJSON.maxDepth else {
                throw failure("objects and arrays nest deeper than \(StrictJSON.maxDepth) levels")
            }
        }

        mutating func object() throws(Failure) -> JSONValue {
            try enter()
            index += 1
            var fields: [String: JSONValue] = [:]
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return .object(fields)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw failure("\(describeCurrent()) where an object key (a string) should be")
                }
                let key = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw failure("\(describeCurrent()) where ':' should follow an object key")
                }
                index += 1
                path.append(.key(key))
                guard fields[key] == nil else { throw .duplicateKey(path: pathText) }
                fields[key] = try value()
                path.removeLast()
                if try closes(with: "}", inside: "object") { return .object(fields) }
            }
        }

        mutating func array() throws(Failure) -> JSONValue {
            try enter()
            index += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return .array(elements)
            }
            while true {
                path.append(.index(elements.count))
                elements.append(try value())
                path.removeLast()
                if try closes(with: "]", inside: "array") { return .array(elements) }
            }
        }

        /// After a member: true past the closing `close` (leaving the level), false past a ','.
        mutating func closes(with close: Unicode.Scalar, inside container: String) throws(Failure) -> Bool {
            skipWhitespace()
            guard index < bytes.count else { throw failure("the \(subject) ends inside an \(container)") }
            switch bytes[index] {
            case UInt8(ascii: ","):
                index += 1
                return false
            case UInt8(ascii: close):
                index += 1
                depth -= 1
                return true
            default:
                throw failure("\(describeCurrent()) where ',' or '\(close)' should be")
            }
        }

        /// `meta.tags[2].id`; a key is shown as is (cut at 100 characters).
        var pathText: String {
            var text = ""
            for component in path {
                switch component {
                case let .key(key):
                    if !text.isEmpty { text += "." }
                    text += key.count > 100 ? String(key.prefix(100)) + "..." : key
                case let .index(position):
                    text += "[\(position)]"
                }
            }
            return text
        }

        /// A string at `index` (its opening quote); the text was checked as UTF-8 beforehand.
        mutating func string() throws(Failure) -> String {
            let opening = index
            index += 1
            var segmentStart = index
            var unescaped: [UInt8]?
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    let segment = UnsafeBufferPointer(rebasing: bytes[segmentStart..<index])
                    index += 1
                    guard var built = unescaped else { return String(decoding: segment, as: UTF8.self) }
                    built.append(contentsOf: segment)
                    return String(decoding: built, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    if unescaped == nil { unescaped = [] }
                    unescaped!.append(contentsOf: bytes[segmentStart..<index])
                    try escape(into: &unescaped!)
                    segmentStart = index
                case 0..<0x20:
                    throw failure("control character \(StrictJSON.hexByte(byte)) inside a string (it must be escaped)")
                default:
                    index += 1
                }
            }
            throw failure("the string that starts here is not closed", at: opening)
        }

        /// The escape at `index` (its backslash), appended as UTF-8.
        mutating func escape(into out: inout [UInt8]) throws(Failure) {
            let start = index
            guard index + 1 < bytes.count else { throw failure("the \(subject) ends inside an escape", at: start) }
            let code = bytes[index + 1]
            index += 2
            switch code {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(code)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(escapeStart: start)
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one; together one code point.
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                    else { throw failure("\\u escape of a high surrogate without a low surrogate after it", at: start) }
                    let lowStart = index
                    index += 2
                    let low = try hex4(escapeStart: lowStart)
                    guard (0xDC00...0xDFFF).contains(low) else {
                        throw failure("\\u escape of a high surrogate without a low surrogate after it", at: start)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw failure("\\u escape of a low surrogate without a high surrogate before it", at: start)
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
            default:
                throw failure("invalid escape \(describe(code)) in a string (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)",
                              at: start)
            }
        }

        private func describe(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? "'\\\(Character(Unicode.Scalar(byte)))'" : "'\\' then byte \(StrictJSON.hexByte(byte))"
        }

        /// Four hex digits at `index`.
        mutating func hex4(escapeStart: Int) throws(Failure) -> UInt32 {
            guard index + 4 <= bytes.count else { throw failure("\\u escape without four hex digits", at: escapeStart) }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("\\u escape without four hex digits", at: escapeStart)
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        mutating func digits() -> Range<Int> {
            let start = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return start..<index
        }

        mutating func number() throws(Failure) -> JSONValue {
            let start = index
            let negative = bytes[index] == UInt8(ascii: "-")
            if negative { index += 1 }
            let integerPart = digits()
            guard !integerPart.isEmpty else { throw failure("\(describeCurrent()) where a digit should be") }
            if integerPart.count > 1, bytes[integerPart.lowerBound] == UInt8(ascii: "0") {
                throw failure("a number with a leading zero", at: start)
            }
            var fraction = index..<index
            var exponent = 0
            var hasExponent = false
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                fraction = digits()
                guard !fraction.isEmpty else { throw failure("\(describeCurrent()) where a digit should follow '.'") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                hasExponent = true
                var exponentNegative = false
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    exponentNegative = bytes[index] == UInt8(ascii: "-")
                    index += 1
                }
                let exponentDigits = digits()
                guard !exponentDigits.isEmpty else { throw failure("\(describeCurrent()) where an exponent digit should be") }
                for position in exponentDigits {
                    // Saturate: beyond a million the exact arithmetic below is not tried (Double's
                    // parser rounds such a literal correctly).
                    exponent = min(exponent * 10 + Int(bytes[position] - UInt8(ascii: "0")), 1_000_001)
                }
                if exponentNegative { exponent = -exponent }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            // "-0" is the integer 0 (a Double decoded from it is +0, where Foundation's is -0: no field
            // of ours tells them apart).
            if fraction.isEmpty, !hasExponent, let value = Int(text) { return .integer(value) }
            if abs(exponent) <= 1_000_000,
               let whole = wholeValue(negative: negative, integerPart: integerPart, fraction: fraction, exponent: exponent) {
                return .integer(whole)
            }
            guard let value = Double(text), value.isFinite else {
                throw failure("the number \(text.count > 40 ? String(text.prefix(40)) + "..." : text) is beyond the range of a double",
                              at: start)
            }
            return .number(value)
        }

        /// The exact value of a decimal literal when it is a whole number that fits `Int`.
        func wholeValue(negative: Bool, integerPart: Range<Int>, fraction: Range<Int>, exponent: Int) -> Int? {
            // digits x 10^(exponent - fraction digits)
            var digits = Array(bytes[integerPart]) + Array(bytes[fraction])
            var shift = exponent - fraction.count
            while shift < 0, let last = digits.last, last == UInt8(ascii: "0") {
                digits.removeLast()
                shift += 1
            }
            let significant = digits.drop { $0 == UInt8(ascii: "0") }
            if significant.isEmpty { return 0 }
            guard shift >= 0, significant.count + shift <= 19 else { return nil }
            let text = (negative ? "-" : "") + String(decoding: significant, as: UTF8.self)
                + String(repeating: "0", count: shift)
            return Int(text)
        }
    }
}
