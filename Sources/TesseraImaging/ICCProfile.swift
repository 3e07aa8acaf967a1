import TesseraSupport

/// ICC profiles in JPEG APP2 `ICC_PROFILE` chunks (ICC.1 Annex B.4): each chunk carries its
/// sequence number (from 1) and the number of chunks, at most 255 of 65519 bytes.
enum ICCProfile {
    static let signature = Array("ICC_PROFILE".utf8) + [0]
    /// Profile bytes a chunk can carry: a segment of 65535 bytes less its length field, signature and numbers.
    static let chunkCapacity = 65_519
    static let maxChunks = 255

    /// Where one chunk's profile bytes are in the file, with its numbers as written.
    struct Chunk {
        var sequence: Int
        var count: Int
        var bytes: Range<Int>
    }

    /// Why a profile was not carried; the picture is decoded without it.
    enum Dropped: Error, CustomStringConvertible {
        case badNumbering(String)
        case tooLarge(bytes: Int, limit: Int)

        var description: String {
            switch self {
            case let .badNumbering(reason): "ICC profile dropped: \(reason)"
            case let .tooLarge(bytes, limit):
                "ICC profile dropped: \(bytes) bytes, over the limit of \(limit) bytes (maxICCBytes)"
            }
        }
    }

    /// The profile joined in sequence order, when the numbering is what the spec says (every chunk
    /// gives the same count, sequence numbers 1...count each exactly once) and it fits `maxBytes`.
    /// Its size is known before any byte is copied.
    static func assemble(_ chunks: [Chunk], from file: UnsafeBufferPointer<UInt8>, maxBytes: Int)
        -> Result<[UInt8], Dropped> {
        let count = chunks[0].count
        if let other = chunks.first(where: { $0.count != count }) {
            return .failure(.badNumbering("chunks disagree on their number (\(count) and \(other.count))"))
        }
        guard count >= 1 else { return .failure(.badNumbering("the chunks give their number as 0")) }
        if let stray = chunks.first(where: { !(1...count).contains($0.sequence) }) {
            return .failure(.badNumbering("chunk \(stray.sequence) of \(count) (chunks are numbered from 1)"))
        }
        var slots = [Range<Int>?](repeating: nil, count: count + 1)
        for chunk in chunks {
            guard slots[chunk.sequence] == nil else {
                return .failure(.badNumbering("chunk \(chunk.sequence) of \(count) appears twice"))
            }
            slots[chunk.sequence] = chunk.bytes
        }
        if let missing = (1...count).first(where: { slots[$0] == nil }) {
            return .failure(.badNumbering("chunk \(missing) of \(count) is missing"))
        }
        let ranges = slots.dropFirst().map { $0! }
        let size = ranges.reduce(0) { $0 + $1.count }
        guard size <= maxBytes else { return .failure(.tooLarge(bytes: size, limit: maxBytes)) }
        guard size > 0 else { return .failure(.badNumbering("the chunks hold no profile bytes")) }
        var profile = [UInt8]()
        profile.reserveCapacity(size)
        for range in ranges { profile.append(contentsOf: file[range]) }
        return .success(profile)
    }

    /// `profile` as APP2 chunks; nothing for an empty profile or one over 255 chunks (16.7 MB), which
    /// cannot be numbered (the caller's `maxICCBytes` keeps profiles far below that).
    static func segments(_ profile: [UInt8]) -> [UInt8] {
        let count = (profile.count + chunkCapacity - 1) / chunkCapacity
        guard (1...maxChunks).contains(count) else { return [] }
        var out = [UInt8]()
        out.reserveCapacity(profile.count + count * 18)
        for index in 0..<count {
            let part = profile[(index * chunkCapacity)..<min(profile.count, (index + 1) * chunkCapacity)]
            let length = 2 + signature.count + 2 + part.count
            out += [0xFF, 0xE2, UInt8(length >> 8), UInt8(length & 0xFF)]
            out += signature + [UInt8(index + 1), UInt8(count)]
            out += part
        }
        return out
    }
}
