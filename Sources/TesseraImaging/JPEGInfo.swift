import TesseraSupport

/// What a JPEG's markers say, read without decoding any pixels.
public struct JPEGInfo: Sendable, Equatable {
    public enum ColorSpace: String, Sendable { case gray, yCbCr = "YCbCr", rgb = "RGB", cmyk = "CMYK", ycck = "YCCK" }

    public var width = 0
    public var height = 0
    public var components = 0
    public var precision = 8
    public var colorSpace = ColorSpace.yCbCr
    /// `4:2:0`, `4:2:2`, `4:4:4`, `4:4:0`, `4:1:1`, `gray` or `other`.
    public var subsampling = "other"
    public var isProgressive = false
    public var isArithmetic = false
    /// EXIF orientation 1...8 (1 when absent or invalid).
    public var orientation = 1
    /// File offset of the orientation value (2 bytes), to rewrite it when metadata is kept.
    public var orientationOffset: Int?
    public var orientationBigEndian = true
    /// The ICC profile, reassembled from its APP2 chunks.
    public var iccProfile: [UInt8]?
    /// The whole APP1 Exif segment (marker included), kept only on request.
    public var exifSegment: Range<Int>?
    /// An Adobe APP14 marker was present (its CMYK is stored inverted).
    public var hasAdobeMarker = false
    /// Sampling factors (h, v) of each component, in frame order.
    public var samplingFactors: [(h: Int, v: Int)] = []
    /// Scans (SOS markers) up to the end-of-image marker.
    public var scanCount = 0
    /// How many of the frame's components the first scan codes (all of them in a one-scan file).
    public var firstScanComponents = 0
    /// The first bytes libjpeg's marker search skips between segments (junk before a marker, not
    /// after a scan's data): how many it counts and the marker after them, as its "extraneous bytes
    /// before marker" warning names them. The decoder accepts that warning for this place only.
    public var firstJunk: (bytes: Int, marker: UInt8)?
    /// What was dropped or ignored on the way (an invalid or oversized ICC profile, ...), for the
    /// caller to log; the picture itself is fine.
    public var notes: [String] = []

    /// libjpeg decodes such a file into its whole coefficient image before any pixel comes out:
    /// progressive files, and baseline files with several scans. libjpeg decides from the first scan
    /// (fewer components than the frame); a later scan after a complete first one fails the decode,
    /// and is counted here too so that no file gets round `maxCoefficientBytes`.
    public var isMultiScan: Bool {
        isProgressive || scanCount > 1 || firstScanComponents < components
    }

    /// Bytes of DCT coefficients for the whole image, as libjpeg allocates them for a multi-scan
    /// file: each component's blocks, rounded up to whole MCUs (its sampling factors), 128 bytes each.
    public var coefficientBytes: Int {
        let hMax = samplingFactors.map(\.h).max() ?? 1, vMax = samplingFactors.map(\.v).max() ?? 1
        return samplingFactors.reduce(0) { total, f in
            let columns = (width * f.h + hMax * 8 - 1) / (hMax * 8)
            let rows = (height * f.v + vMax * 8 - 1) / (vMax * 8)
            return total + roundUp(columns, f.h) * roundUp(rows, f.v) * 128
        }
    }

    public static func == (a: JPEGInfo, b: JPEGInfo) -> Bool {
        a.width == b.width && a.height == b.height && a.components == b.components && a.precision == b.precision
            && a.colorSpace == b.colorSpace && a.subsampling == b.subsampling && a.isProgressive == b.isProgressive
            && a.isArithmetic == b.isArithmetic && a.orientation == b.orientation && a.iccProfile == b.iccProfile
            && a.exifSegment == b.exifSegment && a.hasAdobeMarker == b.hasAdobeMarker
            && a.samplingFactors.elementsEqual(b.samplingFactors) { $0 == $1 }
            && a.scanCount == b.scanCount && a.firstScanComponents == b.firstScanComponents && a.notes == b.notes
            && a.firstJunk?.bytes == b.firstJunk?.bytes && a.firstJunk?.marker == b.firstJunk?.marker
    }

    public var hasICCProfile: Bool { iccProfile != nil }

    /// Width and height as displayed, after the EXIF orientation.
    public var orientedSize: (width: Int, height: Int) {
        orientation >= 5 ? (height, width) : (width, height)
    }
}

private func roundUp(_ value: Int, _ multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }
