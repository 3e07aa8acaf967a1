import TesseraSupport

/// An S3 event notification (delivered to Lambda, through SQS, or inside an SNS envelope), or the
/// `s3:TestEvent` S3 sends when a notification is configured.
public enum S3EventNotification: Sendable, Equatable {
    case records([S3ObjectEvent])
    /// Sent once when notifications are set up; there is nothing to do for it.
    case testEvent(bucket: String?)

    /// Parses a notification; `path` names where it sits in the enclosing event, for error messages.
    public static func parse(_ value: JSONValue, path: String = "") throws -> S3EventNotification {
        let object = try EventObject(value, path: path)
        if try object.optionalString("Event") == "s3:TestEvent" {
            return .testEvent(bucket: try object.optionalString("Bucket"))
        }
        let records = try object.array("Records")
        guard !records.isEmpty else { throw EventError.invalidField(object.at("Records"), problem: "is empty") }
        return .records(try records.map { try S3ObjectEvent.parse($0.value, path: $0.path) })
    }
}

/// One object event of an S3 notification.
public struct S3ObjectEvent: Sendable, Equatable {
    /// `ObjectCreated:Put`, `ObjectCreated:CompleteMultipartUpload`, `ObjectRemoved:Delete`, ...
    public let eventName: String
    /// ISO-8601 as S3 sends it, and as milliseconds since 1970.
    public let eventTime: String
    public let eventTimeMilliseconds: Int
    public let bucket: String
    /// Decoded once from the form encoding S3 uses in events (`+` for space).
    public let key: String
    public let size: Int?
    public let eTag: String?
    public let versionId: String?
    /// Orders events for one key; absent from the emulator's events.
    public let sequencer: String?

    public var isCreation: Bool { eventName.hasPrefix("ObjectCreated:") }

    static func parse(_ value: JSONValue, path: String) throws -> S3ObjectEvent {
        let record = try EventObject(value, path: path)
        if let source = try record.optionalString("eventSource"), source != "aws:s3" {
            throw EventError.invalidField(record.at("eventSource"), problem: "must be \"aws:s3\", got \"\(source.prefix(40))\"")
        }
        let time = try record.string("eventTime")
        guard let milliseconds = ISO8601.milliseconds(time) else {
            throw EventError.invalidField(record.at("eventTime"), problem: "must be an ISO-8601 UTC time like 2026-11-21T12:00:00.000Z, got \"\(time.prefix(40))\"")
        }
        let s3 = try record.object("s3")
        let bucket = try s3.object("bucket")
        let object = try s3.object("object")
        let encodedKey = try object.string("key")
        guard let key = S3EventKey.decode(encodedKey), !key.isEmpty else {
            throw EventError.invalidField(object.at("key"), problem: "is not a form-encoded S3 key (a malformed %-escape or not UTF-8): \"\(encodedKey.prefix(200))\"")
        }
        return S3ObjectEvent(eventName: try record.string("eventName"), eventTime: time,
                             eventTimeMilliseconds: milliseconds, bucket: try bucket.string("name"), key: key,
                             size: try object.optionalInteger("size"), eTag: try object.optionalString("eTag"),
                             versionId: try object.optionalString("versionId"),
                             sequencer: try object.optionalString("sequencer"))
    }
}

/// S3 event keys are form-encoded: `+` is a space and `%XX` a byte.
public enum S3EventKey {
    /// The key decoded once; nil when an escape is malformed or the bytes are not UTF-8, since a guess
    /// would name another object.
    public static func decode(_ encoded: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encoded.utf8.count)
        var iterator = encoded.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = hexValue(iterator.next()), let low = hexValue(iterator.next()) else { return nil }
                bytes.append(high << 4 | low)
            default: bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8?) -> UInt8? {
        switch c {
        case let c? where c >= 48 && c <= 57: c - 48
        case let c? where c >= 65 && c <= 70: c - 55
        case let c? where c >= 97 && c <= 102: c - 87
        default: nil
        }
    }
}
