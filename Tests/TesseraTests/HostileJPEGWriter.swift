/// Writes valid JPEGs of any scan structure, fast, with no encoder: every block's AC coefficients
/// are zero and each component one flat level, so a scan is a few bits a block (sequential) or a
/// handful of end-of-band runs (progressive AC). That is what the hostile tests need: the markers
/// and scan layout of `jpegtran -scans` output at any size, decodable by libjpeg, in milliseconds.
struct HostileJPEGWriter {
    struct Scan {
        var components: [Int]  // frame indices
        var ss = 0, se = 63, ah = 0, al = 0
    }

    var width: Int
    var height: Int
    /// Sampling factors (h, v) of each component; three of (1, 1) is 4:4:4.
    var sampling: [(h: Int, v: Int)] = [(1, 1), (1, 1), (1, 1)]
    var progressive = false
    var scans: [Scan]
    /// Each component's level, as a DC value (a quantizer of 8 makes it +level over mid-gray).
    var levels: [Int] = [40, -20, 30]
    /// Restart interval in MCUs (DRI), 0 for none.
    var restartInterval = 0
    /// Repeat the Huffman and quantization tables before every scan, as some encoders do.
    var tablesBeforeEachScan = false

    /// One scan of all components (plain baseline), or one per component (non-interleaved, as
    /// `jpegtran -scans` writes with a script of one component a line).
    static func baseline(width: Int, height: Int, interleaved: Bool) -> HostileJPEGWriter {
        let scans = interleaved ? [Scan(components: [0, 1, 2])] : (0..<3).map { Scan(components: [$0]) }
        return HostileJPEGWriter(width: width, height: height, scans: scans)
    }

    /// A progressive script of 1 + 3 x 63 x 14 = 2,647 scans: DC, then every AC coefficient of every
    /// component on its own, first at point transform 13, then refined bit by bit down to 0.
    static func everyBitProgressive(width: Int, height: Int, sampling: [(h: Int, v: Int)] = [(2, 2), (1, 1), (1, 1)])
        -> HostileJPEGWriter {
        var scans = [Scan(components: [0, 1, 2], ss: 0, se: 0)]
        for component in 0..<3 {
            for k in 1...63 {
                scans.append(Scan(components: [component], ss: k, se: k, ah: 0, al: 13))
                for bit in stride(from: 13, through: 1, by: -1) {
                    scans.append(Scan(components: [component], ss: k, se: k, ah: bit, al: bit - 1))
                }
            }
        }
        return HostileJPEGWriter(width: width, height: height, sampling: sampling, progressive: true, scans: scans)
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = [0xFF, 0xD8]
        let tables = Self.quantizationTable + Self.huffmanTables
        out += tables
        let n = sampling.count
        var frame: [UInt8] = [8, UInt8(height >> 8), UInt8(height & 255), UInt8(width >> 8), UInt8(width & 255), UInt8(n)]
        for c in 0..<n { frame += [UInt8(c + 1), UInt8(sampling[c].h << 4 | sampling[c].v), 0] }
        out += Self.segment(progressive ? 0xC2 : 0xC0, frame)
        if restartInterval > 0 { out += Self.segment(0xDD, [UInt8(restartInterval >> 8), UInt8(restartInterval & 255)]) }
        for (index, scan) in scans.enumerated() {
            if tablesBeforeEachScan && index > 0 { out += tables }
            var header: [UInt8] = [UInt8(scan.components.count)]
            for c in scan.components { header += [UInt8(c + 1), 0x00] }
            header += [UInt8(scan.ss), UInt8(scan.se), UInt8(scan.ah << 4 | scan.al)]
            out += Self.segment(0xDA, header)
            out += entropyData(scan)
        }
        return out + [0xFF, 0xD9]
    }

    // MARK: Entropy-coded data

    /// Block counts of one component: `width` x `height` in blocks, and for an interleaved scan the
    /// same padded to whole MCUs.
    private func blocks(_ c: Int) -> (width: Int, height: Int) {
        let hMax = sampling.map(\.h).max()!, vMax = sampling.map(\.v).max()!
        return ((width * sampling[c].h + 8 * hMax - 1) / (8 * hMax), (height * sampling[c].v + 8 * vMax - 1) / (8 * vMax))
    }

    private func entropyData(_ scan: Scan) -> [UInt8] {
        var bits = BitWriter()
        // The scan's MCUs ("units"): one block of its component when it has one, else the blocks of
        // every component it interleaves.
        let units: Int, blocksPerUnit: [(component: Int, count: Int)]
        if scan.components.count == 1 {
            let b = blocks(scan.components[0])
            units = b.width * b.height
            blocksPerUnit = [(scan.components[0], 1)]
        } else {
            let hMax = sampling.map(\.h).max()!, vMax = sampling.map(\.v).max()!
            units = ((width + 8 * hMax - 1) / (8 * hMax)) * ((height + 8 * vMax - 1) / (8 * vMax))
            blocksPerUnit = scan.components.map { ($0, sampling[$0].h * sampling[$0].v) }
        }
        let isDC = scan.ss == 0
        var start = 0
        var marker = 0
        while start < units {
            let end = restartInterval > 0 ? min(units, start + restartInterval) : units
            if isDC {
                // The first block of each interval sets the level (prediction restarts at 0); the rest repeat it.
                for unit in start..<end {
                    for (component, count) in blocksPerUnit {
                        for block in 0..<count {
                            let value = levels[component] >> scan.al
                            if scan.ah > 0 {
                                bits.put(value & 1, 1)  // DC refinement: the next bit down
                            } else {
                                bits.putDC(unit == start && block == 0 ? value : 0)
                            }
                            if !progressive { bits.put(0, 1) }  // AC: end of block straight away
                        }
                    }
                }
            } else {
                bits.putEndOfBandRun(end - start)
            }
            start = end
            if start < units {
                bits.flush()
                bits.bytes += [0xFF, UInt8(0xD0 + marker % 8)]
                marker += 1
            }
        }
        bits.flush()
        return bits.bytes
    }

    /// Bits MSB first with 0xFF stuffing; padding with ones, as the standard says.
    private struct BitWriter {
        var bytes: [UInt8] = []
        var accumulator = 0, filled = 0

        mutating func put(_ value: Int, _ count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) {
                accumulator = accumulator << 1 | (value >> shift) & 1
                filled += 1
                if filled == 8 { emit() }
            }
        }

        private mutating func emit() {
            bytes.append(UInt8(accumulator))
            if accumulator == 0xFF { bytes.append(0) }
            accumulator = 0
            filled = 0
        }

        mutating func flush() {
            if filled > 0 { put(0x7F, 8 - filled) }
        }

        /// A DC difference: its size category's code (see `huffmanTables`), then its extra bits.
        mutating func putDC(_ difference: Int) {
            let size = difference == 0 ? 0 : Int.bitWidth - abs(difference).leadingZeroBitCount
            size == 0 ? put(0, 1) : put(0b10000 + size - 1, 5)
            if size > 0 { put(difference > 0 ? difference : difference + (1 << size) - 1, size) }
        }

        /// End-of-band runs covering `count` blocks: EOBr codes 2^r + r extra bits, at most 32767 each.
        mutating func putEndOfBandRun(_ count: Int) {
            var left = count
            while left > 0 {
                let run = min(left, 32_767)
                let r = Int.bitWidth - 1 - run.leadingZeroBitCount
                r == 0 ? put(0, 1) : put(0b10000 + r - 1, 5)
                if r > 0 { put(run - (1 << r), r) }
                left -= run
            }
        }
    }

    // MARK: Tables

    static func segment(_ marker: UInt8, _ body: [UInt8]) -> [UInt8] {
        [0xFF, marker, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 255)] + body
    }

    /// Table 0, all 8: a DC value d decodes to 128 + d.
    static let quantizationTable = segment(0xDB, [0] + [UInt8](repeating: 8, count: 64))

    /// DC table 0: category 0 as `0`, categories 1-11 as 5-bit codes 10000... AC table 0: EOB0 (end of
    /// block) as `0`, EOB1-EOB14 as 10000... (run symbols 0x10-0xE0; only progressive scans use them).
    static let huffmanTables: [UInt8] = {
        func table(_ id: UInt8, _ symbols: [UInt8]) -> [UInt8] {
            var counts = [UInt8](repeating: 0, count: 16)
            counts[0] = 1
            counts[4] = UInt8(symbols.count - 1)
            return [id] + counts + symbols
        }
        return segment(0xC4, table(0x00, Array(0...11)) + table(0x10, (0...14).map { UInt8($0 << 4) }))
    }()
}
