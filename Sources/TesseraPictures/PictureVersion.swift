/// Which version of an original an S3 event is about, comparable across events: S3's `sequencer`
/// (hex, compared after left-padding with zeros, as S3 documents), or the event time when there is
/// none (the emulator sends none).
public struct PictureVersion: Sendable, Equatable, Comparable {
    /// 40 characters, so DynamoDB's string comparison orders versions.
    public let order: String

    public init(sequencer: String?, eventTimeMilliseconds: Int) {
        let hex: String
        if let sequencer, !sequencer.isEmpty, sequencer.utf8.allSatisfy({ isHexDigit($0) }), sequencer.utf8.count <= 39 {
            hex = "s" + String(repeating: "0", count: 39 - sequencer.utf8.count) + sequencer.uppercased()
        } else {
            let digits = String(max(0, eventTimeMilliseconds), radix: 16, uppercase: true)
            hex = "t" + String(repeating: "0", count: max(0, 39 - digits.count)) + digits
        }
        order = hex
    }

    public static func < (a: PictureVersion, b: PictureVersion) -> Bool { a.order < b.order }
}

private func isHexDigit(_ c: UInt8) -> Bool {
    (48...57).contains(c) || (65...70).contains(c) || (97...102).contains(c)
}
