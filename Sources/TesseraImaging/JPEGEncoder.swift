import CTurboJPEG
import Glibc
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

    /// A baseline JPEG of `image`; gray stays gray. `icc` goes in APP2 chunks (not at all when over 255
    /// chunks), `exif` as given (APP1).
    ///
    /// TurboJPEG writes straight into the returned array, which is reserved at TurboJPEG's own worst
    /// case (`TJFLAG_NOREALLOC`): only the pages written become resident, and there is no growing
    /// buffer nor copy, which held up to 3x the JPEG at once (a quality-100 4:4:4 JPEG of noise is
    /// 4.1 bytes a pixel).
    public func encode(_ image: PixelBuffer, quality: Int, subsampling: ChromaSubsampling,
                       icc: [UInt8]? = nil, exif: [UInt8]? = nil) throws -> [UInt8] {
        let gray = image.channels == 1
        precondition(gray || image.channels == 3, "encode takes gray or RGB pixels")
        return try write(width: image.width, height: image.height, icc: icc, exif: exif) { output, size in
            image.pixels.withUnsafeBufferPointer { pixels in
                tjCompress2(handle, UnsafeMutablePointer(mutating: pixels.baseAddress!), Int32(image.width), 0,
                            Int32(image.height), Int32(gray ? TJPF_GRAY.rawValue : TJPF_RGB.rawValue), output, size,
                            gray ? Int32(TJSAMP_GRAY.rawValue) : subsampling.turboJPEG, Int32(min(100, max(1, quality))),
                            Int32(TJFLAG_NOREALLOC))
            }
        }
    }

    /// A baseline JPEG of `image`'s planes (`tjCompressFromYUVPlanes`), at their own subsampling, with
    /// `icc` and `exif` as `encode` adds them.
    public func encode(_ image: YUVPlanes, quality: Int, icc: [UInt8]? = nil, exif: [UInt8]? = nil) throws -> [UInt8] {
        let sizes = YUVPlanes.planeSizes(width: image.width, height: image.height, subsampling: image.subsampling)
        precondition(image.planes.count == sizes.count
                     && zip(image.planes, sizes).allSatisfy { $0.width == $1.width && $0.height >= $1.height },
                     "planes of TurboJPEG's sizes")
        let planes = image.planes.map(\.pixels)
        return try write(width: image.width, height: image.height, icc: icc, exif: exif) { output, size in
            planes[0].withUnsafeBufferPointer { y in
                (planes.count == 3 ? planes[1] : []).withUnsafeBufferPointer { cb in
                    (planes.count == 3 ? planes[2] : []).withUnsafeBufferPointer { cr in
                        var pointers: [UnsafePointer<UInt8>?] = [y.baseAddress, cb.baseAddress, cr.baseAddress]
                        return pointers.withUnsafeMutableBufferPointer { list in
                            tjCompressFromYUVPlanes(handle, list.baseAddress, Int32(image.width), nil, Int32(image.height),
                                                    image.subsampling, output, size, Int32(min(100, max(1, quality))),
                                                    Int32(TJFLAG_NOREALLOC))
                        }
                    }
                }
            }
        }
    }

    /// Runs `compress` into an array reserved at TurboJPEG's worst case, with room for the metadata in front.
    private func write(width: Int, height: Int, icc: [UInt8]?, exif: [UInt8]?,
                       _ compress: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<UInt>) -> Int32)
        throws -> [UInt8] {
        let metadata = (exif ?? []) + (icc.map(ICCProfile.segments) ?? [])
        let bound = Self.worstCaseSize(width: width, height: height)
        var status: Int32 = -1
        let result = [UInt8](unsafeUninitializedCapacity: metadata.count + bound) { buffer, count in
            count = 0
            let start = buffer.baseAddress! + metadata.count
            var output: UnsafeMutablePointer<UInt8>? = start
            var size = UInt(bound)
            status = compress(&output, &size)
            guard status == 0, output == start, Int(size) <= bound else { return }
            // Metadata goes after SOI and the JFIF APP0 segment that TurboJPEG writes first: those move
            // to the front of the room left for it.
            var head = 2
            if size > 6 && start[2] == 0xFF && start[3] == 0xE0 { head = 4 + (Int(start[4]) << 8 | Int(start[5])) }
            if !metadata.isEmpty {
                memmove(buffer.baseAddress!, start, head)
                _ = metadata.withUnsafeBufferPointer { memcpy(buffer.baseAddress! + head, $0.baseAddress!, $0.count) }
            }
            count = metadata.count + Int(size)
        }
        guard status == 0, !result.isEmpty else { throw ImagingError.codec(status == 0 ? "no JPEG written" : turboJPEGError()) }
        return result
    }

    /// TurboJPEG's worst-case JPEG size (`tjBufSize` for 4:4:4, which covers every subsampling), which
    /// `TJFLAG_NOREALLOC` takes the buffer to hold: 6 bytes a pixel of whole 16x16 MCUs, plus 2 KB.
    static func worstCaseSize(width: Int, height: Int) -> Int {
        ((width + 15) & ~15) * ((height + 15) & ~15) * 6 + 2048
    }
}
