import Foundation
import Testing
import TesseraEvents
import TesseraLocal
import TesseraSupport

/// The functions' logs as CloudWatch reads them: Embedded Metric Format lines (schema checked) and the
/// `picture` key on every line about a picture, from the real binaries in the end-to-end harnesses.
enum ObservedLog {
    /// Every JSON object line of a function's log.
    static func objects(_ log: String) -> [[String: Any]] {
        log.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The EMF lines of a log, each checked against the format; problems are recorded as issues.
    static func metrics(_ log: String, sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        log.split(separator: "\n").filter { $0.hasPrefix("{\"_aws\"") }.compactMap { text in
            for problem in emfProblems(Array(text.utf8)) { Issue.record("\(problem): \(text)", sourceLocation: sourceLocation) }
            return try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        }
    }

    /// What makes a line not EMF as CloudWatch documents it: `_aws` with a millisecond `Timestamp` and
    /// `CloudWatchMetrics` [{Namespace, Dimensions [[key]], Metrics [{Name, Unit}]}], each metric a
    /// top-level number (or list of at most 100), each dimension key a top-level string. Read strictly
    /// (a key twice is an error; numbers and booleans apart).
    static func emfProblems(_ text: [UInt8]) -> [String] {
        guard case let .object(line)? = try? JSONValue.parse(text) else { return ["not one JSON object (strictly read)"] }
        guard case let .object(aws)? = line["_aws"] else { return ["_aws is not an object"] }
        guard case let .integer(timestamp)? = aws["Timestamp"],
              abs(timestamp - Int(Date().timeIntervalSince1970 * 1000)) < 3_600_000 else {
            return ["_aws.Timestamp is not milliseconds since 1970 of about now"]
        }
        guard case let .array(directives)? = aws["CloudWatchMetrics"], !directives.isEmpty else {
            return ["_aws.CloudWatchMetrics is not a non-empty list"]
        }
        var problems: [String] = []
        for case let directive in directives {
            guard case let .object(directive) = directive else { problems.append("a directive is not an object"); continue }
            if directive["Namespace"] != .string("Tessera") { problems.append("Namespace is not Tessera") }
            guard case let .array(sets)? = directive["Dimensions"], !sets.isEmpty else {
                problems.append("Dimensions is not a non-empty list")
                continue
            }
            for set in sets {
                guard case let .array(keys) = set, keys.first == .string("function") else {
                    problems.append("a dimension set is not a list of keys starting with function")
                    continue
                }
                for key in keys {
                    guard case let .string(name) = key, case let .string(value)? = line[name], !value.isEmpty else {
                        problems.append("dimension \(key) is not a top-level string")
                        continue
                    }
                }
            }
            guard case let .array(metrics)? = directive["Metrics"], !metrics.isEmpty else {
                problems.append("Metrics is not a non-empty list")
                continue
            }
            for metric in metrics {
                guard case let .object(metric) = metric, case let .string(name)? = metric["Name"],
                      case let .string(unit)? = metric["Unit"] else {
                    problems.append("a metric without Name and Unit")
                    continue
                }
                if !["Count", "Milliseconds", "Bytes", "Percent"].contains(unit) { problems.append("\(name): unit \(unit)") }
                func isNumber(_ value: JSONValue?) -> Bool {
                    switch value { case .integer?, .number?: true; default: false }
                }
                if case let .array(values)? = line[name] {
                    if values.isEmpty || values.count > 100 || !values.allSatisfy(isNumber) {
                        problems.append("metric \(name) is not a list of 1 to 100 numbers")
                    }
                } else if !isNumber(line[name]) {
                    problems.append("metric \(name) is not a top-level number")
                }
            }
        }
        return problems
    }

    /// The sum of a metric over the lines that carry it (with the given extra dimension, or none).
    static func total(_ lines: [[String: Any]], _ name: String, _ dimension: (String, String)? = nil) -> Double? {
        let values = lines.filter { line in
            if let (key, value) = dimension { return line[key] as? String == value }
            return line["rendition"] == nil && line["errorType"] == nil
        }.flatMap { line -> [Double] in
            if let list = line[name] as? [NSNumber] { return list.map(\.doubleValue) }
            return (line[name] as? NSNumber).map { [$0.doubleValue] } ?? []
        }
        return values.isEmpty ? nil : values.reduce(0, +)
    }

    /// The non-EMF lines whose message names the picture; each must carry it as `picture`.
    static func picturesLines(_ log: String, _ picture: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        let lines = objects(log).filter { $0["_aws"] == nil && ($0["message"] as? String)?.contains(picture) == true }
        for line in lines where line["picture"] as? String != picture {
            Issue.record("no picture \(picture) on \(line)", sourceLocation: sourceLocation)
        }
        return lines.count
    }
}

@Suite(.serialized) struct ObservabilityTests {
    static let photo = (try? Fixtures.bytes("photos/fresh-flower.jpg")) ?? []

    @Test func pieceStorageWritesOneMetricsLinePerInvocationAndTagsThePicture() throws {
        let stack = try PieceStorageStack()
        let function = try #require(try stack.start(1).first)
        defer { function.stop() }
        let data = Array("some bytes of a picture".utf8)
        #expect(function.invoke(PieceEvents.piece("cam-m", "obs", 1, data)) == PieceEvents.answer("cam-m/obs", piece: 1, "stored"))
        #expect(function.invoke(PieceEvents.piece("cam-m", "obs", 1, data)) == PieceEvents.answer("cam-m/obs", piece: 1, "duplicate"))
        guard case .error(type: "Tessera.ConflictingPiece", _, _)? = function.invoke(PieceEvents.piece("cam-m", "obs", 1, Array("other bytes".utf8))) else {
            Issue.record("other bytes for a stored piece are not refused")
            return
        }
        #expect(function.invoke(PieceEvents.end("cam-m", "obs", total: 1)) == PieceEvents.answer("cam-m/obs", piece: 0, "reassembly-requested"))
        let log = function.process.log

        let lines = ObservedLog.metrics(log)
        #expect(lines.count == 4, "one line per invocation, errors included:\n\(log)")
        #expect(lines.allSatisfy { $0["function"] as? String == "piece-storage" && $0["picture"] as? String == "cam-m/obs" })
        #expect(lines.map { ($0["ColdStart"] as? NSNumber)?.intValue } == [1, 0, 0, 0], "\(log)")
        #expect(lines.allSatisfy { (($0["RemainingMilliseconds"] as? NSNumber)?.intValue ?? -1) > 0 }, "\(log)")
        #expect(lines.map { ($0["PiecesStored"] as? NSNumber)?.intValue } == [1, nil, nil, nil], "\(log)")
        #expect(lines.map { ($0["PiecesDuplicate"] as? NSNumber)?.intValue } == [nil, 1, nil, nil], "\(log)")

        // Every line about the picture, the runtime's error line included, carries it.
        #expect(ObservedLog.picturesLines(log, "cam-m/obs") >= 4, "\(log)")
        #expect(ObservedLog.objects(log).contains { $0["level"] as? String == "ERROR" && $0["picture"] as? String == "cam-m/obs" },
                "the ConflictingPiece error line carries the picture:\n\(log)")
    }

    @Test func theProcessorCountsReassembliesRendersAndBytesPerRendition() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        let messages = IoTPieceMessage.split(Self.photo, machineId: "cam-8", label: "observed", pieceBytes: 20_000).map(\.json)
        for message in messages {
            guard case .response? = h.deliver(message) else { Issue.record("piece refused\n\(h.logs)"); return }
        }
        #expect(try h.drain(h.reassemblyQueue).map(\.failed) == [[]], "\(h.logs)")
        #expect(try h.drain(h.resizeQueue).allSatisfy { $0.failed.isEmpty }, "\(h.logs)")
        #expect(try h.notifications().map(\.event) == ["picture.ready"])
        let log = h.processor.log

        let lines = ObservedLog.metrics(log)
        #expect(lines.allSatisfy { $0["function"] as? String == "picture-processor" })
        #expect(ObservedLog.total(lines, "ColdStart") == 1, "the process's first invocation only:\n\(log)")
        #expect(ObservedLog.total(lines, "ReassembliesComplete") == 1, "\(log)")
        #expect((ObservedLog.total(lines, "ReassemblyMilliseconds") ?? -1) >= 0, "\(log)")
        #expect(ObservedLog.total(lines, "PicturesReady") == 1, "\(log)")
        #expect((ObservedLog.total(lines, "RenderMilliseconds") ?? 0) > 0, "\(log)")
        // From the END's queueing to ready: at least the render, and no longer than the test took.
        let endToReady = try #require(ObservedLog.total(lines, "EndToReadyMilliseconds"), "\(log)")
        #expect(endToReady >= ObservedLog.total(lines, "RenderMilliseconds")! && endToReady < 120_000, "\(log)")
        #expect(ObservedLog.total(lines, "UploadToReadyMilliseconds") == nil, "\(log)")
        #expect(ObservedLog.total(lines, "BytesIn") == Double(Self.photo.count), "\(log)")
        let half = try h.s3.getObject(bucket: h.renditions, key: "half/cam-8/observed.jpg", maxBytes: 10 << 20).bytes.count
        let thumb = try h.s3.getObject(bucket: h.renditions, key: "thumb/cam-8/observed.jpg", maxBytes: 10 << 20).bytes.count
        for (rendition, bytes) in [("half", half), ("thumb", thumb)] {
            #expect(ObservedLog.total(lines, "BytesOut", ("rendition", rendition)) == Double(bytes), "\(rendition):\n\(log)")
            let reduction = try #require(ObservedLog.total(lines, "ReductionPercent", ("rendition", rendition)), "\(log)")
            #expect(abs(reduction - 100 * Double(Self.photo.count - bytes) / Double(Self.photo.count)) < 0.06, "\(rendition)")
        }
        #expect(lines.filter { $0["rendition"] != nil }.allSatisfy {
            ($0["_aws"] as? [String: Any]).flatMap { ($0["CloudWatchMetrics"] as? [[String: Any]])?.first?["Dimensions"] as? [[String]] }
                == [["function"], ["function", "rendition"]]
        }, "\(log)")

        // The picture's journey through both functions: every line about it carries it.
        #expect(ObservedLog.picturesLines(h.storage.log, "cam-8/observed") == messages.count, "\(h.storage.log)")
        #expect(ObservedLog.picturesLines(log, "cam-8/observed") >= 2, "the reassembly and the resize:\n\(log)")
        #expect(ObservedLog.objects(log).filter { $0["picture"] as? String == "cam-8/observed" && $0["_aws"] == nil }.count >= 2)
    }

    @Test func failedPicturesAreCountedByErrorTypeAndMismatchesByThemselves() throws {
        let h = try PipelineHarness()
        defer { h.stop() }
        var messages = IoTPieceMessage.split(Self.photo, machineId: "cam-8", label: "tampered", pieceBytes: 40_000).map(\.json)
        messages.removeLast()
        let wrong = String(repeating: "0", count: 64)
        messages.append("{\"machine_id\":\"cam-8\",\"label\":\"tampered\",\"count\":\(messages.count),\"data\":\"END\",\"sha256\":\"\(wrong)\"}")
        for message in messages { _ = h.deliver(message) }
        #expect(try h.drain(h.reassemblyQueue).map(\.failed) == [[]], "\(h.logs)")
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 64)
        try h.s3.putObject(bucket: h.originals, key: "x/not-a.jpg", body: png, contentType: "image/jpeg")
        #expect(try h.drain(h.resizeQueue).allSatisfy { $0.failed.isEmpty }, "\(h.logs)")
        let log = h.processor.log

        let lines = ObservedLog.metrics(log)
        #expect(ObservedLog.total(lines, "ReassembliesChecksumMismatch") == 1, "\(log)")
        #expect(ObservedLog.total(lines, "ReassembliesComplete") == nil, "\(log)")
        #expect(ObservedLog.total(lines, "PicturesFailed", ("errorType", "Imaging.UnsupportedFormat")) == 1, "\(log)")
        #expect(ObservedLog.total(lines, "PicturesReady") == nil, "\(log)")
        #expect(ObservedLog.picturesLines(log, "cam-8/tampered") >= 1, "\(log)")
        #expect(ObservedLog.objects(log).contains { $0["picture"] as? String == "x/not-a" && $0["_aws"] == nil }, "\(log)")
    }

    @Test func pictureAPILogsAnUploadWithItsPictureAndWritesItsMetricsLine() throws {
        let harness = try PictureAPIHarness()
        defer { harness.stop() }
        let upload = try harness.call("POST", "/uploads", body: "{\"collection\":\"trip\",\"name\":\"beach\",\"contentType\":\"image/jpeg\",\"bytes\":1000}",
                                      headers: [("Content-Type", "application/json")])
        #expect(upload.status == 201, "\(upload.text)")
        #expect(try harness.call("GET", "/pictures/trip/beach").status == 404)
        #expect(try harness.call("GET", "/").status == 200)
        let log = harness.function.log

        let lines = ObservedLog.metrics(log)
        #expect(lines.count == 3, "one line per invocation:\n\(log)")
        #expect(lines.allSatisfy { $0["function"] as? String == "picture-api" })
        #expect(lines.map { ($0["ColdStart"] as? NSNumber)?.intValue } == [1, 0, 0], "\(log)")
        #expect(lines.map { $0["picture"] as? String } == ["trip/beach", "trip/beach", nil], "\(log)")
        #expect(ObservedLog.picturesLines(log, "trip/beach") == 2, "the upload and the detail request:\n\(log)")
    }
}
