import TesseraSupport

/// The header fields a caller wants from a response, picked out as bytes in libcurl's header callback.
///
/// Without one, a response collects every field as a pair of Strings (`HTTPHeaders`), found later by
/// a case-insensitive scan. The Lambda Runtime API's answer to `/next` carries about eight fields of
/// which the runtime reads four on every invocation: with a selection, no String is made for a field,
/// the others are skipped after a length check, and the values wait as bytes in one buffer
/// (`SelectedHeaders`) until the caller reads them.
public struct HeaderSelection: Sendable {
    /// The names, lower-cased ASCII, in the order `SelectedHeaders` indexes them.
    let names: [[UInt8]]

    /// `names` are matched ASCII case-insensitively; a field's index in `SelectedHeaders` is its place here.
    public init(_ names: [String]) {
        self.names = names.map { $0.utf8.map(asciiLower) }
    }

    public var count: Int { names.count }

    /// The index of the field `name` (the bytes before the colon), if it is one of the selection.
    func index(of name: UnsafeRawBufferPointer) -> Int? {
        for (index, wanted) in names.enumerated() where wanted.count == name.count {
            var equal = true
            for offset in 0..<wanted.count where asciiLower(name[offset]) != wanted[offset] {
                equal = false
                break
            }
            if equal { return index }
        }
        return nil
    }
}
