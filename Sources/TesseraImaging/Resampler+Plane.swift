extension Resampler {
    /// One plane (one sample a pixel, as YUV planes are) resized vertical pass first: each output row
    /// is the weighted sum of whole input rows, eight columns a step along contiguous memory, and only
    /// then filtered across, so the horizontal pass (the costlier one: a dot product an output) runs on
    /// output rows only. An exact halving, the half rendition's chroma and 8/8 luma, takes the
    /// horizontal pass eight outputs a step too: its taps are the same for every output but the edges.
    mutating func filterPlane(_ source: PixelBuffer, extent: (width: Double, height: Double),
                              width: Int, height: Int, padded: (width: Int, height: Int),
                              origin: (x: Double, y: Double) = (0, 0),
                              picture: (width: Double, height: Double)? = nil) -> PixelBuffer {
        precondition(source.channels == 1, "a plane has one sample a pixel")
        precondition(padded.width >= width && padded.height >= height, "padding only adds")
        // Samples past the picture (a plane's padding) are not the picture's: the taps end where it does.
        let inW = Self.covered(source.width, min(extent.width, picture?.width ?? extent.width))
        let inH = Self.covered(source.height, min(extent.height, picture?.height ?? extent.height))
        let key = [Double(inW), Double(inH), extent.width, extent.height, Double(width), Double(height), origin.x, origin.y,
                   picture?.width ?? -1, picture?.height ?? -1]
        if planeTaps?.key != key {
            let horizontal = Self.taps(from: inW, extent: extent.width, to: width, origin: origin.x, picture: picture?.width)
            planeTaps = (key, Self.taps(from: inH, extent: extent.height, to: height, origin: origin.y, picture: picture?.height),
                         horizontal, Self.halving(horizontal, extent: extent.width, width: width))
        }
        let (_, vertical, horizontal, halving) = planeTaps!
        // A side that keeps its size and extent (the even side of an odd-sided decode) is only copied.
        let across: Void? = inW == width && extent.width == Double(width) && origin.x == 0
            && (picture?.width ?? extent.width) >= extent.width ? nil : ()
        let ringRows = min(inH, vertical.count.max() ?? 1)
        let rowStride = (inW + 15) & ~15
        if ring.count < ringRows * rowStride { ring = [Float](repeating: 0, count: ringRows * rowStride) }
        // The summed row, zero past the picture (the zero-padded taps reach past it), then its even
        // and odd samples apart for a halving; and the output row as floats.
        let summed = rowStride + horizontal.stride + 16, half = rowStride / 2 + 16
        let lineLength = summed + 2 * half + width + 8
        if line.count < lineLength { line = [Float](repeating: 0, count: lineLength) }
        let output = [UInt8](unsafeUninitializedCapacity: padded.width * padded.height) { out, count in
            source.pixels.withUnsafeBufferPointer { src in
                ring.withUnsafeMutableBufferPointer { ring in
                    line.withUnsafeMutableBufferPointer { line in
                        vertical.weights.withUnsafeBufferPointer { vWeights in
                            let row = line.baseAddress!, even = row + summed, odd = even + half, result = odd + half
                            var rows = [UnsafePointer<Float>](repeating: UnsafePointer(ring.baseAddress!),
                                                              count: vertical.stride)
                            var nextInput = 0
                            for y in 0..<height {
                                let first = vertical.first[y], taps = vertical.count[y]
                                while nextInput < first + taps {
                                    let slot = ring.baseAddress! + (nextInput % ringRows) * rowStride
                                    let input = src.baseAddress! + nextInput * source.width
                                    for i in 0..<inW { slot[i] = Float(input[i]) }
                                    nextInput += 1
                                }
                                for j in 0..<taps {
                                    rows[j] = UnsafePointer(ring.baseAddress! + ((first + j) % ringRows) * rowStride)
                                }
                                Self.sumRows(rows, vWeights.baseAddress! + y * vertical.stride, taps, into: row, inW)
                                (row + inW).update(repeating: 0, count: summed - inW)
                                if across == nil {
                                    result.update(from: row, count: width)
                                } else if let halving {
                                    Self.split(row, rowStride, even, odd)
                                    Self.horizontalHalving(row, even, odd, horizontal, halving, into: result, width)
                                } else {
                                    Self.horizontalPlane(row, horizontal, 0..<width, into: result)
                                }
                                let target = out.baseAddress! + y * padded.width
                                Self.store(result, width, into: target)
                                (target + width).update(repeating: target[width - 1], count: padded.width - width)
                            }
                            for y in height..<padded.height {
                                (out.baseAddress! + y * padded.width).update(
                                    from: out.baseAddress! + (height - 1) * padded.width, count: padded.width)
                            }
                        }
                    }
                }
            }
            count = padded.width * padded.height
        }
        return PixelBuffer(width: padded.width, height: padded.height, channels: 1, pixels: output)
    }

    /// The taps an exact halving shares (every output but a few at each edge, where the kernel is cut
    /// and weighed anew): the weights, each one's sample as (odd, offset from the output's index) in
    /// the even or odd samples, and the outputs they serve. Nil unless `width` is half the extent.
    struct Halving {
        var weights: [Float]
        var fromOdd: [Bool]
        var shift: [Int]
        var outputs: Range<Int>
    }

    static func halving(_ taps: Taps, extent: Double, width: Int) -> Halving? {
        guard width >= 16, extent == Double(2 * width) else { return nil }
        let middle = width / 2, count = taps.count[middle], offset = taps.first[middle] - 2 * middle
        func same(_ x: Int) -> Bool {
            taps.count[x] == count && taps.first[x] - 2 * x == offset
                && (0..<count).allSatisfy { taps.weights[x * taps.stride + $0] == taps.weights[middle * taps.stride + $0] }
        }
        var low = middle, high = middle + 1
        while low > 0, same(low - 1) { low -= 1 }
        while high < width, same(high) { high += 1 }
        // Sample 2x + m is even sample x + m/2 when m is even, odd sample x + (m - 1)/2 when odd.
        let ms = (0..<count).map { offset + $0 }
        return Halving(weights: (0..<count).map { taps.weights[middle * taps.stride + $0] },
                       fromOdd: ms.map { $0 & 1 != 0 }, shift: ms.map { $0 & 1 != 0 ? ($0 - 1) / 2 : $0 / 2 },
                       outputs: low..<high)
    }

    /// The weighted sum of `taps` rows over `length` columns, eight at a time (the rows are read up
    /// to the next multiple of 8: `rowStride` leaves room). Row by row, not column by column: two
    /// streams through memory at a time rather than one a tap (a 12-tap column walk ran at a third of
    /// the speed, waiting on loads).
    @inline(__always)
    static func sumRows(_ rows: [UnsafePointer<Float>], _ weights: UnsafePointer<Float>, _ taps: Int,
                        into out: UnsafeMutablePointer<Float>, _ length: Int) {
        let sums = UnsafeMutableRawPointer(out)
        let w0 = weights[0], first = UnsafeRawPointer(rows[0])
        var i = 0
        while i < length {
            sums.storeBytes(of: first.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * w0,
                            toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        for j in 1..<max(1, taps) {
            let w = weights[j], row = UnsafeRawPointer(rows[j])
            var i = 0
            while i < length {
                let sum = sums.load(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                    + row.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * w
                sums.storeBytes(of: sum, toByteOffset: 4 * i, as: SIMD8<Float>.self)
                i += 8
            }
        }
    }

    /// The even and odd samples of a row apart, so that a halving's taps read eight outputs' samples
    /// as one contiguous load.
    @inline(__always)
    static func split(_ row: UnsafePointer<Float>, _ length: Int, _ even: UnsafeMutablePointer<Float>,
                      _ odd: UnsafeMutablePointer<Float>) {
        var i = 0
        while i < length {
            let v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(even + i / 2).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(odd + i / 2).storeBytes(of: v.oddHalf, as: SIMD8<Float>.self)
            i += 16
        }
    }

    /// A halving across: the shared taps eight outputs at a time, the outputs they do not serve
    /// (the edges, a tail under eight) through their own taps.
    @inline(__always)
    static func horizontalHalving(_ row: UnsafePointer<Float>, _ even: UnsafePointer<Float>, _ odd: UnsafePointer<Float>,
                                  _ taps: Taps, _ halving: Halving, into out: UnsafeMutablePointer<Float>, _ width: Int) {
        let outputs = halving.outputs
        let vectorEnd = outputs.lowerBound + (outputs.count / 8) * 8
        horizontalPlane(row, taps, 0..<outputs.lowerBound, into: out)
        halving.weights.withUnsafeBufferPointer { weights in
            halving.fromOdd.withUnsafeBufferPointer { fromOdd in
                halving.shift.withUnsafeBufferPointer { shift in
                    var x = outputs.lowerBound
                    while x < vectorEnd {
                        var sum = SIMD8<Float>()
                        for j in 0..<weights.count {
                            let samples = (fromOdd[j] ? odd : even) + x + shift[j]
                            sum += UnsafeRawPointer(samples).loadUnaligned(as: SIMD8<Float>.self) * weights[j]
                        }
                        UnsafeMutableRawPointer(out + x).storeBytes(of: sum, as: SIMD8<Float>.self)
                        x += 8
                    }
                }
            }
        }
        horizontalPlane(row, taps, vectorEnd..<width, into: out)
    }

    /// Outputs `range` of a row through their own taps: 4-lane dot products over zero-padded taps, four
    /// outputs at a time so that their sums add across lanes together (one horizontal add an output
    /// was a third of a small picture's resize).
    @inline(__always)
    static func horizontalPlane(_ row: UnsafePointer<Float>, _ taps: Taps, _ range: Range<Int>,
                                into out: UnsafeMutablePointer<Float>) {
        taps.first.withUnsafeBufferPointer { first in
            taps.weights.withUnsafeBufferPointer { weights in
                // Wrapping arithmetic: the indices are the taps' own, and overflow checks cost a tenth here.
                @inline(__always) func dot(_ x: Int, _ j: Int) -> SIMD4<Float> {
                    UnsafeRawPointer(row + (first[x] &+ j)).loadUnaligned(as: SIMD4<Float>.self)
                        * UnsafeRawPointer(weights.baseAddress! + (x &* taps.stride &+ j)).loadUnaligned(as: SIMD4<Float>.self)
                }
                var x = range.lowerBound
                while x + 4 <= range.upperBound {
                    var s0 = SIMD4<Float>(), s1 = SIMD4<Float>(), s2 = SIMD4<Float>(), s3 = SIMD4<Float>()
                    for j in Swift.stride(from: 0, to: taps.stride, by: 4) {
                        s0 += dot(x, j)
                        s1 += dot(x + 1, j)
                        s2 += dot(x + 2, j)
                        s3 += dot(x + 3, j)
                    }
                    // (s0 x+z, s0 y+w, s1 x+z, s1 y+w), then each output's two halves added.
                    @inline(__always) func halves(_ p: SIMD4<Float>, _ q: SIMD4<Float>) -> SIMD4<Float> {
                        SIMD4(lowHalf: p.lowHalf, highHalf: q.lowHalf) + SIMD4(lowHalf: p.highHalf, highHalf: q.highHalf)
                    }
                    let a = halves(s0, s1), b = halves(s2, s3)
                    let sums = SIMD4(lowHalf: a.evenHalf, highHalf: b.evenHalf) + SIMD4(lowHalf: a.oddHalf, highHalf: b.oddHalf)
                    UnsafeMutableRawPointer(out + x).storeBytes(of: sums, as: SIMD4<Float>.self)
                    x += 4
                }
                while x < range.upperBound {
                    var sum = SIMD4<Float>()
                    for j in Swift.stride(from: 0, to: taps.stride, by: 4) { sum += dot(x, j) }
                    out[x] = sum.sum()
                    x += 1
                }
            }
        }
    }

    /// Floats to bytes, rounded and clamped to 0...255, eight at a time.
    @inline(__always)
    static func store(_ values: UnsafePointer<Float>, _ length: Int, into out: UnsafeMutablePointer<UInt8>) {
        var i = 0
        while i < length {
            storeRounded(UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self), into: out + i,
                         count: min(8, length - i))
            i += 8
        }
    }
}
