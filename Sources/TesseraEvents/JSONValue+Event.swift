import TesseraSupport

extension JSONValue {
    /// Parses an event body strictly (`StrictJSON`): UTF-8 only, no duplicate keys at any depth; the
    /// error (`EventError`) says what is wrong and at which byte.
    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        do {
            return try StrictJSON.parse(bytes)
        } catch {
            throw EventError(error)
        }
    }
}

extension EventError {
    /// The event's own wording of a strict-JSON failure.
    init(_ failure: StrictJSON.Failure) {
        switch failure {
        case let .notUTF8(offset, reason): self = .notUTF8(offset: offset, reason: reason)
        case let .notJSON(reason): self = .notJSON(reason)
        case let .duplicateKey(path): self = .duplicateKey(path: path)
        }
    }
}
