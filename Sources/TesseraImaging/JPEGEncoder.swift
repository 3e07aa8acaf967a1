import CTurboJPEG
import TesseraSupport

/// Chroma subsampling of encoded colour renditions.
public enum ChromaSubsampling: String, Sendable, CaseIterable {
    case s444 = "4:4:4", s422 = "4:2:2", s420 = "4:2:0"

    var turboJPEG: Int32 {
        switch self {
        case .s444: Int32(TJSAMP_444.rawValue)
        case .s422: Int32(TJSAMP_422.rawValue)
        case .s420: Int32(TJSAMP_420.rawValue)
        }
    }
}

/// Encodes pixels with TurboJPEG (`tjCompress2`) and adds back the metadata that should survive.
public final class JPEGEncoder {
    private let handle: tjhandle

    public init() throws {
        guard let handle = tjInitCompress() else { throw ImagingError.codec(turboJPEGError()) }
        self.handle = handle
    }

    deinit { tjDestroy(handle) }

    /// A baseline JPEG of `image`; gray stays gray. `icc` goes in APP2 chunks, `exif` as given (APP1).
    public func encode(_ image: PixelBuffer, quality: Int, subsampling: ChromaSubsampling,
                       icc: [UInt8]? = nil, exif: [UInt8]? = nil) throws -> [UInt8] {
        let gray = image.channels == 1
        precondition(gray || image.channels == 3, "encode takes gray or RGB pixels")
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            tjCompress2(handle, UnsafeMutablePointer(mutating: pixels.baseAddress!), Int32(image.width), 0,
                        Int32(image.height), Int32(gray ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue), &output, &size,
                        gray ? Int32(TJSAMP_GRAY.rawValue) : subsampling.turboJPEG, Int32(min(100, max(1, quality))), 0)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else { throw ImagingError.codec(turboJPEGError()) }
        let encoded = UnsafeBufferPointer(start: output, count: Int(size))
        // Metadata goes after SOI and the JFIF APP0 segment that TurboJPEG writes first.
        var insertAt = 2
        if encoded.count > 6 && encoded[2] == 0xFF && encoded[3] == 0xE0 {
            insertAt = 4 + (Int(encoded[4]) << 8 | Int(encoded[5]))
        }
        var result = [UInt8]()
        result.reserveCapacity(encoded.count + (icc?.count ?? 0) + (exif?.count ?? 0) + 64)
        result.append(contentsOf: encoded[0..<insertAt])
        if let exif { result.append(contentsOf: exif) }
        if let icc { result.append(contentsOf: Self.iccSegments(icc)) }
        result.append(contentsOf: encoded[insertAt...])
        return result
    }

    /// An ICC profile as APP2 `ICC_PROFILE` chunks of at most 65519 bytes each.
    static func iccSegments(_ profile: [UInt8]) -> [UInt8] {
        let chunk = 65_519
        let count = (profile.count + chunk - 1) / chunk
        var out = [UInt8]()
        for index in 0..<count {
            let part = profile[(index * chunk)..<min(profile.count, (index + 1) * chunk)]
            let length = 2 + 14 + part.count
            out += [0xFF, 0xE2, UInt8(length >> 8), UInt8(length & 0xFF)]
            out += Array("ICC_PROFILE".utf8) + [0, UInt8(index + 1), UInt8(count)]
            out += part
        }
        return out
    }
}
