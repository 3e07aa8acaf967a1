import TesseraSupport

/// An AWS IoT topic rule's SQL as the local stack runs it: just enough of AWS IoT SQL to run
/// template.yaml's rules, and a clear refusal for anything else rather than a guess.
///
/// What runs: `SELECT <items> FROM '<topic filter>'` with no WHERE, where the items are either `*` alone
/// (the message as it is), or a comma-separated list of
/// - `name` or `name AS alias`: a top-level key of the message's JSON object, left out of the event when
///   the message has no such key (AWS's Undefined);
/// - `topic(N) AS alias`: the Nth level (from 1) of the topic the message came on, left out when the
///   topic has fewer levels; `topic() AS alias`: the whole topic.
///
/// The event is a JSON object with the items in the order the SELECT names them. `*` together with
/// other items is refused: AWS does not document which value wins when the message itself has a key of
/// an item's name, so the local stack does not pick one.
public struct IoTRuleSQL: Sendable, Equatable, CustomStringConvertible {
    public enum Item: Sendable, Equatable {
        /// `*`: the message's bytes as they are.
        case wholeMessage
        /// A top-level key of the message (`key`) under the event's name `name`.
        case field(key: String, name: String)
        /// `topic(level)` (nil: the whole topic) under the event's name `name`.
        case topic(level: Int?, name: String)
    }

    /// The SQL as the template gives it.
    public let sql: String
    public let items: [Item]
    /// The FROM clause: an MQTT topic filter (`+` one level, `#` the rest).
    public let topicFilter: String

    public var description: String { sql }

    /// Parses `sql`; anything outside the subset above is an `IoTRuleError` naming what cannot run.
    public init(_ sql: String) throws {
        self.sql = sql
        var tokens = try Self.tokens(sql)
        func refuse(_ problem: String) -> IoTRuleError { IoTRuleError(sql: sql, problem: problem) }
        // A character outside the subset is refused where the parser meets it (so a WHERE is named first).
        func next() throws -> Token? {
            guard !tokens.isEmpty else { return nil }
            if case let .other(character, position) = tokens[0] {
                throw refuse("'\(character)' at character \(position) is not run locally (only names, '*', topic(N), AS "
                    + "and FROM '<topic filter>')")
            }
            return tokens.removeFirst()
        }
        func name(after what: String) throws -> String {
            guard case let .word(word)? = try next(), !Self.keywords.contains(word.uppercased()) else {
                throw refuse("a name must follow \(what)")
            }
            return word
        }

        guard case let .word(select)? = try next(), select.uppercased() == "SELECT" else {
            throw refuse("it must start with SELECT")
        }
        var items: [Item] = []
        itemLoop: while true {
            switch try next() {
            case .star?:
                items.append(.wholeMessage)
            case let .word(word)? where word.uppercased() == "FROM" || Self.keywords.contains(word.uppercased()):
                throw refuse("an item must follow \(items.isEmpty ? "SELECT" : "','"), not \(word)")
            case let .word(word)?:
                if tokens.first == .open {
                    tokens.removeFirst()
                    guard word.lowercased() == "topic" else {
                        throw refuse("the function \(word)() is not run locally (only topic(N))")
                    }
                    var level: Int?
                    if case let .number(n)? = tokens.first {
                        tokens.removeFirst()
                        guard let value = Int(n), value >= 1 else { throw refuse("topic(\(n)): levels count from 1") }
                        level = value
                    }
                    guard try next() == .close else { throw refuse("topic() takes one level number, as in topic(3)") }
                    guard case let .word(keyword)? = try next(), keyword.uppercased() == "AS" else {
                        throw refuse("topic(\(level.map(String.init) ?? "")) needs a name: topic(N) AS name")
                    }
                    items.append(.topic(level: level, name: try name(after: "AS")))
                } else if case let .word(keyword)? = tokens.first, keyword.uppercased() == "AS" {
                    tokens.removeFirst()
                    items.append(.field(key: word, name: try name(after: "AS")))
                } else {
                    items.append(.field(key: word, name: word))
                }
            case let other?:
                throw refuse("\(other) where an item should be")
            case nil:
                throw refuse("it ends before FROM")
            }
            switch try next() {
            case .comma?: continue itemLoop
            case let .word(word)? where word.uppercased() == "FROM": break itemLoop
            case let other?: throw refuse("\(other) after an item, where ',' or FROM should be")
            case nil: throw refuse("it has no FROM")
            }
        }
        guard case let .quoted(filter)? = try next() else { throw refuse("FROM must name a topic filter in single quotes") }
        if let rest = try next() {
            if case let .word(word) = rest, word.uppercased() == "WHERE" {
                throw refuse("WHERE clauses are not run locally")
            }
            throw refuse("\(rest) after the FROM clause")
        }
        if items.contains(.wholeMessage), items.count > 1 {
            throw refuse("'*' with other items: AWS does not document which value wins when the message itself has "
                + "a key of another item's name; select the message's fields by name instead")
        }
        var names = Set<String>()
        for case let .field(_, name) in items where !names.insert(name).inserted { throw refuse("two items named \(name)") }
        for case let .topic(_, name) in items where !names.insert(name).inserted { throw refuse("two items named \(name)") }
        guard Self.isTopicFilter(filter) else {
            throw refuse("'\(filter)' is not an MQTT topic filter ('+' a whole level, '#' only as the last level)")
        }
        self.items = items
        topicFilter = filter
    }

    /// Whether a message on `topic` activates the rule.
    public func matches(topic: String) -> Bool { Self.matches(filter: topicFilter, topic: topic) }

    /// The event the rule hands to its actions for a message on `topic`. `*` passes the payload's bytes
    /// as they are; named items need a JSON object, so a payload that is not one (or has a key twice,
    /// where AWS's parser would pick one value without saying which) is an `IoTRuleError`.
    public func event(topic: String, payload: [UInt8]) throws -> [UInt8] {
        if items == [.wholeMessage] { return payload }
        var fields: [String: JSONValue] = [:]
        if items.contains(where: { if case .field = $0 { true } else { false } }) {
            let value: JSONValue
            do {
                value = try StrictJSON.parse(payload, subject: "payload")
            } catch {
                throw IoTRuleError(sql: sql, message: "the message on \(topic) is not a JSON object the rule can "
                    + "select from: \(error)")
            }
            guard case let .object(object) = value else {
                throw IoTRuleError(sql: sql, message: "the message on \(topic) is a JSON \(value.typeName), not an object")
            }
            fields = object
        }
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        var out: [UInt8] = [UInt8(ascii: "{")]
        func member(_ name: String, _ value: JSONValue) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            appendJSONQuoted(name, to: &out)
            out.append(UInt8(ascii: ":"))
            Self.append(value, to: &out)
        }
        for item in items {
            switch item {
            case .wholeMessage:
                break
            case let .field(key, name):
                if let value = fields[key] { member(name, value) }
            case let .topic(level, name):
                if let level {
                    if level <= levels.count { member(name, .string(String(levels[level - 1]))) }
                } else {
                    member(name, .string(topic))
                }
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    // MARK: topic filters

    /// MQTT topic filter matching: `+` one level, `#` the rest.
    public static func matches(filter: String, topic: String) -> Bool {
        let f = filter.split(separator: "/", omittingEmptySubsequences: false)
        let t = topic.split(separator: "/", omittingEmptySubsequences: false)
        for (i, part) in f.enumerated() {
            if part == "#" { return true }
            guard i < t.count, part == "+" || part == t[i] else { return false }
        }
        return f.count == t.count
    }

    static func isTopicFilter(_ filter: String) -> Bool {
        guard !filter.isEmpty else { return false }
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            if level == "+" { continue }
            if level == "#" { if index == levels.count - 1 { continue } else { return false } }
            if level.contains("+") || level.contains("#") { return false }
        }
        return true
    }

    // MARK: tokens

    static let keywords: Set<String> = ["SELECT", "FROM", "WHERE", "AS", "SET", "AND", "OR", "NOT", "CASE", "WHEN",
                                        "THEN", "ELSE", "END"]

    enum Token: Equatable, CustomStringConvertible {
        case word(String), number(String), quoted(String), star, comma, open, close
        /// A character outside the subset, with its position (from 1).
        case other(Unicode.Scalar, Int)

        var description: String {
            switch self {
            case let .word(word): word
            case let .number(number): number
            case let .quoted(text): "'\(text)'"
            case .star: "'*'"
            case .comma: "','"
            case .open: "'('"
            case .close: "')'"
            case let .other(character, _): "'\(character)'"
            }
        }
    }

    static func tokens(_ sql: String) throws -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(sql.unicodeScalars)
        var i = 0
        func isWordStart(_ c: Unicode.Scalar) -> Bool { c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
        func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
        while i < scalars.count {
            let c = scalars[i]
            switch c {
            case " ", "\t", "\n", "\r":
                i += 1
            case "*": tokens.append(.star); i += 1
            case ",": tokens.append(.comma); i += 1
            case "(": tokens.append(.open); i += 1
            case ")": tokens.append(.close); i += 1
            case "'":
                guard let end = scalars[(i + 1)...].firstIndex(of: "'") else {
                    throw IoTRuleError(sql: sql, problem: "a quote opened at character \(i + 1) is not closed")
                }
                if end + 1 < scalars.count, scalars[end + 1] == "'" {
                    throw IoTRuleError(sql: sql, problem: "quotes doubled inside a string are not run locally")
                }
                tokens.append(.quoted(String(String.UnicodeScalarView(scalars[(i + 1)..<end]))))
                i = end + 1
            default:
                if isWordStart(c) {
                    let start = i
                    while i < scalars.count, isWordStart(scalars[i]) || isDigit(scalars[i]) { i += 1 }
                    tokens.append(.word(String(String.UnicodeScalarView(scalars[start..<i]))))
                } else if isDigit(c) {
                    let start = i
                    while i < scalars.count, isDigit(scalars[i]) { i += 1 }
                    tokens.append(.number(String(String.UnicodeScalarView(scalars[start..<i]))))
                } else {
                    tokens.append(.other(c, i + 1))
                    i += 1
                }
            }
        }
        return tokens
    }

    // MARK: JSON text

    /// A value as JSON text: strings escaped as `jsonQuoted` does, object keys sorted.
    static func append(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case let .bool(flag): out += Array((flag ? "true" : "false").utf8)
        case let .integer(number): out += Array(String(number).utf8)
        case let .number(number): out += Array("\(number)".utf8)
        case let .string(text): appendJSONQuoted(text, to: &out)
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(fields):
            out.append(UInt8(ascii: "{"))
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONQuoted(key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(fields[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

/// An IoT rule the local stack cannot run, or a message it cannot run the rule on.
public struct IoTRuleError: Error, Equatable, CustomStringConvertible {
    public let sql: String
    public let problem: String
    /// True when the rule runs but not on this one message.
    public let aboutMessage: Bool

    init(sql: String, problem: String) {
        self.sql = sql
        self.problem = problem
        aboutMessage = false
    }

    init(sql: String, message problem: String) {
        self.sql = sql
        self.problem = problem
        aboutMessage = true
    }

    public var description: String {
        aboutMessage ? "the IoT rule `\(sql)` did not run: \(problem)"
            : "the IoT rule `\(sql)` cannot run locally: \(problem)"
    }
}
